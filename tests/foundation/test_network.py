"""The Network component, evaluated through programs/network.py under the SDK's mock engine."""
from __future__ import annotations

import ipaddress
import json

import pytest

from programs.common import ConfigError
from planning.offline import RecordingMonitor
from planning.mocks import ProviderMocks
from tests.conftest import run_program


def plan_network(**settings):
    return run_program("network", {"network": settings})


def by_name(plan, type_token):
    return {r.name: r.inputs for r in plan.of_type(type_token)}


def test_subnets_are_cut_from_the_cidr_per_tier_and_az():
    plan = plan_network(cidr="10.20.0.0/16", az_count=3)
    subnets = by_name(plan, "aws:ec2/subnet:Subnet")
    assert {n: s["cidrBlock"] for n, s in subnets.items()} == {
        "test-public-1": "10.20.0.0/20", "test-public-2": "10.20.16.0/20", "test-public-3": "10.20.32.0/20",
        "test-private-1": "10.20.64.0/20", "test-private-2": "10.20.80.0/20", "test-private-3": "10.20.96.0/20",
        "test-isolated-1": "10.20.128.0/20", "test-isolated-2": "10.20.144.0/20",
        "test-isolated-3": "10.20.160.0/20"}
    assert [subnets[f"test-public-{i}"]["availabilityZone"] for i in (1, 2, 3)] == \
        ["us-east-1a", "us-east-1b", "us-east-1c"]
    cidrs = [ipaddress.ip_network(s["cidrBlock"]) for s in subnets.values()]
    assert not any(a.overlaps(b) for i, a in enumerate(cidrs) for b in cidrs[i + 1:])
    assert not any(s.get("mapPublicIpOnLaunch") for s in subnets.values())


def test_vpc_has_dns_support_and_hostnames_and_outputs_per_tier():
    plan = plan_network(tiers=["public", "private"])
    vpc = plan.of_type("aws:ec2/vpc:Vpc")[0].inputs
    assert vpc["cidrBlock"] == "10.0.0.0/16" and vpc["enableDnsSupport"] and vpc["enableDnsHostnames"]
    assert len(plan.outputs["public_subnet_ids"]) == 2 and len(plan.outputs["private_subnet_ids"]) == 2
    assert plan.outputs["isolated_subnet_ids"] == []
    assert all(s.startswith("subnet-") for s in plan.outputs["public_subnet_ids"])
    assert plan.outputs["vpc_id"].startswith("vpc-") and plan.outputs["nat_strategy"] == "none"


@pytest.mark.parametrize("strategy, az_count, gateways, private_tables", [
    ("none", 2, 0, 1), ("single", 3, 1, 1), ("one-per-az", 3, 3, 3)])
def test_nat_strategies(strategy, az_count, gateways, private_tables):
    plan = plan_network(nat_strategy=strategy, az_count=az_count)
    nats = plan.of_type("aws:ec2/natGateway:NatGateway")
    assert len(nats) == gateways and len(plan.of_type("aws:ec2/eip:Eip")) == gateways
    public_subnet_ids = set(plan.outputs["public_subnet_ids"])
    assert all(n.inputs["subnetId"] in public_subnet_ids for n in nats)
    tables = by_name(plan, "aws:ec2/routeTable:RouteTable")
    assert len([n for n in tables if n.startswith("test-private")]) == private_tables
    routes = by_name(plan, "aws:ec2/route:Route")
    nat_routes = [r for r in routes.values() if "natGatewayId" in r]
    assert len(nat_routes) == (private_tables if gateways else 0)
    assert len({r["natGatewayId"] for r in nat_routes}) == gateways
    assert [r for r in routes.values() if "gatewayId" in r] == [
        {"destinationCidrBlock": "0.0.0.0/0", "gatewayId": routes["test-public-default"]["gatewayId"],
         "routeTableId": routes["test-public-default"]["routeTableId"]}]


def test_isolated_tier_has_no_route_out_and_s3_gateway_endpoint_serves_every_table():
    plan = plan_network(nat_strategy="one-per-az", az_count=2)
    routes = by_name(plan, "aws:ec2/route:Route")
    assert not [n for n in routes if n.startswith("test-isolated")]
    endpoint = by_name(plan, "aws:ec2/vpcEndpoint:VpcEndpoint")["test-s3"]
    assert endpoint["vpcEndpointType"] == "Gateway" and endpoint["serviceName"] == "com.amazonaws.us-east-1.s3"
    assert len(endpoint["routeTableIds"]) == len(plan.of_type("aws:ec2/routeTable:RouteTable")) == 4


def test_interface_endpoints_are_optional_and_private():
    assert len(plan_network().of_type("aws:ec2/vpcEndpoint:VpcEndpoint")) == 1
    plan = plan_network(interface_endpoints=True)
    endpoints = {e["serviceName"]: e for e in by_name(plan, "aws:ec2/vpcEndpoint:VpcEndpoint").values()}
    assert set(endpoints) == {f"com.amazonaws.us-east-1.{s}" for s in ("s3", "ecr.api", "ecr.dkr", "logs",
                                                                        "secretsmanager")}
    ecr = endpoints["com.amazonaws.us-east-1.ecr.dkr"]
    assert ecr["privateDnsEnabled"] and set(ecr["subnetIds"]) == set(plan.outputs["private_subnet_ids"])


def test_security_groups_chain_load_balancer_to_app_to_data():
    plan = plan_network(app_port=3000, data_port=5432)
    groups = {r.urn: r.name for r in plan.of_type("aws:ec2/securityGroup:SecurityGroup")}
    ids = {"lb": plan.outputs["load_balancer_security_group_id"], "app": plan.outputs["app_security_group_id"],
           "data": plan.outputs["data_security_group_id"]}
    ingress = [r.inputs for r in plan.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")]
    from_world = [r for r in ingress if r.get("cidrIpv4") == "0.0.0.0/0" or r.get("cidrIpv6") == "::/0"]
    assert {(r["securityGroupId"], r["fromPort"], r["toPort"]) for r in from_world} == {
        (ids["lb"], 80, 80), (ids["lb"], 443, 443)}
    assert len(from_world) == 4  # IPv4 and IPv6
    from_groups = {(r["securityGroupId"], r["referencedSecurityGroupId"], r["fromPort"]) for r in ingress
                   if "referencedSecurityGroupId" in r}
    assert from_groups == {(ids["app"], ids["lb"], 3000), (ids["data"], ids["app"], 5432)}
    assert len(groups) == 3
    default = plan.of_type("aws:ec2/defaultSecurityGroup:DefaultSecurityGroup")[0].inputs
    assert default.get("ingress", []) == [] and default.get("egress", []) == []


def test_network_acls_are_per_tier_with_ephemeral_return_ports():
    plan = plan_network()
    acls = by_name(plan, "aws:ec2/networkAcl:NetworkAcl")
    assert set(acls) == {"test-public", "test-private", "test-isolated"}
    assert len(acls["test-public"]["subnetIds"]) == 2
    rules = by_name(plan, "aws:ec2/networkAclRule:NetworkAclRule")

    def allowed(tier, direction):
        return {(r["fromPort"], r["toPort"], r["cidrBlock"]) for n, r in rules.items()
                if n.startswith(f"test-{tier}-{direction}") and r["ruleAction"] == "allow"}

    assert allowed("public", "ingress") == {(80, 80, "0.0.0.0/0"), (443, 443, "0.0.0.0/0"),
                                            (8080, 8080, "10.0.0.0/16"), (1024, 65535, "0.0.0.0/0")}
    assert allowed("private", "ingress") == {(8080, 8080, "10.0.0.0/16"), (1024, 65535, "0.0.0.0/0")}
    # Without NAT (the default, dev) tasks run in the public tier: the data port is open from there only.
    assert allowed("isolated", "ingress") == {(5432, 5432, "10.0.0.0/18")}
    assert allowed("isolated", "egress") == {(1024, 65535, "10.0.0.0/16")}
    assert all(r["protocol"] == "tcp" for r in rules.values())
    assert len({(r["networkAclId"], r["egress"], r["ruleNumber"]) for r in rules.values()}) == len(rules)


@pytest.mark.parametrize("nat_strategy, task_tier_block", [("none", "10.0.0.0/18"), ("single", "10.0.64.0/18")])
def test_the_data_port_is_open_to_the_isolated_tier_from_the_tier_tasks_run_in_only(nat_strategy, task_tier_block):
    # Once the private tier only: in dev (no NAT, tasks in public subnets) no task could reach its database.
    plan = plan_network(nat_strategy=nat_strategy)
    isolated = [r for n, r in by_name(plan, "aws:ec2/networkAclRule:NetworkAclRule").items()
                if n.startswith("test-isolated-ingress")]
    assert [(r["fromPort"], r["cidrBlock"]) for r in isolated] == [(5432, task_tier_block)]
    assert plan.outputs["nat_strategy"] == nat_strategy


def test_flow_logs_go_to_a_retained_log_group_through_a_scoped_role():
    plan = plan_network(flow_log_retention_days=90)
    group = plan.of_type("aws:cloudwatch/logGroup:LogGroup")[0]
    assert group.inputs["retentionInDays"] == 90
    flow = plan.of_type("aws:ec2/flowLog:FlowLog")[0].inputs
    assert flow["trafficType"] == "ALL" and flow["vpcId"] == plan.outputs["vpc_id"]
    assert flow["logDestination"].startswith("arn:aws:logs:us-east-1:123456789012:log-group:test-flow-logs")
    policy = json.loads(plan.of_type("aws:iam/rolePolicy:RolePolicy")[0].inputs["policy"])
    [statement] = policy["Statement"]
    assert statement["Resource"] == flow["logDestination"] + ":*"
    assert "*" not in json.dumps(statement["Action"])
    trust = json.loads(plan.of_type("aws:iam/role:Role")[0].inputs["assumeRolePolicy"])
    assert trust["Statement"][0]["Principal"] == {"Service": "vpc-flow-logs.amazonaws.com"}
    assert trust["Statement"][0]["Condition"] == {
        "StringEquals": {"aws:SourceAccount": "123456789012"},
        "ArnLike": {"aws:SourceArn": "arn:aws:ec2:us-east-1:123456789012:vpc-flow-log/*"}}


def test_every_child_is_parented_to_the_component():
    plan = plan_network()
    [component] = plan.of_type("cloud-patterns:network:Network")
    children = {r.urn for r in plan.resources if r.parent == component.urn}
    for resource in plan.resources:
        if resource is component:
            continue
        chain, parents = resource, {r.urn: r for r in plan.resources}
        while chain.parent in parents and chain.parent != component.urn:
            chain = parents[chain.parent]
        assert chain.parent == component.urn, resource.name
    assert len(children) > 20


@pytest.mark.parametrize("settings, key, allowed", [
    ({"cidr": "10.0.0.300/16"}, "network.cidr", "IPv4 CIDR"),
    ({"cidr": "not-a-cidr"}, "network.cidr", "IPv4 CIDR"),
    ({"cidr": "10.0.0.0/26"}, "network.cidr", "/25 or larger for 2 AZs"),
    ({"cidr": "10.0.0.0/24", "az_count": 6}, "network.cidr", "/23 or larger for 6 AZs"),
    ({"cidr": "8.8.0.0/16"}, "network.cidr", "a private range"),
    ({"az_count": 1}, "network.az_count", "from 2 to 6"),
    ({"az_count": 7}, "network.az_count", "from 2 to 6"),
    ({"nat_strategy": "double"}, "network.nat_strategy", "one of none, single, one-per-az"),
    ({"tiers": ["public", "dmz"]}, "network.tiers", "one of public, private, isolated"),
    ({"tiers": "public"}, "network.tiers", "a list of 1 or more items"),
    ({"az_count": 2.5}, "network.az_count", "a whole number from 2 to 6"),
    ({"tiers": ["private"]}, "network.tiers", "includes public"),
    ({"tiers": ["public"], "nat_strategy": "single"}, "network.nat_strategy", "private tier"),
    ({"app_port": 70000}, "network.app_port", "port from 1 to 65535"),
    ({"flow_log_retention_days": 10}, "network.flow_log_retention_days", "one of 1, 3, 5, 7, 14, 30"),
    ({"nat": "single"}, "network.nat", "allowed: app_port, az_count, cidr"),
])
def test_invalid_config_is_rejected_before_any_resource_naming_key_and_allowed_values(settings, key, allowed):
    monitor = RecordingMonitor(ProviderMocks())
    with pytest.raises(ConfigError) as error:
        run_program("network", {"network": settings}, monitor=monitor)
    assert f"cloud-patterns:{key}" in str(error.value) and allowed in str(error.value)
    assert monitor.recorded == []


class ThreeZoneRegion(ProviderMocks):
    def call(self, args):
        result = super().call(args)
        if args.token.endswith("getAvailabilityZones"):
            result["names"] = result["names"][:3]
        return result


def test_more_azs_than_the_region_has_is_rejected_before_any_resource():
    mocks = ThreeZoneRegion()
    monitor = RecordingMonitor(mocks)
    with pytest.raises(Exception, match=r"az_count: 4 .*at most 3 in this region"):
        run_program("network", {"network": {"az_count": 4}}, monitor=monitor, mocks=mocks)
    assert monitor.recorded == []
