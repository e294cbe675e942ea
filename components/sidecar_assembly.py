"""SidecarAssembly: one Fargate service whose task runs a main container and its sidecars.

Sidecars carry what is orthogonal to the service (authentication, proxying, logging, monitoring) in
their own containers, in any language: co-located with the main container, sharing its network
(localhost) and its lifecycle, isolated from its code. Every container declares its own cpu and memory
reservation, and together they must fit the task size; startup order follows ``depends_on``
(``HEALTHY`` waits for a container's health check). One container, the ingress, takes the load
balancer's traffic; the others should listen on 127.0.0.1 only.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Optional

import pulumi

from components import iam, validation
from components.fargate_service import FargateService, FargateServiceArgs
from components.fargate_task import ContainerSpec, FargateTask, FargateTaskArgs, ecs_cluster


@dataclass(frozen=True)
class SidecarAssemblyArgs:
    main: ContainerSpec
    """The service itself."""
    subnet_ids: pulumi.Input[Sequence[str]]
    security_group_ids: pulumi.Input[Sequence[str]]
    cluster_arn: Optional[pulumi.Input[str]] = None
    """The ECS cluster to run in; None creates one for this service."""
    sidecars: Sequence[ContainerSpec] = ()
    """Containers deployed with the main one, in the same task."""
    ingress_container: Optional[str] = None
    """The container (by name, with a port) the load balancer sends traffic to; the main one when None."""
    cpu: int = 256
    """Task CPU units, shared out by the containers' own ``cpu``."""
    memory_mb: int = 512
    cpu_architecture: str = "X86_64"
    assign_public_ip: pulumi.Input[bool] = False
    desired_count: int = 2
    target_group_arn: Optional[pulumi.Input[str]] = None
    wait_for: Sequence[pulumi.Resource] = ()
    """E.g. the load balancer's listeners: ECS refuses a target group no listener uses yet."""
    health_check_grace_period_seconds: int = 60
    task_policy_statements: Sequence[iam.Statement] = ()
    image_repository_arns: Sequence[pulumi.Input[str]] = ()
    log_retention_days: int = 30

    def __post_init__(self) -> None:
        self.validate()

    @property
    def containers(self) -> list[ContainerSpec]:
        return [self.main, *self.sidecars]

    @property
    def ingress(self) -> ContainerSpec:
        name = self.ingress_container or self.main.name
        return next(c for c in self.containers if c.name == name)

    def validate(self) -> None:
        names = [c.name for c in self.containers]
        if not self.main.essential:
            raise validation.InvalidArgument(f"containers.{self.main.name}.essential", False,
                                             "true: the task exists for its main container")
        for c in self.containers:
            # Explicit reservations, so one container cannot starve the others of the task's share.
            if not isinstance(c.cpu, int) or isinstance(c.cpu, bool) or c.cpu <= 0:
                raise validation.InvalidArgument(f"containers.{c.name}.cpu", c.cpu,
                                                 "a positive number of CPU units reserved for this container")
            if c.reserved_memory_mb <= 0:
                raise validation.InvalidArgument(f"containers.{c.name}.memory_mb", c.reserved_memory_mb,
                                                 "a positive number of MiB reserved for this container")
        ports = [c.port for c in self.containers if c.port is not None]
        if len(set(ports)) != len(ports):
            raise validation.InvalidArgument("containers.port", ports,
                                             "distinct ports: the containers of a task share one network namespace")
        validation.one_of("ingress_container", self.ingress_container or self.main.name, names)
        if self.target_group_arn is not None and self.ingress.port is None:
            raise validation.InvalidArgument(f"containers.{self.ingress.name}.port", None,
                                             "the port the load balancer sends traffic to")
        validation.in_range("desired_count", self.desired_count, 0, 1000)
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

    def __init__(self, name: str, args: SidecarAssemblyArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("cloud-patterns:containers:SidecarAssembly", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.cluster_arn = args.cluster_arn if args.cluster_arn is not None else ecs_cluster(name, self).arn
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
            wait_for=args.wait_for), opts=child)
        self.register_outputs({"service_name": self.service.service.name,
                               "task_definition_arn": self.task.task_definition.arn,
                               "log_group_name": self.task.log_group.name})
