"""ServiceDiscovery: tasks of one ECS service that find and reach each other, through AWS Cloud Map.

A private DNS namespace in the VPC (a Route 53 private hosted zone that only the VPC resolves) and one Cloud
Map service in it: ECS registers each task's IP address as an A record of ``<service>.<namespace>`` and
removes it when the task stops, with multivalue answers (up to eight healthy addresses) and a short TTL, so a
new task is found within seconds. Health is ECS's to report (a custom health check: the container's own
health check decides), so a task that is still starting is not handed out yet.

Finding each other is half of it: the network's app group admits only the load balancers. A group of the
tasks' own lets them reach one another on the one port they listen on, and nothing else.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import pulumi
import pulumi_aws as aws

from components.args import Args, Port, Text, Whole, required, setting, wiring

DNS_LABEL = r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?"
NAMESPACE = Text(rf"{DNS_LABEL}(\.{DNS_LABEL})+", "a private DNS name of two or more labels, e.g. chain.internal "
                                                  "(lowercase letters, digits and -)", max_length=253)
SERVICE_NAME = Text(DNS_LABEL, "a DNS label: 1 to 63 lowercase letters, digits and - (not first or last)")


@dataclass(frozen=True)
class ServiceDiscoveryArgs(Args):
    vpc_id: pulumi.Input[str] = wiring("The VPC whose DNS resolves the namespace.")
    namespace: str = required(NAMESPACE, "The private DNS namespace, e.g. blockchain.internal.")
    port: int = required(Port(), "The port the tasks listen on and reach each other on.")
    service_name: str = setting("tasks", SERVICE_NAME, "The name tasks register under, in the namespace.")
    ttl_seconds: int = setting(10, Whole(1, 300, "(seconds)"), "How long resolvers cache a task's address.")


class ServiceDiscovery(pulumi.ComponentResource):
    namespace: aws.servicediscovery.PrivateDnsNamespace
    service: aws.servicediscovery.Service
    security_group: aws.ec2.SecurityGroup
    dns_name: str
    """``<service_name>.<namespace>``: what tasks resolve to find each other."""

    def __init__(self, name: str, args: ServiceDiscoveryArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("cloud-patterns:containers:ServiceDiscovery", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.dns_name = f"{args.service_name}.{args.namespace}"
        self.namespace = aws.servicediscovery.PrivateDnsNamespace(
            name, name=args.namespace, vpc=args.vpc_id, description=f"Tasks of {name} find each other", opts=child)
        self.service = aws.servicediscovery.Service(
            name, name=args.service_name, description=f"The running tasks of {name}",
            dns_config=aws.servicediscovery.ServiceDnsConfigArgs(
                namespace_id=self.namespace.id, routing_policy="MULTIVALUE",
                dns_records=[aws.servicediscovery.ServiceDnsConfigDnsRecordArgs(ttl=args.ttl_seconds, type="A")]),
            health_check_custom_config=aws.servicediscovery.ServiceHealthCheckCustomConfigArgs(),
            force_destroy=True,  # instances are ECS's tasks: ECS deregisters them, nothing else is lost
            opts=child)
        self.security_group = aws.ec2.SecurityGroup(
            f"{name}-peers", vpc_id=args.vpc_id, description=f"Tasks of {name}: each other on port {args.port}",
            tags={"role": "peers"}, opts=child)
        peers = pulumi.ResourceOptions(parent=self.security_group)
        aws.vpc.SecurityGroupIngressRule(
            f"{name}-peers-in", security_group_id=self.security_group.id, ip_protocol="tcp", from_port=args.port,
            to_port=args.port, referenced_security_group_id=self.security_group.id, description="from peer tasks",
            opts=peers)
        aws.vpc.SecurityGroupEgressRule(
            f"{name}-peers-out", security_group_id=self.security_group.id, ip_protocol="tcp", from_port=args.port,
            to_port=args.port, referenced_security_group_id=self.security_group.id, description="to peer tasks",
            opts=peers)
        self.register_outputs({"dns_name": self.dns_name, "namespace_id": self.namespace.id,
                               "service_arn": self.service.arn, "security_group_id": self.security_group.id})
