"""Security groups: no remote administration from any address range, no internet ingress but HTTP and HTTPS on
the groups that front load balancers."""
from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from policies.rules.core import Finding, Resource, Stack, _as_list, _number, _tags, known, resource_rule, stack_rule
from policies.rules.tokens import ECS_SERVICE, LAMBDA_FUNCTION, LOAD_BALANCERS

SECURITY_GROUPS = ("aws:ec2/securityGroup:SecurityGroup", "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup")
INGRESS_RULES = ("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
                 "aws:ec2/securityGroupRule:SecurityGroupRule")

WORLD_OPEN_PORTS = (80, 443)
REMOTE_ADMIN_PORTS = {22: "SSH", 3389: "RDP"}
COMPUTE_SECURITY_GROUP_PROPS = {
    # type -> (top-level property, path to the list of security group ids)
    ECS_SERVICE: ("networkConfiguration", ("networkConfiguration", "securityGroups")),
    LAMBDA_FUNCTION: ("vpcConfig", ("vpcConfig", "securityGroupIds")),
    "aws:ec2/instance:Instance": ("vpcSecurityGroupIds", ("vpcSecurityGroupIds",)),
    "aws:ec2/launchTemplate:LaunchTemplate": ("vpcSecurityGroupIds", ("vpcSecurityGroupIds",)),
}


@dataclass(frozen=True)
class Ingress:
    protocol: str
    from_port: int
    to_port: int
    sources: tuple[str, ...]
    """CIDR blocks and prefix lists the rule admits (security-group sources are not addresses)."""

    def covers(self, port: int) -> bool:
        if self.protocol in ("-1", "all"):
            return True
        return self.protocol in ("tcp", "6", "udp", "17") and self.from_port <= port <= self.to_port

    @property
    def single_port(self) -> int | None:
        return self.from_port if self.from_port == self.to_port else None

    @property
    def world_open(self) -> bool:
        return any(_is_world(s) for s in self.sources)

    @property
    def ports(self) -> str:
        if self.protocol in ("-1", "all"):
            return "all traffic"
        return f"{self.protocol} {self.from_port}" + (f"-{self.to_port}" if self.to_port != self.from_port else "")


def _is_world(source: str) -> bool:
    try:
        return ipaddress.ip_network(source, strict=False).prefixlen == 0
    except ValueError:
        return False


def ingress_rules(type_: str, props: Mapping[str, Any]) -> list[Ingress]:
    """The ingress rules a security group, a vpc ingress rule or an ec2 security group rule declares."""
    def make(protocol, from_port, to_port, *sources) -> Ingress | None:
        if not all(known(v) for v in (protocol, from_port, to_port)):
            return None
        low, high = _number(from_port), _number(to_port)
        low, high = (0 if low is None else int(low)), (65535 if high is None else int(high))
        flat = tuple(s for group in sources for s in _as_list(group) if isinstance(s, str))
        return Ingress(str(protocol).lower(), max(low, 0), high if high >= 0 else 65535, flat)

    rules: list[Ingress | None] = []
    if type_ in SECURITY_GROUPS:
        rules = [make(i.get("protocol"), i.get("fromPort"), i.get("toPort"), i.get("cidrBlocks"),
                      i.get("ipv6CidrBlocks"), i.get("prefixListIds"))
                 for i in _as_list(props.get("ingress")) if isinstance(i, Mapping)]
    elif type_ == "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule":
        rules = [make(props.get("ipProtocol"), props.get("fromPort"), props.get("toPort"), props.get("cidrIpv4"),
                      props.get("cidrIpv6"), props.get("prefixListId"))]
    elif type_ == "aws:ec2/securityGroupRule:SecurityGroupRule" and props.get("type") == "ingress":
        rules = [make(props.get("protocol"), props.get("fromPort"), props.get("toPort"), props.get("cidrBlocks"),
                      props.get("ipv6CidrBlocks"), props.get("prefixListIds"))]
    return [r for r in rules if r is not None]


@resource_rule("security-group-no-remote-admin",
               "No SSH (22) or RDP (3389) ingress from any address range: use SSM Session Manager or ECS Exec",
               *SECURITY_GROUPS, *INGRESS_RULES)
def security_group_no_remote_admin(type_: str, props: Mapping[str, Any]) -> Iterable[str]:
    for rule in ingress_rules(type_, props):
        for port, service in REMOTE_ADMIN_PORTS.items():
            if rule.sources and rule.covers(port):
                yield f"{service} (port {port}) open to {', '.join(rule.sources)} ({rule.ports})"


@resource_rule("security-group-rules-as-resources",
               "Security group rules only as SecurityGroupIngressRule/EgressRule resources: inline ingress/egress "
               "(even empty lists) makes the provider overwrite the separate rules after a refresh",
               "aws:ec2/securityGroup:SecurityGroup")
def security_group_rules_as_resources(type_: str, props: Mapping[str, Any]) -> Iterable[str]:
    for direction in ("ingress", "egress"):
        if direction in props:
            yield f"inline {direction} ({len(_as_list(props[direction]))} rules) beside rule resources"


@stack_rule("security-group-no-public-ingress",
            "No ingress from 0.0.0.0/0 or ::/0, except HTTP (80) and HTTPS (443) on load-balancer groups")
def security_group_no_public_ingress(stack: Stack) -> Iterable[Finding]:
    load_balancer_groups = load_balancer_security_groups(stack)
    for resource in stack.of_type(*SECURITY_GROUPS, *INGRESS_RULES):
        if resource.type in SECURITY_GROUPS:
            groups = [resource]
        else:
            group_id = resource.props.get("securityGroupId")
            groups = stack.targets(resource, "securityGroupId", group_id, SECURITY_GROUPS)
            if not groups and not known(group_id):
                continue  # which group it opens cannot be told yet
        is_load_balancer = bool(groups) and all(g in load_balancer_groups for g in groups)
        for rule in ingress_rules(resource.type, resource.props):
            if not rule.world_open:
                continue
            web_port = rule.protocol in ("tcp", "6") and rule.single_port in WORLD_OPEN_PORTS
            if web_port and is_load_balancer:
                continue
            where = "a load-balancer group (only 80 and 443 may be)" if is_load_balancer else (
                "a group that is not a load-balancer group of this stack")
            yield Finding(resource, f"{rule.ports} open to the internet on {where}")


def load_balancer_security_groups(stack: Stack) -> list[Resource]:
    """Groups of the stack that front load balancers: tagged role=load-balancer or attached to a load balancer
    of the stack, and attached to no compute (task, function, instance) of the stack."""
    tagged = [g for g in stack.of_type(*SECURITY_GROUPS) if _tags(g.props).get("role") == "load-balancer"]
    attached = [g for lb in stack.of_type(*LOAD_BALANCERS)
                for g in stack.targets(lb, "securityGroups", lb.props.get("securityGroups"), SECURITY_GROUPS)]
    compute = []
    for type_, (prop, path) in COMPUTE_SECURITY_GROUP_PROPS.items():
        for resource in stack.of_type(type_):
            value: Any = resource.props
            for key in path:
                value = value.get(key) if isinstance(value, Mapping) else None
            compute += stack.targets(resource, prop, value, SECURITY_GROUPS)
    return [g for g in {id(g): g for g in tagged + attached}.values() if g not in compute]
