"""Mock shapes: SSM parameters (id: the name; the ARN drops the name's leading slash, as SSM does)."""
from __future__ import annotations

from planning.mocks import ProviderMocks, autoname, shape


@shape("aws:ssm/parameter:Parameter")
def _parameter(m: ProviderMocks, name: str, inputs: dict) -> tuple[str, dict]:
    parameter = autoname(name, inputs)
    secure = inputs.get("type") == "SecureString"
    return parameter, {"name": parameter, "arn": m.arn("ssm", f"parameter/{parameter.lstrip('/')}"), "version": 1,
                       "tier": inputs.get("tier") or "Standard", "dataType": inputs.get("dataType") or "text",
                       "keyId": inputs.get("keyId") or ("alias/aws/ssm" if secure else None)}
