"""Network: the VPC every service stack runs in.

Three tiers of subnets spread over N availability zones, each tier with its own route tables, NACL
and security group, following the layered three-tier design: security groups per tier are the first
line, stateless NACLs per subnet tier the second.

- public:   the load balancers (and, with NAT strategy ``none``, the tasks, with public IPs).
- private:  the application tasks; egress through NAT gateways or interface endpoints.
- isolated: data stores; no route out of the VPC at all.

Addressing is stable: the VPC CIDR is cut into four tier blocks (public, private, isolated, spare),
and each tier block into one subnet per AZ slot, so enabling a tier or an AZ never renumbers another.
"""
from __future__ import annotations

import ipaddress
import math
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components import iam, network_security
from components.args import (
    Args,
    Boolean,
    Custom,
    InvalidArgument,
    ListOf,
    MappingOf,
    OneOf,
    Port,
    Retention,
    Text,
    Whole,
    setting,
)
from components.logs import log_group

TIERS = ("public", "private", "isolated")
NAT_STRATEGIES = ("none", "single", "one-per-az")
INTERFACE_ENDPOINT_SERVICES = ("ecr.api", "ecr.dkr", "logs", "secretsmanager")
SMALLEST_SUBNET_PREFIX = 28  # AWS refuses subnets smaller than /28
ANYWHERE = "0.0.0.0/0"


def _private_cidr(value: object) -> bool:
    return isinstance(value, str) and ipaddress.IPv4Network(value).is_private


# The network's default ports; the load balancer's and the scaling container's defaults are these, not copies.
DEFAULT_APP_PORT = 8080
DEFAULT_DATA_PORT = 5432

@dataclass(frozen=True)
class NetworkArgs(Args):
    """Inputs of :class:`Network`. Field names are the keys of the ``network`` stack config."""

    cidr: str = setting("10.0.0.0/16", Custom(
        _private_cidr, "an IPv4 CIDR such as 10.0.0.0/16 in a private range (10/8, 172.16/12, 192.168/16)",
        ("10.0.0.1/33", "8.8.8.0/24", 10)), "IPv4 CIDR of the VPC.")
    az_count: int = setting(2, Whole(2, 6), "Availability zones to spread every tier over.")
    tiers: tuple[str, ...] = setting(TIERS, ListOf(OneOf(*TIERS), min_items=1),
                                     "Subnet tiers to create; public is required.")
    nat_strategy: str = setting("none", OneOf(*NAT_STRATEGIES),
                                "none: no NAT (tasks run in public subnets with public IPs); single: one NAT gateway "
                                "for the VPC; one-per-az: one NAT gateway per AZ, so an AZ outage does not cut the "
                                "others off.")
    interface_endpoints: bool = setting(False, Boolean(),
                                        "Interface endpoints for ECR (api, dkr), CloudWatch Logs and Secrets Manager "
                                        "in the private tier, so private subnets work without NAT. The S3 gateway "
                                        "endpoint is always created (it is free).")
    app_port: int = setting(DEFAULT_APP_PORT, Port(), "The port application tasks listen on; the only port the load "
                                                      "balancer group may reach them on, never open to the internet.")
    data_port: int = setting(DEFAULT_DATA_PORT, Port(), "The port data stores listen on; reachable only from the "
                                                        "application group.")
    flow_log_retention_days: int = setting(30, Retention(), "Retention of the VPC flow log group.")
    tags: dict[str, str] = setting({}, MappingOf(Text()), "Tags on every resource of the network.")

    def check(self) -> None:
        object.__setattr__(self, "tiers", tuple(self.tiers))
        network = ipaddress.IPv4Network(self.cidr)
        if "public" not in self.tiers:
            raise InvalidArgument("tiers", list(self.tiers), "a list that includes public")
        if self.nat_strategy != "none" and "private" not in self.tiers:
            raise InvalidArgument("nat_strategy", self.nat_strategy, "none when the private tier is not enabled")
        if self.subnet_prefix(network) > SMALLEST_SUBNET_PREFIX:
            largest = SMALLEST_SUBNET_PREFIX - (self.subnet_prefix(network) - network.prefixlen)
            raise InvalidArgument(
                "cidr", self.cidr, f"a prefix of /{largest} or larger for {self.az_count} AZs "
                f"(each of the 4 tier blocks holds one subnet per AZ, and a subnet is at least /28)")

    @property
    def task_subnet_tier(self) -> str:
        """Where application tasks run: public subnets (with public IPs) without NAT, private ones with it."""
        return "public" if self.nat_strategy == "none" else "private"

    def subnet_prefix(self, network: ipaddress.IPv4Network) -> int:
        az_bits = max(1, math.ceil(math.log2(self.az_count)))
        return network.prefixlen + 2 + az_bits

    def subnet_cidrs(self) -> dict[str, list[str]]:
        """CIDR of each subnet, per tier, in AZ order."""
        network = ipaddress.IPv4Network(self.cidr)
        tier_blocks = list(network.subnets(new_prefix=network.prefixlen + 2))
        return {tier: [str(s) for s in
                       list(tier_blocks[TIERS.index(tier)].subnets(new_prefix=self.subnet_prefix(network)))
                       [:self.az_count]]
                for tier in TIERS if tier in self.tiers}

    def tier_block(self, tier: str) -> str:
        network = ipaddress.IPv4Network(self.cidr)
        return str(list(network.subnets(new_prefix=network.prefixlen + 2))[TIERS.index(tier)])


class Network(pulumi.ComponentResource):
    """VPC, tiered subnets, routing, NAT, endpoints, security groups, NACLs and flow logs."""

    vpc: aws.ec2.Vpc
    subnets: dict[str, list[aws.ec2.Subnet]]
    route_tables: dict[str, list[aws.ec2.RouteTable]]
    nat_gateways: list[aws.ec2.NatGateway]
    load_balancer_security_group: aws.ec2.SecurityGroup
    app_security_group: aws.ec2.SecurityGroup
    data_security_group: aws.ec2.SecurityGroup
    network_acls: dict[str, aws.ec2.NetworkAcl]
    availability_zones: list[str]

    def __init__(self, name: str, args: NetworkArgs, opts: pulumi.ResourceOptions | None = None):
        zones = aws.get_availability_zones(state="available").names
        if len(zones) < args.az_count:
            raise InvalidArgument("az_count", args.az_count,
                                  f"at most {len(zones)} in this region ({', '.join(zones)})")
        super().__init__("cloud-patterns:network:Network", name, None, opts)
        self.args = args
        self.availability_zones = list(zones[:args.az_count])
        child = pulumi.ResourceOptions(parent=self)
        tags = {"network": name, **args.tags}

        self.vpc = aws.ec2.Vpc(f"{name}-vpc", cidr_block=args.cidr, enable_dns_support=True,
                               enable_dns_hostnames=True, tags={**tags, "Name": name}, opts=child)
        self._strip_default_security_group(name)
        self.internet_gateway = aws.ec2.InternetGateway(f"{name}-igw", vpc_id=self.vpc.id, tags=tags, opts=child)
        self.subnets = self._subnets(name, tags)
        self.nat_gateways = self._nat_gateways(name, tags)
        self.route_tables = self._route_tables(name, tags)
        self.s3_endpoint = aws.ec2.VpcEndpoint(
            f"{name}-s3", vpc_id=self.vpc.id, vpc_endpoint_type="Gateway",
            service_name=f"com.amazonaws.{aws.get_region().region}.s3",
            route_table_ids=[rt.id for tables in self.route_tables.values() for rt in tables],
            tags=tags, opts=child)
        (self.load_balancer_security_group, self.app_security_group,
         self.data_security_group) = network_security.chained_security_groups(self, name, tags)
        self.interface_endpoints = self._interface_endpoints(name, tags) if args.interface_endpoints else []
        self.network_acls = network_security.tier_network_acls(self, name, tags)
        self.flow_log_group, self.flow_log = self._flow_logs(name)

        self.register_outputs({
            "vpc_id": self.vpc.id,
            "public_subnet_ids": self.subnet_ids("public"),
            "private_subnet_ids": self.subnet_ids("private"),
            "isolated_subnet_ids": self.subnet_ids("isolated"),
            "load_balancer_security_group_id": self.load_balancer_security_group.id,
            "app_security_group_id": self.app_security_group.id,
            "data_security_group_id": self.data_security_group.id,
        })

    def subnet_ids(self, tier: str) -> pulumi.Output[list[str]]:
        return pulumi.Output.all(*[s.id for s in self.subnets.get(tier, [])])

    def _strip_default_security_group(self, name: str) -> None:
        # Managing the default group with no rules removes AWS's allow-all-within-group rules.
        self.default_security_group = aws.ec2.DefaultSecurityGroup(
            f"{name}-default-sg", vpc_id=self.vpc.id, ingress=[], egress=[],
            tags={"Name": f"{name}-default (no rules)"}, opts=pulumi.ResourceOptions(parent=self))

    def _subnets(self, name: str, tags: dict) -> dict[str, list[aws.ec2.Subnet]]:
        return {tier: [aws.ec2.Subnet(
            f"{name}-{tier}-{i + 1}", vpc_id=self.vpc.id, cidr_block=cidr,
            availability_zone=self.availability_zones[i],
            map_public_ip_on_launch=False,
            tags={**tags, "Name": f"{name}-{tier}-{self.availability_zones[i]}", "tier": tier},
            opts=pulumi.ResourceOptions(parent=self))
            for i, cidr in enumerate(cidrs)]
            for tier, cidrs in self.args.subnet_cidrs().items()}

    def _nat_gateways(self, name: str, tags: dict) -> list[aws.ec2.NatGateway]:
        count = {"none": 0, "single": 1, "one-per-az": self.args.az_count}[self.args.nat_strategy]
        gateways = []
        for i in range(count):
            eip = aws.ec2.Eip(f"{name}-nat-{i + 1}", domain="vpc", tags=tags,
                              opts=pulumi.ResourceOptions(parent=self))
            gateways.append(aws.ec2.NatGateway(
                f"{name}-nat-{i + 1}", allocation_id=eip.allocation_id, subnet_id=self.subnets["public"][i].id,
                tags={**tags, "Name": f"{name}-nat-{self.availability_zones[i]}"},
                opts=pulumi.ResourceOptions(parent=self, depends_on=[self.internet_gateway])))
        return gateways

    def _route_tables(self, name: str, tags: dict) -> dict[str, list[aws.ec2.RouteTable]]:
        """One table per tier; per AZ for the private tier when each AZ has its own NAT gateway."""
        tables: dict[str, list[aws.ec2.RouteTable]] = {}
        for tier, subnets in self.subnets.items():
            per_az = tier == "private" and self.args.nat_strategy == "one-per-az"
            tables[tier] = []
            for i in range(len(subnets) if per_az else 1):
                suffix = f"{tier}-{i + 1}" if per_az else tier
                table = aws.ec2.RouteTable(f"{name}-{suffix}", vpc_id=self.vpc.id,
                                           tags={**tags, "Name": f"{name}-{suffix}", "tier": tier},
                                           opts=pulumi.ResourceOptions(parent=self))
                tables[tier].append(table)
                default_route = self._default_route(tier, i)
                if default_route:
                    aws.ec2.Route(f"{name}-{suffix}-default", route_table_id=table.id,
                                  destination_cidr_block=ANYWHERE, **default_route,
                                  opts=pulumi.ResourceOptions(parent=table))
            for i, subnet in enumerate(subnets):
                aws.ec2.RouteTableAssociation(f"{name}-{tier}-{i + 1}", subnet_id=subnet.id,
                                              route_table_id=tables[tier][i if per_az else 0].id,
                                              opts=pulumi.ResourceOptions(parent=subnet))
        return tables

    def _default_route(self, tier: str, index: int) -> dict | None:
        if tier == "public":
            return {"gateway_id": self.internet_gateway.id}
        if tier == "private" and self.nat_gateways:
            return {"nat_gateway_id": self.nat_gateways[min(index, len(self.nat_gateways) - 1)].id}
        return None  # isolated, or private without NAT: local routes (and the S3 endpoint) only

    def _interface_endpoints(self, name: str, tags: dict) -> list[aws.ec2.VpcEndpoint]:
        tier = "private" if "private" in self.subnets else "public"
        endpoint_group = aws.ec2.SecurityGroup(
            f"{name}-endpoints", vpc_id=self.vpc.id, description="Interface endpoints: HTTPS from the VPC",
            tags=tags, opts=pulumi.ResourceOptions(parent=self))
        aws.vpc.SecurityGroupIngressRule(f"{name}-endpoints-in-https", security_group_id=endpoint_group.id,
                                         ip_protocol="tcp", from_port=443, to_port=443, cidr_ipv4=self.args.cidr,
                                         description="HTTPS from the VPC",
                                         opts=pulumi.ResourceOptions(parent=endpoint_group))
        region = aws.get_region().region
        return [aws.ec2.VpcEndpoint(
            f"{name}-{service.replace('.', '-')}", vpc_id=self.vpc.id, vpc_endpoint_type="Interface",
            service_name=f"com.amazonaws.{region}.{service}", private_dns_enabled=True,
            subnet_ids=[s.id for s in self.subnets[tier]], security_group_ids=[endpoint_group.id],
            tags=tags, opts=pulumi.ResourceOptions(parent=self))
            for service in INTERFACE_ENDPOINT_SERVICES]

    def _flow_logs(self, name: str) -> tuple[aws.cloudwatch.LogGroup, aws.ec2.FlowLog]:
        group = log_group(f"{name}-flow-logs", self.args.flow_log_retention_days, self)
        role = iam.service_role(
            f"{name}-flow-logs", "vpc-flow-logs.amazonaws.com", iam.policy_document([iam.statement(
                ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
                [pulumi.Output.concat(group.arn, ":*")])], self),
            self, "VPC flow logs delivery to its own log group",
            source_arns=[iam.arn_of("ec2", "vpc-flow-log/*", self)])
        flow_log = aws.ec2.FlowLog(f"{name}-flow-log", vpc_id=self.vpc.id, traffic_type="ALL",
                                   log_destination_type="cloud-watch-logs", log_destination=group.arn,
                                   iam_role_arn=role.arn, max_aggregation_interval=60,
                                   opts=pulumi.ResourceOptions(parent=self))
        return group, flow_log
