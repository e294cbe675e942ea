"""Private S3 buckets: the only kind this project creates.

Public access blocked (all four settings), ACLs off (bucket owner enforced), encrypted at rest (SSE-S3, or
SSE-KMS with a customer managed key when ``kms_key_arn`` is given, with an S3 Bucket Key so that KMS is called
once per bucket and time window rather than per object), a policy that denies every request not made over TLS,
and abandoned multipart uploads cleaned up.

A bucket whose policy must grant a resource made after it (a CloudFront distribution reading it, by its ARN)
is made with ``policy=False`` and gets its one policy from ``bucket_policy`` once that resource exists.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Optional

import pulumi
import pulumi_aws as aws

from components import iam


def private_bucket(name: str, parent: pulumi.Resource, force_destroy: bool = False,
                   abort_incomplete_uploads_after_days: int = 7, policy: bool = True,
                   expire_after_days: int | None = None,
                   kms_key_arn: Optional[pulumi.Input[str]] = None) -> aws.s3.Bucket:
    """``expire_after_days``: objects are deleted that many days after they were written (logs)."""
    bucket = aws.s3.Bucket(name, force_destroy=force_destroy, opts=pulumi.ResourceOptions(parent=parent))
    under = pulumi.ResourceOptions(parent=bucket)
    access_block = aws.s3.BucketPublicAccessBlock(
        name, bucket=bucket.id, block_public_acls=True, block_public_policy=True, ignore_public_acls=True,
        restrict_public_buckets=True, opts=under)
    aws.s3.BucketOwnershipControls(
        name, bucket=bucket.id, rule=aws.s3.BucketOwnershipControlsRuleArgs(object_ownership="BucketOwnerEnforced"),
        opts=under)
    by_default = aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
        sse_algorithm="AES256") if kms_key_arn is None else \
        aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
            sse_algorithm="aws:kms", kms_master_key_id=kms_key_arn)
    aws.s3.BucketServerSideEncryptionConfiguration(
        name, bucket=bucket.id, rules=[aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
            apply_server_side_encryption_by_default=by_default,
            bucket_key_enabled=None if kms_key_arn is None else True)], opts=under)
    # Parts of abandoned multipart uploads are otherwise stored, and billed, forever.
    rules = [aws.s3.BucketLifecycleConfigurationRuleArgs(
        id="abort-incomplete-uploads", status="Enabled",
        filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
        abort_incomplete_multipart_upload=aws.s3.BucketLifecycleConfigurationRuleAbortIncompleteMultipartUploadArgs(
            days_after_initiation=abort_incomplete_uploads_after_days))]
    if expire_after_days is not None:
        rules.append(aws.s3.BucketLifecycleConfigurationRuleArgs(
            id="expire", status="Enabled", filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
            expiration=aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(days=expire_after_days)))
    aws.s3.BucketLifecycleConfiguration(name, bucket=bucket.id, rules=rules, opts=under)
    bucket.public_access_block = access_block  # type: ignore[attr-defined]
    if policy:
        bucket_policy(name, bucket)
    return bucket


def bucket_policy(name: str, bucket: aws.s3.Bucket, grants: Sequence[iam.Statement] = ()) -> aws.s3.BucketPolicy:
    """The one policy of a ``private_bucket``: deny every request not over TLS, allow ``grants``."""
    # The policy waits for the access block, which S3 checks policies against.
    return aws.s3.BucketPolicy(name, bucket=bucket.id, policy=iam.tls_only_bucket_policy(bucket.arn, bucket, grants),
                               opts=pulumi.ResourceOptions(parent=bucket, depends_on=[bucket.public_access_block]))
