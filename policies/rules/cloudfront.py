"""CloudFront and Route 53: viewers only over HTTPS, TLS 1.2 or later on custom certificates (from us-east-1,
the only region CloudFront takes them from), private S3 origins read through Origin Access Control, and DNS
records that never take over an existing one."""
from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from policies.rules.core import ADVISORY, _as_list, _true, known, resource_rule

DISTRIBUTION = "aws:cloudfront/distribution:Distribution"
RECORD = "aws:route53/record:Record"

HTTPS_VIEWER_POLICIES = ("redirect-to-https", "https-only")
TLS12_OR_LATER = re.compile(r"^TLSv1\.[23]_\d{4}$")
S3_REST_ENDPOINT = re.compile(r"\.s3[.-]([a-z0-9-]+\.)?amazonaws\.com$")
S3_WEBSITE_ENDPOINT = re.compile(r"\.s3-website[.-]")


def _behaviors(props: Mapping[str, Any]) -> list[Mapping]:
    behaviors = [props.get("defaultCacheBehavior")] + _as_list(props.get("orderedCacheBehaviors"))
    return [b for b in behaviors if isinstance(b, Mapping)]


@resource_rule("cloudfront-viewers-https", "CloudFront serves viewers over HTTPS only (redirect-to-https or "
                                           "https-only on every cache behavior)", DISTRIBUTION)
def cloudfront_viewers_https(type_: str, props: Mapping[str, Any]) -> Iterable[str]:
    for behavior in _behaviors(props):
        policy = behavior.get("viewerProtocolPolicy")
        if known(policy) and policy not in HTTPS_VIEWER_POLICIES:
            path = behavior.get("pathPattern") or "the default behavior"
            yield f"{path} has viewer_protocol_policy {policy}: plain HTTP reaches the content"


@resource_rule("cloudfront-tls12", "CloudFront with a custom certificate requires TLS 1.2 or later from viewers, and "
                                   "takes the certificate from ACM in us-east-1", DISTRIBUTION)
def cloudfront_tls12(type_: str, props: Mapping[str, Any]) -> Iterable[str]:
    certificate = props.get("viewerCertificate")
    if not isinstance(certificate, Mapping) or _true(certificate.get("cloudfrontDefaultCertificate")):
        return
    version = certificate.get("minimumProtocolVersion")
    if known(version) and not (isinstance(version, str) and TLS12_OR_LATER.match(version)):
        yield f"minimum_protocol_version {version or 'TLSv1 (the default)'} allows TLS below 1.2; use TLSv1.2_2021"
    arn = certificate.get("acmCertificateArn")
    if known(arn) and isinstance(arn, str) and arn.count(":") >= 5 and arn.split(":")[3] != "us-east-1":
        yield f"certificate {arn} is not in us-east-1: CloudFront refuses it (make it through a us-east-1 provider)"


@resource_rule("cloudfront-s3-origin-access-control", "CloudFront reads S3 origins through Origin Access Control "
                                                      "(private bucket), never an origin access identity or the "
                                                      "public website endpoint", DISTRIBUTION)
def cloudfront_s3_origin_access_control(type_: str, props: Mapping[str, Any]) -> Iterable[str]:
    for origin in _as_list(props.get("origins")):
        if not isinstance(origin, Mapping) or not isinstance(origin.get("domainName"), str):
            continue
        domain, label = origin["domainName"], origin.get("originId") or origin["domainName"]
        if S3_WEBSITE_ENDPOINT.search(domain):
            yield f"origin {label} is a bucket's public website endpoint ({domain}): the bucket must be public"
        elif S3_REST_ENDPOINT.search(domain):
            identity = (origin.get("s3OriginConfig") or {}).get("originAccessIdentity")
            if identity and known(identity):
                yield f"origin {label} uses an origin access identity (legacy); use an origin access control"
            elif not origin.get("originAccessControlId"):
                yield f"origin {label} has no origin access control: unsigned requests need a public bucket"


@resource_rule("route53-no-overwrite", "Route 53 records never overwrite a record that exists (allow_overwrite "
                                       "false; import the record instead)", RECORD, enforcement=ADVISORY)
def route53_no_overwrite(type_: str, props: Mapping[str, Any]) -> Iterable[str]:
    if known(props.get("allowOverwrite")) and _true(props.get("allowOverwrite")):
        yield (f"{props.get('type')} {props.get('name')} has allow_overwrite: it silently takes over a record "
               "someone else made")
