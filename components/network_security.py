"""The network's two lines of defence: chained security groups per tier (stateful) and a NACL per subnet tier
(stateless, so every allowed flow needs its return path: the ephemeral ports)."""
from __future__ import annotations

from typing import TYPE_CHECKING

import pulumi
import pulumi_aws as aws

if TYPE_CHECKING:
    from components.network import Network, NetworkArgs

EPHEMERAL_PORTS = (1024, 65535)
ANYWHERE = "0.0.0.0/0"


def chained_security_groups(network: Network, name: str, tags: dict) -> tuple[aws.ec2.SecurityGroup, ...]:
    """Load balancers (80 and 443 from anywhere, out to the app group only) → application tasks (the app port
    from the load balancers only; out on 443 and to the data group) → data stores (the data port from the app
    group only), each rule its own resource (never inline rules, which would overwrite them)."""
    args = network.args
    child = pulumi.ResourceOptions(parent=network)
    lb = aws.ec2.SecurityGroup(
        f"{name}-lb", vpc_id=network.vpc.id, description="Load balancers: HTTP and HTTPS from anywhere",
        tags={**tags, "tier": "public", "role": "load-balancer"}, opts=child)
    app = aws.ec2.SecurityGroup(
        f"{name}-app", vpc_id=network.vpc.id,
        description=f"Application tasks: port {args.app_port} from the load balancers only",
        tags={**tags, "tier": "private", "role": "app"}, opts=child)
    data = aws.ec2.SecurityGroup(
        f"{name}-data", vpc_id=network.vpc.id,
        description=f"Data stores: port {args.data_port} from the application tasks only",
        tags={**tags, "tier": "isolated", "role": "data"}, opts=child)

    def ingress(rule: str, group, port: int, description: str, **source) -> None:
        aws.vpc.SecurityGroupIngressRule(f"{name}-{rule}", security_group_id=group.id, ip_protocol="tcp",
                                         from_port=port, to_port=port, description=description, **source,
                                         opts=pulumi.ResourceOptions(parent=group))

    def egress(rule: str, group, port: int, description: str, **destination) -> None:
        aws.vpc.SecurityGroupEgressRule(f"{name}-{rule}", security_group_id=group.id, ip_protocol="tcp",
                                        from_port=port, to_port=port, description=description, **destination,
                                        opts=pulumi.ResourceOptions(parent=group))

    for port in (80, 443):
        ingress(f"lb-in-{port}-ipv4", lb, port, "clients (IPv4)", cidr_ipv4=ANYWHERE)
        ingress(f"lb-in-{port}-ipv6", lb, port, "clients (IPv6)", cidr_ipv6="::/0")
    egress("lb-out-app", lb, args.app_port, "to application tasks", referenced_security_group_id=app.id)
    ingress("app-in-lb", app, args.app_port, "from load balancers", referenced_security_group_id=lb.id)
    egress("app-out-https", app, 443, "AWS APIs, ECR and HTTPS dependencies", cidr_ipv4=ANYWHERE)
    egress("app-out-data", app, args.data_port, "to data stores", referenced_security_group_id=data.id)
    ingress("data-in-app", data, args.data_port, "from application tasks", referenced_security_group_id=app.id)
    return lb, app, data


def tier_network_acls(network: Network, name: str, tags: dict) -> dict[str, aws.ec2.NetworkAcl]:
    """Stateless second line of defence; every allowed flow needs its return path (ephemeral ports).

    Where tasks run in public subnets (no NAT), the public NACL denies the app and data ports from the
    internet before the ephemeral-ports rule that would otherwise admit them. With NAT the denies are left
    out on purpose: the public tier then holds only load balancers (listening on 80 and 443) and NAT gateways,
    which translate outbound connections to source ports anywhere in 1024-65535, so a stateless deny of port
    8080 or 5432 would drop the replies to one connection in about 32,000."""
    args = network.args
    vpc = args.cidr
    # Data stores (isolated tier) are reached from wherever tasks run: the private tier with NAT, the public
    # tier without (dev); the public tier's egress to ephemeral ports already covers the data port.
    task_tier = args.task_subnet_tier
    rules = {
        "public": {
            "ingress": [(80, 80, ANYWHERE), (443, 443, ANYWHERE), (args.app_port, args.app_port, vpc),
                        (*EPHEMERAL_PORTS, ANYWHERE)],
            "egress": [(80, 80, ANYWHERE), (443, 443, ANYWHERE), (args.app_port, args.app_port, vpc),
                       (*EPHEMERAL_PORTS, ANYWHERE)],
        },
        "private": {
            "ingress": [(args.app_port, args.app_port, vpc), (*EPHEMERAL_PORTS, ANYWHERE)],
            "egress": [(443, 443, ANYWHERE), (args.data_port, args.data_port, vpc), (*EPHEMERAL_PORTS, vpc)],
        },
        "isolated": {
            "ingress": [(args.data_port, args.data_port, args.tier_block(task_tier))],
            "egress": [(*EPHEMERAL_PORTS, vpc)],
        },
    }
    acls = {}
    for tier, subnets in network.subnets.items():
        public_tasks = tier == "public" == args.task_subnet_tier  # tasks with public IPs
        acl = aws.ec2.NetworkAcl(f"{name}-{tier}", vpc_id=network.vpc.id, subnet_ids=[s.id for s in subnets],
                                 tags={**tags, "Name": f"{name}-{tier}", "tier": tier,
                                       **_task_tags(network.args, public_tasks)},
                                 opts=pulumi.ResourceOptions(parent=network))
        for direction, entries in rules[tier].items():
            for n, (from_port, to_port, cidr) in enumerate(entries, start=1):
                aws.ec2.NetworkAclRule(
                    f"{name}-{tier}-{direction}-{n * 100}", network_acl_id=acl.id, rule_number=n * 100,
                    egress=direction == "egress", protocol="tcp", rule_action="allow",
                    cidr_block=cidr, from_port=from_port, to_port=to_port,
                    opts=pulumi.ResourceOptions(parent=acl))
        if public_tasks:
            _deny_internet_to_task_ports(network.args, name, tier, acl, before=len(rules[tier]["ingress"]) * 100)
        acls[tier] = acl
    return acls

def _task_tags(args: NetworkArgs, public_tasks: bool) -> dict[str, str]:
    """Read by the policy rule that keeps the app and data ports closed to the internet where tasks run with
    public IPs (private subnets have no route from the internet)."""
    if not public_tasks:
        return {}
    return {"public-tasks": "true", "app-port": str(args.app_port), "data-port": str(args.data_port)}

def _deny_internet_to_task_ports(args: NetworkArgs, name: str, tier: str, acl: aws.ec2.NetworkAcl,
                                 before: int) -> None:
    """Denies numbered just below the rule ``before`` (the ephemeral ports), after the allows from the VPC."""
    number = before - 50
    for port_name, port in (("app", args.app_port), ("data", args.data_port)):
        for family, source in (("ipv4", {"cidr_block": ANYWHERE}), ("ipv6", {"ipv6_cidr_block": "::/0"})):
            aws.ec2.NetworkAclRule(
                f"{name}-{tier}-ingress-deny-{port_name}-{family}", network_acl_id=acl.id, rule_number=number,
                egress=False, protocol="tcp", rule_action="deny", from_port=port, to_port=port, **source,
                opts=pulumi.ResourceOptions(parent=acl))
            number += 10
