"""ApiFrontDoor: CloudFront with a WAFv2 web ACL in front of an HTTP API, and the origin secret that lets the API
refuse requests that skip it.

- WAF cannot attach to an API Gateway HTTP API, so it sits on CloudFront: a web ACL of scope CLOUDFRONT, which
  AWS accepts only in us-east-1 (made through the us-east-1 provider of ``components.certificate``, like its log
  group, logging and alarms). Rules: the AWS managed groups Common, KnownBadInputs and SQLi, a rate-based rule
  (requests per 5 minutes per IP) and, when configured, IP block lists (one IP set per address family, as WAF
  requires). ``mode: count`` overrides every rule to count only (``override_action {count}`` for the groups,
  ``action {count}`` for our own rules): the rollout step that shows in the logs what would be blocked.
- WAF logs go to a log group ``aws-waf-logs-…`` (the prefix WAF requires), ``authorization`` and ``cookie`` redacted.
- The origin secret: a first random value (a Pulumi secret) in Secrets Manager under the name the API knows; the
  custom header CloudFront sends carries its AWSCURRENT value read at each ``up``. The authorizer accepts
  AWSCURRENT and AWSPREVIOUS: a rotation (a new value, wait out its cache, then ``up``) loses no request.
- Caching: none for the API (the managed CachingDisabled policy; AllViewerExceptHostHeader forwards the
  Authorization header, query strings and cookies, and lets CloudFront set the API's own Host), a short TTL of
  its own for the public paths. Viewers: HTTPS (redirect), managed security headers; the origin: TLS 1.2 only.
- Geo restriction from config. With a domain: a us-east-1 ACM certificate (``components.certificate``),
  TLSv1.2_2021, A/AAAA alias records.
- Alarms in us-east-1 (CloudFront's and WAF's metrics; the topic must be there, as for the static site): requests
  blocked (counted, in count mode) above a threshold, and the 5xx error rate.
"""
from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Optional

import pulumi
import pulumi_aws as aws
import pulumi_random as random

from components import alarms, iam
from components.args import (Args, Custom, InvalidArgument, ListOf, Maybe, Number, OneOf, Retention, Text, Whole,
                             setting, wiring)
from components.certificate import (CERTIFICATE_REGION, HOST_NAME, HOST_NAME_TEXT, ZONE_ID, ZONE_ID_TEXT,
                                    Certificate, CertificateArgs, alias_records, us_east_1)
from components.logs import log_group
from components.static_site import SECURITY_HEADERS_POLICY_ID

PRICE_CLASSES = ("PriceClass_100", "PriceClass_200", "PriceClass_All")
CACHING_DISABLED_POLICY_ID = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"  # AWS managed "Managed-CachingDisabled"
ALL_VIEWER_EXCEPT_HOST_POLICY_ID = "b689b0a8-53d0-40ab-baf2-68738e2966ac"  # "Managed-AllViewerExceptHostHeader"
MANAGED_RULE_GROUPS = ("AWSManagedRulesCommonRuleSet", "AWSManagedRulesKnownBadInputsRuleSet",
                       "AWSManagedRulesSQLiRuleSet")
GEO_RESTRICTIONS = {"none": "none", "allow": "whitelist", "deny": "blacklist"}
REDACTED_HEADERS = ("authorization", "cookie")
ORIGIN_ID = "api"
ALL_METHODS = ["DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"]
GLOBAL = {"Region": "Global"}  # the dimension every CloudFront metric carries


def _is_cidr(value) -> bool:
    return isinstance(value, str) and "/" in value and str(ipaddress.ip_network(value, strict=True)) == value


CIDR = Custom(_is_cidr, "a CIDR block in its canonical form (203.0.113.0/24, 2001:db8::/32)", ("203.0.113.7/24", 5))


@dataclass(frozen=True)
class ApiFrontDoorArgs(Args):
    origin_domain_name: pulumi.Input[str] = wiring("The API's own host name (no scheme, no path).")
    origin_secret_name: str = wiring("The Secrets Manager name of the origin secret (the API knows it).")
    origin_secret_header: str = wiring("The header CloudFront sends the secret in.")
    alarm_topic_arn: pulumi.Input[str] = wiring("The topic alarms notify (the alerts stack's, in us-east-1).")
    public_paths: Sequence[str] = wiring("Path patterns cached for public_ttl_seconds (unauthenticated routes).",
                                         default=())
    domain: Optional[str] = setting(None, Maybe(Text(HOST_NAME, HOST_NAME_TEXT)),
                                    "The API's public name (api.example.com). null: the distribution's "
                                    "*.cloudfront.net name only (no certificate, no records).")
    zone_id: Optional[str] = setting(None, Maybe(Text(ZONE_ID, ZONE_ID_TEXT)),
                                     "The public Route 53 hosted zone of the domain (required with a domain).")
    price_class: str = setting("PriceClass_100", OneOf(*PRICE_CLASSES),
                               "Edge locations: PriceClass_100 (North America, Europe: the cheapest), "
                               "PriceClass_200, PriceClass_All.")
    public_ttl_seconds: int = setting(60, Whole(1, 3600, "(seconds)"), "How long CloudFront keeps answers of "
                                      "the public paths; every other path is never cached.")
    geo_restriction: str = setting("none", OneOf(*GEO_RESTRICTIONS), "none; allow: only geo_countries may call; "
                                   "deny: geo_countries may not.")
    geo_countries: Sequence[str] = setting([], ListOf(Text(r"[A-Z]{2}", "an ISO 3166-1 alpha-2 code such as DE")),
                                           "The countries of geo_restriction (empty with none).")
    mode: str = setting("block", OneOf("block", "count"), "block: the WAF rules block; count: every rule only "
                        "counts (rollout: watch the logs and the counted-requests alarm, then switch to block).")
    rate_limit: int = setting(2000, Whole(10, 2_000_000_000, "(requests per 5 minutes per IP)"),
                              "Requests one IP may make in 5 minutes before the rate rule blocks it.")
    blocked_cidrs: Sequence[str] = setting([], ListOf(CIDR, max_items=10000),
                                           "IPv4 and IPv6 ranges WAF blocks outright (empty: no IP set).")
    waf_log_days: int = setting(30, Retention(), "How long WAF logs are kept.")
    blocked_requests_threshold: int = setting(100, Whole(1, 10_000_000, "(requests per 5 minutes)"),
                                              "Alarm when the web ACL blocks (counts, in count mode) more requests "
                                              "than this in 5 minutes.")
    server_error_rate_percent: float = setting(5, Number(0.1, 100, "(percent)"),
                                               "Alarm when more than this share of requests gets a 5xx, in two "
                                               "5-minute periods in a row.")
    secret_recovery_days: int = setting(7, OneOf(0, 7, 14, 30), "Days a deleted origin secret can be restored "
                                        "(0: deleted at once, so a destroyed dev stack can be re-created).")

    def check(self) -> None:
        object.__setattr__(self, "geo_countries", tuple(self.geo_countries))
        object.__setattr__(self, "blocked_cidrs", tuple(self.blocked_cidrs))
        if (self.domain is None) != (self.zone_id is None):
            key = "zone_id" if self.domain else "domain"
            raise InvalidArgument(key, getattr(self, key), "set, since the other of domain and zone_id is")
        if (self.geo_restriction == "none") != (not self.geo_countries):
            raise InvalidArgument("geo_countries", list(self.geo_countries),
                                  "empty with geo_restriction none, one or more codes with allow or deny")

    def cidrs(self, version: int) -> list[str]:
        return [c for c in self.blocked_cidrs if ipaddress.ip_network(c).version == version]


def _visibility(metric: str) -> dict:
    return {"cloudwatch_metrics_enabled": True, "metric_name": metric, "sampled_requests_enabled": True}


class ApiFrontDoor(pulumi.ComponentResource):
    us_east_1: aws.Provider
    password: random.RandomPassword
    secret: aws.secretsmanager.Secret
    secret_value: pulumi.Output[str]
    secret_version: aws.secretsmanager.SecretVersion
    ip_sets: list[aws.wafv2.IpSet]
    web_acl: aws.wafv2.WebAcl
    waf_logs: aws.cloudwatch.LogGroup
    logging: aws.wafv2.WebAclLoggingConfiguration
    public_cache_policy: aws.cloudfront.CachePolicy
    certificate: Optional[Certificate]
    distribution: aws.cloudfront.Distribution
    records: list[aws.route53.Record]
    alarms: list[aws.cloudwatch.MetricAlarm]
    url: pulumi.Output[str]

    def __init__(self, name: str, args: ApiFrontDoorArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("cloud-patterns:edge:ApiFrontDoor", name, None, opts)
        self.args = args
        child = pulumi.ResourceOptions(parent=self)
        self.us_east_1 = us_east_1(name, self)
        self._in_us_east_1 = pulumi.ResourceOptions(parent=self, provider=self.us_east_1)
        self.password = random.RandomPassword(f"{name}-origin-secret", length=48, special=False, opts=child)
        self.secret = aws.secretsmanager.Secret(
            f"{name}-origin-secret", name=args.origin_secret_name, recovery_window_in_days=args.secret_recovery_days,
            description=f"{name}: the {args.origin_secret_header} value CloudFront sends to the API", opts=child)
        self.secret_version = aws.secretsmanager.SecretVersion(  # the first value; rotations put new ones (docs)
            f"{name}-origin-secret", secret_id=self.secret.id, secret_string=self.password.result, opts=child)
        # The header carries the value AWSCURRENT has at each up (after a rotation, the new one), always a secret.
        self.secret_value = pulumi.Output.secret(aws.secretsmanager.get_secret_version_output(
            secret_id=self.secret_version.secret_id, version_stage="AWSCURRENT",
            opts=pulumi.InvokeOutputOptions(parent=self)).secret_string)
        self.ip_sets = [self._ip_set(name, version) for version in (4, 6) if args.cidrs(version)]
        self.web_acl = self._web_acl(name)
        self.waf_logs, self.logging = self._waf_logging(name)
        self.public_cache_policy = self._public_cache_policy(name)
        self.certificate = Certificate(f"{name}-certificate", CertificateArgs(
            domain_name=args.domain, zone_id=args.zone_id, provider=self.us_east_1), opts=child) \
            if args.domain else None
        self.distribution = self._distribution(name)
        self.records = alias_records(name, self, args.zone_id, [args.domain], self.distribution.domain_name,
                                     self.distribution.hosted_zone_id) if args.domain else []
        self.alarms = self._alarms(name)
        self.url = pulumi.Output.concat("https://", args.domain or self.distribution.domain_name)
        self.register_outputs({"distribution_id": self.distribution.id, "url": self.url,
                               "web_acl_arn": self.web_acl.arn, "origin_secret_arn": self.secret.arn})

    def _ip_set(self, name: str, version: int) -> aws.wafv2.IpSet:
        return aws.wafv2.IpSet(f"{name}-blocked-ipv{version}", scope="CLOUDFRONT", ip_address_version=f"IPV{version}",
                               addresses=self.args.cidrs(version), opts=self._in_us_east_1)

    def _web_acl(self, name: str) -> aws.wafv2.WebAcl:
        count = self.args.mode == "count"
        metric = re.sub(r"[^A-Za-z0-9_-]", "-", name)
        own_action = {"count": {}} if count else {"block": {}}
        versions = [v for v in (4, 6) if self.args.cidrs(v)]  # the order of self.ip_sets
        rules = [{"name": f"blocked-ipv{v}", "priority": i, "action": own_action,
                  "statement": {"ip_set_reference_statement": {"arn": s.arn}},
                  "visibility_config": _visibility(f"{metric}-blocked-ipv{v}")}
                 for i, (v, s) in enumerate(zip(versions, self.ip_sets))]
        rules.append({"name": "rate-per-ip", "priority": 10, "action": own_action,
                      "statement": {"rate_based_statement": {"limit": self.args.rate_limit, "aggregate_key_type": "IP",
                                                             "evaluation_window_sec": 300}},
                      "visibility_config": _visibility(f"{metric}-rate-per-ip")})
        rules += [{"name": group, "priority": 20 + i, "override_action": {"count": {}} if count else {"none": {}},
                   "statement": {"managed_rule_group_statement": {"name": group, "vendor_name": "AWS"}},
                   "visibility_config": _visibility(f"{metric}-{group}")}
                  for i, group in enumerate(MANAGED_RULE_GROUPS)]
        return aws.wafv2.WebAcl(name, name=name, scope="CLOUDFRONT", default_action={"allow": {}}, rules=rules,
                                description=f"{name}: managed rules, rate limit, IP block list ({self.args.mode})",
                                visibility_config=_visibility(metric), opts=self._in_us_east_1)

    def _waf_logging(self, name: str) -> tuple[aws.cloudwatch.LogGroup, aws.wafv2.WebAclLoggingConfiguration]:
        group = log_group(f"{name}-waf-logs", self.args.waf_log_days, self, log_group_name=f"aws-waf-logs-{name}",
                          provider=self.us_east_1)
        account = iam.account_id(self)
        grant = iam.service_grant("delivery.logs.amazonaws.com", ["logs:CreateLogStream", "logs:PutLogEvents"],
                                  [pulumi.Output.concat(group.arn, ":*")],
                                  [iam.condition("StringEquals", "aws:SourceAccount", account),
                                   iam.condition("ArnLike", "aws:SourceArn", pulumi.Output.concat(
                                       "arn:aws:logs:", CERTIFICATE_REGION, ":", account, ":*"))], sid="WafLogDelivery")
        policy = aws.cloudwatch.LogResourcePolicy(f"{name}-waf-logs", policy_name=f"aws-waf-logs-{name}",
                                                  policy_document=iam.policy_document([grant], self),
                                                  opts=self._in_us_east_1)
        logging = aws.wafv2.WebAclLoggingConfiguration(
            name, resource_arn=self.web_acl.arn, log_destination_configs=[group.arn],
            redacted_fields=[{"single_header": {"name": header}} for header in REDACTED_HEADERS],
            opts=pulumi.ResourceOptions.merge(self._in_us_east_1, pulumi.ResourceOptions(depends_on=[policy])))
        return group, logging

    def _public_cache_policy(self, name: str) -> aws.cloudfront.CachePolicy:
        ttl = self.args.public_ttl_seconds
        return aws.cloudfront.CachePolicy(
            f"{name}-public", comment=f"{name}: public paths, {ttl} s", min_ttl=0, default_ttl=ttl, max_ttl=ttl,
            parameters_in_cache_key_and_forwarded_to_origin={
                "cookies_config": {"cookie_behavior": "none"}, "headers_config": {"header_behavior": "none"},
                "query_strings_config": {"query_string_behavior": "all"},
                "enable_accept_encoding_gzip": True, "enable_accept_encoding_brotli": True},
            opts=pulumi.ResourceOptions(parent=self))

    def _distribution(self, name: str) -> aws.cloudfront.Distribution:
        args = self.args
        certificate = {"acm_certificate_arn": self.certificate.arn, "ssl_support_method": "sni-only",
                       "minimum_protocol_version": "TLSv1.2_2021"} if self.certificate else \
            {"cloudfront_default_certificate": True}
        behavior = {"target_origin_id": ORIGIN_ID, "viewer_protocol_policy": "redirect-to-https", "compress": True,
                    "origin_request_policy_id": ALL_VIEWER_EXCEPT_HOST_POLICY_ID,
                    "response_headers_policy_id": SECURITY_HEADERS_POLICY_ID}
        return aws.cloudfront.Distribution(
            name, enabled=True, comment=f"{name}: the API's front door", aliases=[args.domain] if args.domain else None,
            http_version="http2and3", is_ipv6_enabled=True, price_class=args.price_class, web_acl_id=self.web_acl.arn,
            viewer_certificate=certificate,
            origins=[{"origin_id": ORIGIN_ID, "domain_name": args.origin_domain_name,
                      "custom_origin_config": {"http_port": 80, "https_port": 443,
                                               "origin_protocol_policy": "https-only",
                                               "origin_ssl_protocols": ["TLSv1.2"]},
                      "custom_headers": [{"name": args.origin_secret_header, "value": self.secret_value}]}],
            default_cache_behavior={**behavior, "allowed_methods": ALL_METHODS, "cached_methods": ["GET", "HEAD"],
                                    "cache_policy_id": CACHING_DISABLED_POLICY_ID},
            ordered_cache_behaviors=[{**behavior, "path_pattern": path, "allowed_methods": ["GET", "HEAD", "OPTIONS"],
                                      "cached_methods": ["GET", "HEAD"],
                                      "cache_policy_id": self.public_cache_policy.id} for path in args.public_paths],
            restrictions={"geo_restriction": {"restriction_type": GEO_RESTRICTIONS[args.geo_restriction],
                                              "locations": list(args.geo_countries)}},
            opts=pulumi.ResourceOptions(parent=self))

    def _alarms(self, name: str) -> list[aws.cloudwatch.MetricAlarm]:
        topic, verb = self.args.alarm_topic_arn, "counted" if self.args.mode == "count" else "blocked"
        return [
            alarms.metric_alarm(f"{name}-waf-{verb}", self, topic, namespace="AWS/WAFV2",
                                metric=f"{verb.capitalize()}Requests", dimensions={"WebACL": self.web_acl.name,
                                                                                   "Rule": "ALL"},
                                description=f"{name}: the web ACL {verb} more than "
                                            f"{self.args.blocked_requests_threshold} requests in 5 minutes",
                                period_seconds=300, threshold=self.args.blocked_requests_threshold,
                                provider=self.us_east_1),
            alarms.metric_alarm(f"{name}-5xx-rate", self, topic, namespace="AWS/CloudFront", metric="5xxErrorRate",
                                dimensions={"DistributionId": self.distribution.id, **GLOBAL},
                                description=f"{name}: more than {self.args.server_error_rate_percent:g}% of requests "
                                            "answered 5xx", statistic="Average",
                                threshold=self.args.server_error_rate_percent, period_seconds=300,
                                evaluation_periods=2, datapoints_to_alarm=2, provider=self.us_east_1),
        ]
