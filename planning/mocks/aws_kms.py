"""Mock shapes: KMS keys (ids are UUIDs, derived from the name) and aliases."""
from __future__ import annotations

import uuid

from planning.mocks import ProviderMocks, digest, shape


@shape("aws:kms/key:Key")
def _key(m: ProviderMocks, name: str, inputs: dict) -> tuple[str, dict]:
    key_id = str(uuid.UUID(digest("kms-key", name, length=32)))
    return key_id, {"keyId": key_id, "arn": m.arn("kms", f"key/{key_id}"),
                    "keyUsage": inputs.get("keyUsage") or "ENCRYPT_DECRYPT",
                    "customerMasterKeySpec": inputs.get("customerMasterKeySpec") or "SYMMETRIC_DEFAULT"}


@shape("aws:kms/alias:Alias")
def _alias(m: ProviderMocks, name: str, inputs: dict) -> tuple[str, dict]:
    alias = inputs.get("name") or f"alias/{name}"
    target = m.arn("kms", f"key/{inputs.get('targetKeyId', '')}")
    return alias, {"name": alias, "arn": m.arn("kms", alias), "targetKeyArn": target}
