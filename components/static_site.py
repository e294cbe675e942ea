"""StaticSite: a static website served from one private S3 bucket through CloudFront, over HTTPS only.

- The bucket is the shared private one (public access blocked, owner-enforced, TLS only). CloudFront reads it
  with Origin Access Control (SigV4-signed requests) — not an origin access identity, not the public website
  endpoint — and its policy lets ``cloudfront.amazonaws.com`` read objects for this distribution only
  (``AWS:SourceArn``). CloudFront may not list the bucket, so a missing key answers 403, which the distribution
  serves as the 404 page with status 404.
- A viewer-request CloudFront Function (``cloudfront-js-2.0``; its source is the program's) rewrites pretty
  URLs and, for a site at a zone's apex, answers ``www.`` with a 301 to the apex.
- Caching: a cache policy keyed on the path alone (no cookies, headers or query strings), gzip and Brotli; its
  default TTL applies to objects without their own ``Cache-Control`` (the upload tool gives every object one: a
  year for hashed assets, the default TTL for the rest). The managed security-headers policy adds HSTS,
  nosniff, frame and referrer headers.
- TLS: viewers are redirected to HTTPS; HTTP/2 and HTTP/3, IPv6. With a domain: an ACM certificate from
  us-east-1 (``components.certificate``), SNI, TLSv1.2_2021 at least, alias records A and AAAA that never
  overwrite an existing record. Without (dev): the ``*.cloudfront.net`` certificate, on which CloudFront keeps
  its own minimum protocol (TLSv1).
- Access logs (optional): standard logging v2 (CloudWatch vended logs, from us-east-1 where CloudFront's log
  sources are) to a second private bucket that expires them. Legacy logging would need ACLs on the bucket.
- Alarms on the 5xx error rate and the function's errors, in us-east-1 where CloudFront publishes its metrics;
  the alerts topic must be in us-east-1 too: CloudWatch refuses an alarm action on a topic of another region
  (the policy ``alarm-topic-same-region`` catches it in the plan).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Optional

import pulumi
import pulumi_aws as aws

from components import alarms, iam
from components.args import Args, Boolean, InvalidArgument, Maybe, Number, OneOf, Text, Whole, setting, wiring
from components.certificate import (
    HOST_NAME,
    HOST_NAME_TEXT,
    ZONE_ID,
    ZONE_ID_TEXT,
    Certificate,
    CertificateArgs,
    alias_records,
    us_east_1,
)
from components.storage import bucket_policy, private_bucket

PRICE_CLASSES = ("PriceClass_100", "PriceClass_200", "PriceClass_All")
SECURITY_HEADERS_POLICY_ID = "67f7725c-6f97-4210-82d7-5512b31e9d03"  # AWS managed "Managed-SecurityHeadersPolicy"
FUNCTION_RUNTIME = "cloudfront-js-2.0"
ORIGIN_ID = "site-bucket"
GLOBAL = {"Region": "Global"}  # the dimension every CloudFront metric carries


@dataclass(frozen=True)
class StaticSiteArgs(Args):
    viewer_request_code: Callable[[Optional[str]], str] = wiring(
        "Builds the viewer-request function's source, given the host www. redirects to (None: no redirect).")
    alarm_topic_arn: pulumi.Input[str] = wiring("The topic alarms notify (the alerts stack's, in us-east-1).")
    domain: Optional[str] = setting(None, Maybe(Text(HOST_NAME, HOST_NAME_TEXT)),
                                    "The site's name: a zone's apex (example.com) or a subdomain "
                                    "(my-site.example.com). "
                                    "null: the distribution's *.cloudfront.net name only (no certificate, no records).")
    zone_id: Optional[str] = setting(None, Maybe(Text(ZONE_ID, ZONE_ID_TEXT)),
                                     "The public Route 53 hosted zone of the domain (required with a domain): the "
                                     "certificate's validation records and the alias records are written there.")
    redirect_www: Optional[bool] = setting(None, Maybe(Boolean()),
                                           "Serve www.<domain> as well, answering 301 to the domain with path and "
                                           "query kept. null: yes for a two-label domain (example.com), no for a "
                                           "subdomain; set true for an apex such as example.co.uk.")
    default_ttl_seconds: int = setting(300, Whole(0, 86400, "(seconds)"),
                                       "How long CloudFront (and browsers) keep pages and unhashed files; hashed "
                                       "assets are kept a year. 0: not cached, for development.")
    price_class: str = setting("PriceClass_100", OneOf(*PRICE_CLASSES),
                               "Edge locations: PriceClass_100 (North America, Europe: the cheapest), PriceClass_200 "
                               "(and most of Asia, Middle East, Africa), PriceClass_All.")
    access_logs: bool = setting(False, Boolean(), "Access logs (standard logging v2) to a private bucket of their own.")
    access_log_days: int = setting(90, Whole(1, 3650, "(days)"), "How long access logs are kept.")
    server_error_rate_percent: float = setting(5, Number(0.1, 100, "(percent)"),
                                               "Alarm when more than this share of requests gets a 5xx, in two "
                                               "5-minute periods in a row.")
    force_destroy: bool = setting(False, Boolean(), "Destroy deletes the buckets with their objects (dev); false: "
                                                    "destroy stops at a bucket that holds objects.")
    index_document: str = wiring("What a path ending in / serves.", default="index.html")
    not_found_page: str = wiring("The page served, with status 404, for a key that does not exist.",
                                 default="404.html")
    max_ttl_seconds: int = wiring("The longest CloudFront keeps an object (hashed assets' max-age).",
                                  default=31_536_000)

    def check(self) -> None:
        if (self.domain is None) != (self.zone_id is None):
            key = "zone_id" if self.domain else "domain"
            raise InvalidArgument(key, getattr(self, key), "set, since the other of domain and zone_id is")
        if self.redirect_www and self.domain is None:
            raise InvalidArgument("redirect_www", True, "false or null without a domain")
        if self.redirect_www and self.domain.startswith("www."):
            raise InvalidArgument("redirect_www", True, f"false or null for {self.domain} (a www. name itself)")

    @property
    def www_redirect(self) -> bool:
        if self.redirect_www is not None:
            return self.redirect_www
        return self.domain is not None and self.domain.count(".") == 1

    @property
    def aliases(self) -> list[str]:
        if self.domain is None:
            return []
        return [self.domain, f"www.{self.domain}"] if self.www_redirect else [self.domain]


class StaticSite(pulumi.ComponentResource):
    us_east_1: aws.Provider
    bucket: aws.s3.Bucket
    origin_access_control: aws.cloudfront.OriginAccessControl
    viewer_request: aws.cloudfront.Function
    cache_policy: aws.cloudfront.CachePolicy
    certificate: Optional[Certificate]
    distribution: aws.cloudfront.Distribution
    bucket_policy: aws.s3.BucketPolicy
    records: list[aws.route53.Record]
    log_bucket: Optional[aws.s3.Bucket]
    alarms: list[aws.cloudwatch.MetricAlarm]
    url: pulumi.Output[str]

    def __init__(self, name: str, args: StaticSiteArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("cloud-patterns:web:StaticSite", name, None, opts)
        self.args = args
        child = pulumi.ResourceOptions(parent=self)
        self.us_east_1 = us_east_1(name, self)
        self.bucket = private_bucket(f"{name}-content", self, force_destroy=args.force_destroy, policy=False)
        self.origin_access_control = aws.cloudfront.OriginAccessControl(
            name, description=f"{name}: signed requests to its bucket", origin_access_control_origin_type="s3",
            signing_behavior="always", signing_protocol="sigv4", opts=child)
        self.viewer_request = aws.cloudfront.Function(
            f"{name}-viewer-request", runtime=FUNCTION_RUNTIME, publish=True,
            code=args.viewer_request_code(args.domain if args.www_redirect else None),
            comment=f"{name}: pretty URLs" + (f", www.{args.domain} to {args.domain}" if args.www_redirect else ""),
            opts=child)
        self.cache_policy = self._cache_policy(name)
        self.certificate = Certificate(f"{name}-certificate", CertificateArgs(
            domain_name=args.domain, zone_id=args.zone_id, alternative_names=args.aliases[1:],
            provider=self.us_east_1), opts=child) if args.domain else None
        self.distribution = self._distribution(name)
        read = iam.service_grant("cloudfront.amazonaws.com", ["s3:GetObject"],
                                 [pulumi.Output.concat(self.bucket.arn, "/*")],
                                 [iam.condition("StringEquals", "AWS:SourceArn", self.distribution.arn)],
                                 sid="ThisDistributionReadsObjects")
        self.bucket_policy = bucket_policy(f"{name}-content", self.bucket, [read])
        self.records = alias_records(name, self, args.zone_id, args.aliases, self.distribution.domain_name,
                                     self.distribution.hosted_zone_id) if args.domain else []
        self.log_bucket = self._access_logs(name) if args.access_logs else None
        self.alarms = self._alarms(name)
        self.url = pulumi.Output.concat("https://", args.domain or self.distribution.domain_name, "/")
        self.register_outputs({"bucket": self.bucket.bucket, "distribution_id": self.distribution.id,
                               "url": self.url})

    def _cache_policy(self, name: str) -> aws.cloudfront.CachePolicy:
        cf = aws.cloudfront
        return cf.CachePolicy(
            name, comment=f"{name}: the path alone is the cache key", min_ttl=0,
            default_ttl=self.args.default_ttl_seconds, max_ttl=self.args.max_ttl_seconds,
            parameters_in_cache_key_and_forwarded_to_origin=cf.CachePolicyParametersInCacheKeyAndForwardedToOriginArgs(
                cookies_config=cf.CachePolicyParametersInCacheKeyAndForwardedToOriginCookiesConfigArgs(
                    cookie_behavior="none"),
                headers_config=cf.CachePolicyParametersInCacheKeyAndForwardedToOriginHeadersConfigArgs(
                    header_behavior="none"),
                query_strings_config=cf.CachePolicyParametersInCacheKeyAndForwardedToOriginQueryStringsConfigArgs(
                    query_string_behavior="none"),
                enable_accept_encoding_gzip=True, enable_accept_encoding_brotli=True),
            opts=pulumi.ResourceOptions(parent=self))

    def _distribution(self, name: str) -> aws.cloudfront.Distribution:
        args, cf = self.args, aws.cloudfront
        certificate = cf.DistributionViewerCertificateArgs(
            acm_certificate_arn=self.certificate.arn, ssl_support_method="sni-only",
            minimum_protocol_version="TLSv1.2_2021") if self.certificate else \
            cf.DistributionViewerCertificateArgs(cloudfront_default_certificate=True)
        return cf.Distribution(
            name, enabled=True, comment=f"{name}: static site", aliases=args.aliases or None,
            default_root_object=args.index_document, http_version="http2and3", is_ipv6_enabled=True,
            price_class=args.price_class, viewer_certificate=certificate,
            origins=[cf.DistributionOriginArgs(origin_id=ORIGIN_ID, domain_name=self.bucket.bucket_regional_domain_name,
                                               origin_access_control_id=self.origin_access_control.id)],
            default_cache_behavior=cf.DistributionDefaultCacheBehaviorArgs(
                target_origin_id=ORIGIN_ID, viewer_protocol_policy="redirect-to-https",
                allowed_methods=["GET", "HEAD"], cached_methods=["GET", "HEAD"], compress=True,
                cache_policy_id=self.cache_policy.id, response_headers_policy_id=SECURITY_HEADERS_POLICY_ID,
                function_associations=[cf.DistributionDefaultCacheBehaviorFunctionAssociationArgs(
                    event_type="viewer-request", function_arn=self.viewer_request.arn)]),
            # 403: what S3 answers for a missing key when the reader may not list the bucket.
            custom_error_responses=[cf.DistributionCustomErrorResponseArgs(
                error_code=code, response_code=404, response_page_path=f"/{args.not_found_page}",
                error_caching_min_ttl=args.default_ttl_seconds) for code in (403, 404)],
            restrictions=cf.DistributionRestrictionsArgs(
                geo_restriction=cf.DistributionRestrictionsGeoRestrictionArgs(restriction_type="none")),
            opts=pulumi.ResourceOptions(parent=self))

    def _access_logs(self, name: str) -> aws.s3.Bucket:
        bucket = private_bucket(f"{name}-logs", self, force_destroy=self.args.force_destroy, policy=False,
                                expire_after_days=self.args.access_log_days)
        in_us_east_1 = pulumi.ResourceOptions(parent=self, provider=self.us_east_1)
        source = aws.cloudwatch.LogDeliverySource(f"{name}-access-logs", log_type="ACCESS_LOGS",
                                                  resource_arn=self.distribution.arn, opts=in_us_east_1)
        destination = aws.cloudwatch.LogDeliveryDestination(
            f"{name}-access-logs", output_format="json",
            delivery_destination_configuration=aws.cloudwatch.LogDeliveryDestinationDeliveryDestinationConfigurationArgs(
                destination_resource_arn=bucket.arn), opts=in_us_east_1)
        account = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(parent=self)).account_id
        this_source = [iam.condition("StringEquals", "aws:SourceAccount", account),
                       iam.condition("ArnLike", "aws:SourceArn", source.arn)]
        policy = bucket_policy(f"{name}-logs", bucket, [
            iam.service_grant("delivery.logs.amazonaws.com", ["s3:PutObject"],
                              [pulumi.Output.concat(bucket.arn, "/AWSLogs/", account, "/*")],
                              [*this_source,
                               iam.condition("StringEquals", "s3:x-amz-acl", "bucket-owner-full-control")],
                              sid="LogDeliveryWrite"),
            iam.service_grant("delivery.logs.amazonaws.com", ["s3:GetBucketAcl", "s3:ListBucket"], [bucket.arn],
                              this_source, sid="LogDeliveryAclCheck")])
        aws.cloudwatch.LogDelivery(f"{name}-access-logs", delivery_source_name=source.name,
                                   delivery_destination_arn=destination.arn,
                                   opts=pulumi.ResourceOptions.merge(in_us_east_1, pulumi.ResourceOptions(
                                       depends_on=[policy])))
        return bucket

    def _alarms(self, name: str) -> list[aws.cloudwatch.MetricAlarm]:
        topic = self.args.alarm_topic_arn  # in us-east-1 too (policy alarm-topic-same-region)
        function = {"FunctionName": self.viewer_request.name, **GLOBAL}

        def alarm(suffix: str, metric: str, dimensions: dict, description: str, **kwargs) -> aws.cloudwatch.MetricAlarm:
            return alarms.metric_alarm(f"{name}-{suffix}", self, topic, namespace="AWS/CloudFront", metric=metric,
                                       dimensions=dimensions, description=f"{name}: {description}",
                                       period_seconds=300, provider=self.us_east_1, **kwargs)

        rate = self.args.server_error_rate_percent
        return [
            alarm("5xx-rate", "5xxErrorRate", {"DistributionId": self.distribution.id, **GLOBAL},
                  f"more than {rate:g}% of requests answered 5xx", statistic="Average", threshold=rate,
                  evaluation_periods=2, datapoints_to_alarm=2),
            alarm("function-errors", "FunctionExecutionErrors", function, "the viewer-request function failed"),
            alarm("function-invalid", "FunctionValidationErrors", function,
                  "the viewer-request function returned an invalid request or response"),
        ]

