"""Mock shapes: VPC, subnets, routing, security groups, endpoints; availability zones and region."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from planning.mocks import ACCOUNT_ID, ProviderMocks, Shaper, autoname, call, digest, shape


def _ec2(prefix: str, kind: str, **extra_fn: Callable[[ProviderMocks, str, str, dict], Any]) -> Shaper:
    def shaper(m: ProviderMocks, name: str, inputs: dict) -> tuple[str, dict]:
        resource_id = f"{prefix}-{digest(prefix, name)}"
        extra = {"arn": m.arn("ec2", f"{kind}/{resource_id}"), "ownerId": ACCOUNT_ID}
        extra.update({k: fn(m, name, resource_id, inputs) for k, fn in extra_fn.items()})
        return resource_id, extra
    return shaper


shape("aws:ec2/vpc:Vpc")(_ec2(
    "vpc", "vpc",
    defaultSecurityGroupId=lambda m, n, i, _: f"sg-{digest('default-sg', n)}",
    mainRouteTableId=lambda m, n, i, _: f"rtb-{digest('main-rtb', n)}",
    defaultNetworkAclId=lambda m, n, i, _: f"acl-{digest('default-acl', n)}"))
shape("aws:ec2/subnet:Subnet")(_ec2("subnet", "subnet"))
shape("aws:ec2/securityGroup:SecurityGroup", "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup")(_ec2(
    "sg", "security-group", name=lambda m, n, i, inputs: inputs.get("name") or autoname(n, inputs)))
shape("aws:ec2/internetGateway:InternetGateway")(_ec2("igw", "internet-gateway"))
shape("aws:ec2/natGateway:NatGateway")(_ec2(
    "nat", "natgateway", publicIp=lambda m, n, i, _: f"3.{int(digest(n, length=2), 16)}.0.{len(n) % 250 + 1}"))
shape("aws:ec2/eip:Eip")(_ec2(
    "eipalloc", "elastic-ip", allocationId=lambda m, n, i, _: i,
    publicIp=lambda m, n, i, _: f"3.{int(digest(n, length=2), 16)}.1.{len(n) % 250 + 1}"))
shape("aws:ec2/routeTable:RouteTable")(_ec2("rtb", "route-table"))
shape("aws:ec2/route:Route")(_ec2("r-rtb", "route"))
shape("aws:ec2/routeTableAssociation:RouteTableAssociation")(_ec2("rtbassoc", "route-table-association"))
shape("aws:ec2/networkAcl:NetworkAcl")(_ec2("acl", "network-acl"))
shape("aws:ec2/networkAclRule:NetworkAclRule")(_ec2("nacl", "network-acl-rule"))
shape("aws:ec2/flowLog:FlowLog")(_ec2("fl", "vpc-flow-log"))
shape("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
      "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule")(_ec2(
          "sgr", "security-group-rule", securityGroupRuleId=lambda m, n, i, _: i))
shape("aws:ec2/vpcEndpoint:VpcEndpoint")(_ec2(
    "vpce", "vpc-endpoint",
    dnsEntries=lambda m, n, i, inputs: [{"dnsName": f"{i}.{inputs.get('serviceName', '')}.vpce.amazonaws.com",
                                         "hostedZoneId": "Z7HUB22UULQXV"}],
    prefixListId=lambda m, n, i, _: f"pl-{digest('pl', n, length=8)}"))


@call("aws:index/getAvailabilityZones:getAvailabilityZones")
def _zones(m: ProviderMocks, args: dict) -> dict:
    letters = "abcdef"
    return {"names": [f"{m.region}{c}" for c in letters],
            "zoneIds": [f"use1-az{i + 1}" for i in range(len(letters))], "id": m.region, "groupNames": [m.region]}


@call("aws:index/getRegion:getRegion")
def _region(m: ProviderMocks, args: dict) -> dict:
    return {"region": m.region, "name": m.region, "id": m.region, "endpoint": f"ec2.{m.region}.amazonaws.com",
            "description": m.region}
