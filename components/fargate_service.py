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

from components import alarms
from components.args import Args, Boolean, InvalidArgument, Port, Whole, setting, wiring


@dataclass(frozen=True)
class FargateServiceArgs(Args):
    cluster_arn: pulumi.Input[str] = wiring("The ECS cluster to run in.")
    task_definition_arn: pulumi.Input[str] = wiring("The task definition (revision) the service runs.")
    subnet_ids: pulumi.Input[Sequence[str]] = wiring("Where tasks run (the network's task_subnet_ids).")
    security_group_ids: pulumi.Input[Sequence[str]] = wiring("The tasks' groups (the network's app group).")
    assign_public_ip: pulumi.Input[bool] = wiring(
        "Only where the subnets have no NAT (dev); the security group still admits only the load balancer.",
        default=False)
    desired_count: int = setting(2, Whole(0, 1000), "Tasks to run (at creation only when auto_scaled).")
    target_group_arn: Optional[pulumi.Input[str]] = wiring("The load balancer's target group; None: no load "
                                                           "balancer.", default=None)
    container_name: Optional[str] = wiring("The container (and port) the load balancer sends traffic to.",
                                           default=None)
    container_port: Optional[int] = wiring("The port of that container.", default=None)
    health_check_grace_period_seconds: int = setting(60, Whole(0, 7200), "How long a new task may fail load "
                                                     "balancer health checks while it starts.")
    minimum_healthy_percent: int = setting(100, Whole(0, 100), "Tasks kept healthy during a deploy (% of desired).")
    maximum_percent: int = setting(200, Whole(100, 200), "Tasks allowed during a deploy (% of desired).")
    auto_scaled: bool = setting(False, Boolean(), "App Auto Scaling owns the task count: desired_count applies at "
                                                  "creation only, so a later deploy does not put the count back.")
    wait_for: Sequence[pulumi.Resource] = wiring(
        "Resources the service must wait for, e.g. the load balancer's listeners (ECS refuses a target group that "
        "no listener uses yet).", default=())
    alarm_topic_arn: Optional[pulumi.Input[str]] = wiring(
        "The environment's alarm topic: an alarm when fewer than minimum_running tasks run; None: none.",
        default=None)
    minimum_running: int = setting(1, Whole(1, 1000), "Running tasks below which the service alarms.")
    registry_arn: Optional[pulumi.Input[str]] = wiring("A Cloud Map service ECS registers each task's address "
                                                       "in; None: none.", default=None)

    def check(self) -> None:
        if self.target_group_arn is not None:
            if not self.container_name:
                raise InvalidArgument("container_name", self.container_name,
                                      "the name of the container the load balancer targets")
            Port().check("container_port", self.container_port)


class FargateService(pulumi.ComponentResource):
    service: aws.ecs.Service
    alarms: list[aws.cloudwatch.MetricAlarm]

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
            service_registries=None if args.registry_arn is None else aws.ecs.ServiceServiceRegistriesArgs(
                registry_arn=args.registry_arn),
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(args.wait_for),
                                        ignore_changes=["desiredCount"] if args.auto_scaled else None))
        cluster_name = pulumi.Output.from_input(args.cluster_arn).apply(lambda arn: arn.split("/")[-1])
        self.alarms = [] if args.alarm_topic_arn is None else [alarms.running_tasks_alarm(
            name, self, args.alarm_topic_arn, cluster_name, self.service.name, args.minimum_running)]
        self.register_outputs({"service_name": self.service.name})
