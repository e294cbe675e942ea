"""Load balancers, NAT gateways, Elastic IPs and VPC endpoints."""
from __future__ import annotations

from planning.offline import PlannedResource
from stacks.cost.formatting import _rate
from stacks.cost.model import Line, NoCost, NotPriced, StackContext, rule


@rule("aws:lb/loadBalancer:LoadBalancer")
def _load_balancer(lb: PlannedResource, ctx: StackContext) -> list[Line]:
    kind = lb.inputs.get("loadBalancerType", "application")
    if kind not in ("application", "network"):
        return [NotPriced(lb.name, lb.type, f"{kind} load balancers have no price in the price file")]
    p = ctx.prices
    short = "alb" if kind == "application" else "nlb"
    lines: list[Line] = [ctx.fixed_hours(lb, f"{kind.title()} Load Balancer", 1, p[f"{short}_hour"],
                                         short.upper())]
    if not lb.inputs.get("internal", False):
        nodes = len(lb.inputs.get("subnets") or lb.inputs.get("subnetMappings") or [])
        lines.append(ctx.fixed_hours(lb, f"public IPv4 addresses (one per subnet: {nodes})", nodes,
                                     p["public_ipv4_hour"], "IP"))
    lcu_month = p[f"{short}_lcu_hour"] * ctx.hours
    lines.append(ctx.usage_line(lb, "load balancer capacity units", lcu_month, "LCU (monthly average)", "alb_lcu",
                                f"{ctx.hours:g} h × {_rate(p[f'{short}_lcu_hour'])}/LCU-h"))
    return lines


@rule("aws:ec2/natGateway:NatGateway")
def _nat_gateway(nat: PlannedResource, ctx: StackContext) -> list[Line]:
    if nat.inputs.get("connectivityType") == "private":
        return [NotPriced(nat.name, nat.type, "private NAT gateways have no price in the price file")]
    p = ctx.prices
    return [ctx.fixed_hours(nat, "NAT gateway", 1, p["nat_gateway_hour"], "gateway"),
            ctx.usage_line(nat, "data processed", p["nat_gateway_gb"], "GB", "nat_gb", "per GB processed")]


@rule("aws:ec2/eip:Eip")
def _elastic_ip(eip: PlannedResource, ctx: StackContext) -> list[Line]:
    return [ctx.fixed_hours(eip, "public IPv4 address", 1, ctx.prices["public_ipv4_hour"], "IP")]


@rule("aws:ec2/vpcEndpoint:VpcEndpoint")
def _vpc_endpoint(endpoint: PlannedResource, ctx: StackContext) -> list[Line]:
    kind = endpoint.inputs.get("vpcEndpointType", "Gateway")
    service = str(endpoint.inputs.get("serviceName", "")).rsplit(".", 1)[-1]
    if kind == "Gateway":
        return [NoCost(endpoint.name, endpoint.type, f"gateway endpoints ({service}) are free")]
    if kind != "Interface":
        return [NotPriced(endpoint.name, endpoint.type, f"{kind} endpoints have no price in the price file")]
    p = ctx.prices
    zones = len(endpoint.inputs.get("subnetIds") or []) or 1
    return [ctx.fixed_hours(endpoint, f"interface endpoint {service} ({zones} AZ)", zones,
                            p["interface_endpoint_az_hour"], "AZ"),
            ctx.usage_line(endpoint, "data processed", p["interface_endpoint_gb"], "GB", "endpoint_gb",
                           "per GB processed")]
