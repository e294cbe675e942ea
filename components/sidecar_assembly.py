"""SidecarAssembly: one Fargate service whose task runs a main container and its sidecars.

Sidecars carry what is orthogonal to the service (authentication, proxying, logging, monitoring) in
their own containers, in any language: co-located with the main container, sharing its network
(localhost) and its lifecycle, isolated from its code. Every container declares its own cpu and memory
reservation, and together they must fit the task size; startup order follows ``depends_on``
(``HEALTHY`` waits for a container's health check). One container, the ingress, takes the load
balancer's traffic; the others should listen on 127.0.0.1 only.

Given the environment's alarm topic, the service alarms when fewer than ``minimum_running`` tasks run, and
an EventBridge rule reports every task of the cluster that stops with a container exited non-zero.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Optional

import pulumi
import pulumi_aws as aws

from components import alarms, iam
from components.args import Args, InvalidArgument, OneOf, Whole, like, setting, wiring
from components.fargate_service import FargateService, FargateServiceArgs
from components.fargate_task import ContainerSpec, FargateTask, FargateTaskArgs, ecs_cluster
from service_limits import FARGATE_SIZES


@dataclass(frozen=True)
class SidecarAssemblyArgs(Args):
    main: ContainerSpec = wiring("The service's own container (essential: the task exists for it).")
    subnet_ids: pulumi.Input[Sequence[str]] = like(FargateServiceArgs, "subnet_ids")
    security_group_ids: pulumi.Input[Sequence[str]] = like(FargateServiceArgs, "security_group_ids")
    cluster_arn: Optional[pulumi.Input[str]] = wiring("The ECS cluster to run in; None creates one for this "
                                                      "service.", default=None)
    sidecars: Sequence[ContainerSpec] = wiring("Containers deployed with the main one, in the same task.", default=())
    ingress_container: Optional[str] = wiring("The container (by name, with a port) the load balancer sends "
                                              "traffic to; the main one when None.", default=None)
    cpu: int = setting(512, OneOf(*FARGATE_SIZES), "Task CPU units (256 = 0.25 vCPU), shared out by the "
                                                   "containers' own cpu.")
    memory_mb: int = setting(1024, Whole(512, 122880), "Task memory (MiB), a size Fargate offers for cpu; the "
                                                       "containers' own memory must fit in it.")
    cpu_architecture: str = like(FargateTaskArgs, "cpu_architecture")
    assign_public_ip: pulumi.Input[bool] = like(FargateServiceArgs, "assign_public_ip")
    desired_count: int = like(FargateServiceArgs, "desired_count", doc="Tasks to run.")
    target_group_arn: Optional[pulumi.Input[str]] = like(FargateServiceArgs, "target_group_arn")
    wait_for: Sequence[pulumi.Resource] = like(FargateServiceArgs, "wait_for")
    health_check_grace_period_seconds: int = like(FargateServiceArgs, "health_check_grace_period_seconds")
    task_policy_statements: Sequence[iam.Statement] = like(FargateTaskArgs, "task_policy_statements")
    image_repository_arns: Sequence[pulumi.Input[str]] = like(FargateTaskArgs, "image_repository_arns")
    log_retention_days: int = like(FargateTaskArgs, "log_retention_days")
    alarm_topic_arn: Optional[pulumi.Input[str]] = wiring(
        "The environment's alarm topic: running tasks below minimum_running, and tasks that stop with a failed "
        "container; None: no alarms.", default=None)
    minimum_running: int = like(FargateServiceArgs, "minimum_running")

    @property
    def containers(self) -> list[ContainerSpec]:
        return [self.main, *self.sidecars]

    @property
    def ingress(self) -> ContainerSpec:
        name = self.ingress_container or self.main.name
        return next(c for c in self.containers if c.name == name)

    def check(self) -> None:
        names = [c.name for c in self.containers]
        if not self.main.essential:
            raise InvalidArgument(f"containers.{self.main.name}.essential", False,
                                  "true: the task exists for its main container")
        for c in self.containers:
            # Explicit reservations, so one container cannot starve the others of the task's share.
            if not isinstance(c.cpu, int) or isinstance(c.cpu, bool) or c.cpu <= 0:
                raise InvalidArgument(f"containers.{c.name}.cpu", c.cpu,
                                      "a positive number of CPU units reserved for this container")
            if c.reserved_memory_mb <= 0:
                raise InvalidArgument(f"containers.{c.name}.memory_mb", c.reserved_memory_mb,
                                      "a positive number of MiB reserved for this container")
        ports = [c.port for c in self.containers if c.port is not None]
        if len(set(ports)) != len(ports):
            raise InvalidArgument("containers.port", ports,
                                  "distinct ports: the containers of a task share one network namespace")
        OneOf(*names).check("ingress_container", self.ingress_container or self.main.name)
        if self.target_group_arn is not None and self.ingress.port is None:
            raise InvalidArgument(f"containers.{self.ingress.name}.port", None,
                                  "the port the load balancer sends traffic to")
        if 0 < self.desired_count < self.minimum_running:
            raise InvalidArgument("minimum_running", self.minimum_running,
                                  f"at most desired_count ({self.desired_count}): the alarm would never clear")
        self.task_args()  # the task's own checks: size combination, sums, dependsOn, unique names

    def task_args(self) -> FargateTaskArgs:
        return FargateTaskArgs(
            containers=self.containers, cpu=self.cpu, memory_mb=self.memory_mb,
            cpu_architecture=self.cpu_architecture, task_policy_statements=self.task_policy_statements,
            image_repository_arns=self.image_repository_arns, log_retention_days=self.log_retention_days)


class SidecarAssembly(pulumi.ComponentResource):
    cluster_arn: pulumi.Input[str]
    task: FargateTask
    service: FargateService
    failed_tasks: Optional[aws.cloudwatch.EventRule]
    """The rule that reports tasks stopped with a failed container (with the alarm topic)."""
    alarms: list[aws.cloudwatch.MetricAlarm]

    def __init__(self, name: str, args: SidecarAssemblyArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("cloud-patterns:containers:SidecarAssembly", name, None, opts)
        self.cluster_arn = args.cluster_arn if args.cluster_arn is not None else ecs_cluster(name, self).arn
        child = pulumi.ResourceOptions(parent=self)
        self.task = FargateTask(name, args.task_args(), opts=child)
        routed = args.target_group_arn is not None
        self.service = FargateService(name, FargateServiceArgs(
            cluster_arn=self.cluster_arn, task_definition_arn=self.task.task_definition.arn,
            subnet_ids=args.subnet_ids, security_group_ids=args.security_group_ids,
            assign_public_ip=args.assign_public_ip, desired_count=args.desired_count,
            target_group_arn=args.target_group_arn,
            container_name=args.ingress.name if routed else None,
            container_port=args.ingress.port if routed else None,
            health_check_grace_period_seconds=args.health_check_grace_period_seconds,
            wait_for=args.wait_for, alarm_topic_arn=args.alarm_topic_arn,
            minimum_running=args.minimum_running), opts=child)
        self.alarms = list(self.service.alarms)
        self.failed_tasks = None if args.alarm_topic_arn is None else alarms.failed_task_rule(
            f"{name}-failed-tasks", self, args.alarm_topic_arn, self.cluster_arn)
        self.register_outputs({"service_name": self.service.service.name,
                               "task_definition_arn": self.task.task_definition.arn,
                               "log_group_name": self.task.log_group.name})
