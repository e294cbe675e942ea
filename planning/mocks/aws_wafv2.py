"""Mock shapes: WAFv2 web ACLs, IP sets and logging configurations. Ids are UUIDs; ARNs carry ``global`` for
scope CLOUDFRONT (``regional`` otherwise) and the region of the provider that made them (us-east-1 for
CloudFront): ``arn:aws:wafv2:us-east-1:<account>:global/webacl/<name>/<id>``."""
from __future__ import annotations

from planning.mocks import ProviderMocks, autoname, digest, shape


def _uuid(*parts: str) -> str:
    d = digest("wafv2", *parts, length=32)
    return f"{d[:8]}-{d[8:12]}-{d[12:16]}-{d[16:20]}-{d[20:]}"


def _waf(m: ProviderMocks, kind: str, name: str, inputs: dict) -> tuple[str, dict]:
    resource = autoname(name, inputs)
    resource_id = _uuid(kind, name)
    scope = "global" if inputs.get("scope") == "CLOUDFRONT" else "regional"
    arn = m.arn("wafv2", f"{scope}/{kind}/{resource}/{resource_id}")
    return resource_id, {"name": resource, "arn": arn, "lockToken": _uuid("lock", kind, name)}


@shape("aws:wafv2/webAcl:WebAcl")
def _web_acl(m: ProviderMocks, name: str, inputs: dict) -> tuple[str, dict]:
    resource_id, extra = _waf(m, "webacl", name, inputs)
    return resource_id, {**extra, "capacity": 0, "applicationIntegrationUrl": ""}


@shape("aws:wafv2/ipSet:IpSet")
def _ip_set(m: ProviderMocks, name: str, inputs: dict) -> tuple[str, dict]:
    return _waf(m, "ipset", name, inputs)


@shape("aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration")
def _logging(m: ProviderMocks, name: str, inputs: dict) -> tuple[str, dict]:
    return str(inputs.get("resourceArn")), {}
