"""AWS Cloud Map: a private DNS namespace is a Route 53 private hosted zone; a service's records are answered
by the VPC's resolver and billed per query. ECS tasks registered through ECS service discovery are not billed
as Cloud Map registered resources (ECS bills its service discovery as the Route 53 resources and the queries)."""
from __future__ import annotations

from planning.offline import PlannedResource
from stacks.cost.formatting import _rate
from stacks.cost.model import FixedCost, Line, StackContext, rule


@rule("aws:servicediscovery/privateDnsNamespace:PrivateDnsNamespace")
def _private_dns_namespace(namespace: PlannedResource, ctx: StackContext) -> list[Line]:
    rate = ctx.prices["route53_hosted_zone_month"]
    return [FixedCost(namespace.name, namespace.type, f"private hosted zone {namespace.inputs.get('name')}", rate,
                      f"{_rate(rate)}/zone-month")]


@rule("aws:servicediscovery/service:Service")
def _service(service: PlannedResource, ctx: StackContext) -> list[Line]:
    rate = ctx.prices["route53_million_queries"]
    return [ctx.usage_line(service, "DNS queries for its tasks' addresses", rate, "1M queries", "dns_queries",
                           "per million standard queries", unit_size=1e6)]
