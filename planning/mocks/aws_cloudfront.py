"""Mock shapes: CloudFront (distributions, origin access controls, functions, cache policies) and the
CloudWatch Logs deliveries its access logs (v2) go through.

CloudFront is global: its ARNs have no region (``arn:aws:cloudfront::<account>:distribution/<id>``), its ids
are 13-14 upper-case characters, and every distribution's alias target zone is ``Z2FDTNDATAQYW2``.
"""
from __future__ import annotations

from planning.mocks import ACCOUNT_ID, ProviderMocks, autoname, digest, shape

CLOUDFRONT_ZONE_ID = "Z2FDTNDATAQYW2"


def _cloudfront_arn(resource: str) -> str:
    return f"arn:aws:cloudfront::{ACCOUNT_ID}:{resource}"


def _cloudfront_id(kind: str, name: str) -> str:
    return "E" + digest(kind, name, length=13).upper()


@shape("aws:cloudfront/distribution:Distribution")
def _distribution(m: ProviderMocks, name: str, inputs: dict) -> tuple[str, dict]:
    distribution_id = _cloudfront_id("distribution", name)
    return distribution_id, {
        "arn": _cloudfront_arn(f"distribution/{distribution_id}"), "callerReference": f"terraform-{digest(name)}",
        "domainName": f"d{digest('cf-domain', name, length=13)}.cloudfront.net", "hostedZoneId": CLOUDFRONT_ZONE_ID,
        "etag": digest("etag", name, length=14).upper(), "status": "Deployed", "inProgressValidationBatches": 0,
        "lastModifiedTime": "2026-01-01T00:00:00Z"}


@shape("aws:cloudfront/originAccessControl:OriginAccessControl")
def _origin_access_control(m: ProviderMocks, name: str, inputs: dict) -> tuple[str, dict]:
    oac_id = _cloudfront_id("oac", name)
    return oac_id, {"name": autoname(name, inputs), "arn": _cloudfront_arn(f"origin-access-control/{oac_id}"),
                    "etag": digest("etag", name, length=14).upper()}


@shape("aws:cloudfront/function:Function")
def _function(m: ProviderMocks, name: str, inputs: dict) -> tuple[str, dict]:
    function = autoname(name, inputs)
    etag = digest("etag", name, str(inputs.get("code")), length=14).upper()
    return function, {"name": function, "arn": _cloudfront_arn(f"function/{function}"), "etag": etag,
                      "liveStageEtag": etag if inputs.get("publish", True) else "",
                      "status": "UNASSOCIATED"}


@shape("aws:cloudfront/cachePolicy:CachePolicy", "aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy")
def _policy(m: ProviderMocks, name: str, inputs: dict) -> tuple[str, dict]:
    h = digest("policy", name, length=32)
    policy_id = f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"
    return policy_id, {"name": autoname(name, inputs), "arn": _cloudfront_arn(f"cache-policy/{policy_id}"),
                       "etag": digest("etag", name, length=14).upper()}


@shape("aws:cloudwatch/logDeliverySource:LogDeliverySource",
       "aws:cloudwatch/logDeliveryDestination:LogDeliveryDestination")
def _delivery_end(m: ProviderMocks, name: str, inputs: dict) -> tuple[str, dict]:
    end = autoname(name, inputs)
    kind = "delivery-source" if "logType" in inputs else "delivery-destination"
    extra = {"name": end, "arn": m.arn("logs", f"{kind}:{end}")}
    if kind == "delivery-source":
        extra["service"] = str(inputs.get("resourceArn", "")).split(":")[2] if inputs.get("resourceArn") else ""
    else:
        target = str((inputs.get("deliveryDestinationConfiguration") or {}).get("destinationResourceArn", ""))
        extra["deliveryDestinationType"] = {"s3": "S3", "logs": "CWL", "firehose": "FH"}.get(
            target.split(":")[2] if target.count(":") >= 2 else "", "S3")
    return end, extra


@shape("aws:cloudwatch/logDelivery:LogDelivery")
def _delivery(m: ProviderMocks, name: str, inputs: dict) -> tuple[str, dict]:
    delivery_id = digest("delivery", name, length=16)
    return delivery_id, {"arn": m.arn("logs", f"delivery:{delivery_id}")}
