"""CloudFront distributions and functions, Route 53 records (and the hosted zone they are written to), and the
vended-log deliveries of access logs."""
from __future__ import annotations

from planning.offline import PlannedResource
from stacks.cost.formatting import _rate
from stacks.cost.model import FixedCost, Line, NoCost, StackContext, rule


@rule("aws:cloudfront/distribution:Distribution")
def _distribution(distribution: PlannedResource, ctx: StackContext) -> list[Line]:
    p = ctx.prices
    where = "North America and Europe rates"
    return [ctx.usage_line(distribution, f"HTTPS requests ({where})", p["cloudfront_ten_thousand_https_requests"],
                           "10k requests", "cloudfront_requests", "per 10,000 HTTPS requests", unit_size=1e4),
            ctx.usage_line(distribution, f"data transfer out to viewers ({where}, first 10 TB)", p["cloudfront_gb_out"],
                           "GB", "cloudfront_gb", "per GB to the internet")]


@rule("aws:cloudfront/function:Function")
def _function(function: PlannedResource, ctx: StackContext) -> list[Line]:
    return [ctx.usage_line(function, "function invocations (one per viewer request)",
                           ctx.prices["cloudfront_function_million_invocations"], "1M invocations",
                           "cloudfront_requests", "per million invocations", unit_size=1e6)]


@rule("aws:route53/record:Record")
def _record(record: PlannedResource, ctx: StackContext) -> list[Line]:
    zone = record.inputs.get("zoneId")
    lines: list[Line] = []
    first_in_zone = next(r for r in ctx.plan.of_type(record.type) if r.inputs.get("zoneId") == zone)
    if first_in_zone is record:
        rate = ctx.prices["route53_hosted_zone_month"]
        item = f"hosted zone {zone} (exists already; counted in each stack that writes records to it)"
        lines.append(FixedCost(record.name, record.type, item, rate, f"{_rate(rate)}/zone-month"))
    if record.inputs.get("aliases"):
        lines.append(NoCost(record.name, record.type, "alias queries to CloudFront distributions are free"))
    else:
        lines.append(NoCost(record.name, record.type, "queried by ACM when it issues and renews the certificate: "
                                                      "a few standard queries a year"))
    return lines


@rule("aws:cloudwatch/logDelivery:LogDelivery")
def _log_delivery(delivery: PlannedResource, ctx: StackContext) -> list[Line]:
    return [ctx.usage_line(delivery, "access logs delivered to S3 (vended logs)", ctx.prices["vended_logs_s3_gb"],
                           "GB", "log_delivery_gb", "per GB delivered")]
