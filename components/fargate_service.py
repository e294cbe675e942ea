"""FargateService: an always-on ECS service on Fargate, optionally registered with a load balancer.

Zero-downtime deploys by default (100% healthy minimum, 200% maximum) and the deployment circuit
breaker with rollback, so a release whose tasks never turn healthy rolls itself back.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Optional

import pulumi
import pulumi_aws as aws

from components import validation


@dataclass(frozen=True)
class FargateServiceArgs:
    cluster_arn: pulumi.Input[str]
    task_definition_arn: pulumi.Input[str]
    subnet_ids: pulumi.Input[Sequence[str]]
    security_group_ids: pulumi.Input[Sequence[str]]
    assign_public_ip: pulumi.Input[bool] = False
    """Only where the subnets have no NAT (dev); the security group still admits only the load balancer."""
    desired_count: int = 2
    target_group_arn: Optional[pulumi.Input[str]] = None
    container_name: Optional[str] = None
    """The container (and port) the load balancer sends traffic to."""
    container_port: Optional[int] = None
    health_check_grace_period_seconds: int = 60
    minimum_healthy_percent: int = 100
    maximum_percent: int = 200
    auto_scaled: bool = False
    """App Auto Scaling owns the task count: ``desired_count`` applies at creation only, so a later deploy
    does not put the count back."""
    wait_for: Sequence[pulumi.Resource] = ()
    """Resources the service must wait for, e.g. the load balancer's listeners (ECS refuses a target group
    that no listener uses yet)."""

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        validation.in_range("desired_count", self.desired_count, 0, 1000)
        validation.in_range("minimum_healthy_percent", self.minimum_healthy_percent, 0, 100)
        validation.in_range("maximum_percent", self.maximum_percent, 100, 200)
        validation.in_range("health_check_grace_period_seconds", self.health_check_grace_period_seconds, 0, 2147483647)
        if self.target_group_arn is not None:
            if not self.container_name:
                raise validation.InvalidArgument("container_name", self.container_name,
                                                 "the name of the container the load balancer targets")
            validation.port("container_port", self.container_port)


class FargateService(pulumi.ComponentResource):
    service: aws.ecs.Service

    def __init__(self, name: str, args: FargateServiceArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("cloud-patterns:containers:FargateService", name, None, opts)
        load_balancers = [aws.ecs.ServiceLoadBalancerArgs(
            target_group_arn=args.target_group_arn, container_name=args.container_name,
            container_port=args.container_port)] if args.target_group_arn is not None else None
        self.service = aws.ecs.Service(
            name, cluster=args.cluster_arn, task_definition=args.task_definition_arn, launch_type="FARGATE",
            platform_version="LATEST", desired_count=args.desired_count,
            deployment_minimum_healthy_percent=args.minimum_healthy_percent,
            deployment_maximum_percent=args.maximum_percent,
            deployment_circuit_breaker=aws.ecs.ServiceDeploymentCircuitBreakerArgs(enable=True, rollback=True),
            health_check_grace_period_seconds=args.health_check_grace_period_seconds if load_balancers else None,
            network_configuration=aws.ecs.ServiceNetworkConfigurationArgs(
                subnets=args.subnet_ids, security_groups=args.security_group_ids,
                assign_public_ip=args.assign_public_ip),
            load_balancers=load_balancers, propagate_tags="SERVICE", enable_ecs_managed_tags=True,
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(args.wait_for),
                                        ignore_changes=["desiredCount"] if args.auto_scaled else None))
        self.register_outputs({"service_name": self.service.name})
