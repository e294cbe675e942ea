"""Mock shapes: S3, SQS, SNS and Secrets Manager."""
from __future__ import annotations

from planning.mocks import ACCOUNT_ID, ProviderMocks, autoname, call, digest, shape


@shape("aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2")
def _bucket(m: ProviderMocks, name: str, inputs: dict) -> tuple[str, dict]:
    bucket = inputs.get("bucket") or f"{name}-{digest('bucket', name, length=8)}"
    return bucket, {"bucket": bucket, "arn": f"arn:aws:s3:::{bucket}", "region": m.region,
                    "bucketDomainName": f"{bucket}.s3.amazonaws.com",
                    "bucketRegionalDomainName": f"{bucket}.s3.{m.region}.amazonaws.com",
                    "hostedZoneId": "Z3AQBSTGFYJSTF"}


@shape("aws:sqs/queue:Queue")
def _queue(m: ProviderMocks, name: str, inputs: dict) -> tuple[str, dict]:
    queue = autoname(name, inputs)
    url = f"https://sqs.{m.region}.amazonaws.com/{ACCOUNT_ID}/{queue}"
    return url, {"name": queue, "url": url, "arn": m.arn("sqs", queue)}


@shape("aws:sns/topic:Topic")
def _topic(m: ProviderMocks, name: str, inputs: dict) -> tuple[str, dict]:
    topic = autoname(name, inputs)
    return m.arn("sns", topic), {"name": topic, "arn": m.arn("sns", topic)}


@shape("aws:ecr/lifecyclePolicy:LifecyclePolicy", "aws:s3/bucketPolicy:BucketPolicy",
       "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
       "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
       "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2",
       "aws:s3/bucketNotification:BucketNotification", "aws:s3/bucketOwnershipControls:BucketOwnershipControls",
       "aws:s3/bucketVersioning:BucketVersioning", "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration")
def _bucket_child(m: ProviderMocks, name: str, inputs: dict) -> tuple[str, dict]:
    return str(inputs.get("bucket") or inputs.get("repository") or name), {}


@shape("aws:secretsmanager/secret:Secret")
def _secret(m: ProviderMocks, name: str, inputs: dict) -> tuple[str, dict]:
    secret = autoname(name, inputs)
    arn = m.arn("secretsmanager", f"secret:{secret}-{digest('secret', name, length=6)}")
    return arn, {"name": secret, "arn": arn}


@shape("aws:secretsmanager/secretVersion:SecretVersion")
def _secret_version(m: ProviderMocks, name: str, inputs: dict) -> tuple[str, dict]:
    version = f"{digest('version', name, length=8)}-0000-0000-0000-{digest('v', name, length=12)}"
    return f"{inputs.get('secretId')}|{version}", {"versionId": version, "arn": inputs.get("secretId")}


@call("aws:secretsmanager/getSecretVersion:getSecretVersion")
def _get_secret_version(m: ProviderMocks, args: dict) -> dict:
    """A secret's value as read back: a fixed fake of the secret (the mock keeps no values)."""
    secret = str(args.get("secretId"))
    stage = args.get("versionStage") or "AWSCURRENT"
    version = f"{digest('version', secret, length=8)}-0000-0000-0000-{digest('v', secret, length=12)}"
    return {"id": f"{secret}|{stage}", "arn": secret, "secretId": secret, "versionStage": stage, "versionId": version,
            "versionStages": [stage], "secretString": f"mock-current-{digest('secret-value', secret, stage, length=32)}",
            "secretBinary": "", "createdDate": "2026-01-01T00:00:00Z"}
