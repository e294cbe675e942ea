"""S3: buckets have a public access block, default encryption and a TLS-only policy (stack rules: each is a
separate resource keyed by the bucket's id)."""
from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Mapping

from policies.rules.core import Finding, Stack, _as_list, _find, _json, _statements, _true, known, stack_rule
from policies.rules.tokens import BUCKET_POLICY, BUCKETS

PUBLIC_ACCESS_BLOCK = ("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",)
BUCKET_ENCRYPTION = ("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
                     "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2")

SSE_ALGORITHMS = ("AES256", "aws:kms", "aws:kms:dsse")
PUBLIC_ACCESS_FLAGS = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")


@stack_rule("s3-public-access-blocked",
            "S3 buckets have a public access block with all four settings on")
def s3_public_access_blocked(stack: Stack) -> Iterable[Finding]:
    for bucket in stack.of_type(*BUCKETS):
        blocks = stack.referring_to(bucket, PUBLIC_ACCESS_BLOCK, "bucket")
        if not blocks and not stack.unresolved(PUBLIC_ACCESS_BLOCK, "bucket"):
            yield Finding(bucket, "no aws.s3.BucketPublicAccessBlock for this bucket in the stack")
        for block in blocks:
            off = [flag for flag in PUBLIC_ACCESS_FLAGS
                   if known(block.props.get(flag)) and not _true(block.props.get(flag))]
            if off:
                yield Finding(block, f"public access block leaves {', '.join(off)} off")


@stack_rule("s3-default-encryption", "S3 buckets have default server-side encryption (SSE-S3 or SSE-KMS)")
def s3_default_encryption(stack: Stack) -> Iterable[Finding]:
    for bucket in stack.of_type(*BUCKETS):
        configs = [bucket.props.get("serverSideEncryptionConfiguration")]
        configs += [c.props.get("rules") for c in stack.referring_to(bucket, BUCKET_ENCRYPTION, "bucket")]
        algorithms = [a for c in configs for a in _find(c, "sseAlgorithm")]
        if any(not known(a) for a in algorithms) or stack.unresolved(BUCKET_ENCRYPTION, "bucket"):
            continue
        if not any(a in SSE_ALGORITHMS for a in algorithms):
            yield Finding(bucket, "no server-side encryption configuration (aws.s3."
                                  "BucketServerSideEncryptionConfiguration with one of "
                                  f"{', '.join(SSE_ALGORITHMS)}) for this bucket in the stack")


@stack_rule("s3-tls-only-policy", "S3 bucket policies deny every request not made over TLS (aws:SecureTransport)")
def s3_tls_only_policy(stack: Stack) -> Iterable[Finding]:
    for bucket in stack.of_type(*BUCKETS):
        documents = [bucket.props.get("policy")] if bucket.props.get("policy") else []
        documents += [p.props.get("policy") for p in stack.referring_to(bucket, BUCKET_POLICY, "bucket")]
        parsed = [_json(d) for d in documents]
        if any(not known(d) for d in parsed) or stack.unresolved(BUCKET_POLICY, "bucket"):
            continue
        arn = bucket.props.get("arn")
        arn = arn if isinstance(arn, str) else None
        if not any(_denies_plain_http(s, arn) for d in parsed for s in _statements(d)):
            yield Finding(bucket, "no bucket policy with a Deny of s3:* for every principal on the bucket and its "
                                  "objects when aws:SecureTransport is false")


def _denies_plain_http(statement: Mapping, bucket_arn: str | None) -> bool:
    if statement.get("Effect") != "Deny" or statement.get("Principal") not in ("*", {"AWS": "*"}, {"AWS": ["*"]}):
        return False
    if not any(a in ("*", "s3:*") for a in _as_list(statement.get("Action"))):
        return False
    conditions = statement.get("Condition") or {}
    insecure = [v for test in ("Bool", "BoolIfExists") for v in _as_list((conditions.get(test) or {}).get(
        "aws:SecureTransport"))]
    if not any(str(v).lower() == "false" for v in insecure):
        return False
    if bucket_arn is None:
        return True
    resources = [r for r in _as_list(statement.get("Resource")) if isinstance(r, str)]
    return all(any(fnmatch.fnmatchcase(target, r) for r in resources) for target in (bucket_arn, f"{bucket_arn}/*"))
