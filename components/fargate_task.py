"""FargateTask: a Fargate task definition with its two roles and its log group, and the ECS cluster helper.

Shared by every container pattern. The execution role (used by ECS to start the task) may pull only the
named image repositories, write only to the task's log group and read only the named secrets; the task
role (used by the code) holds exactly the statements the pattern passes in. Every container logs to
CloudWatch through awslogs.
"""
from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Optional

import pulumi
import pulumi_aws as aws

from components import iam, validation
from components.args import Args, OneOf, Retention, Whole, setting, wiring
from components.logs import log_group
from service_limits import FARGATE_SIZES

DEPENDENCY_CONDITIONS = ("START", "COMPLETE", "SUCCESS", "HEALTHY")
CPU_ARCHITECTURES = ("X86_64", "ARM64")


@dataclass(frozen=True)
class ContainerSpec:
    """One container of the task. Ports are TCP; containers of a task talk over localhost."""

    name: str
    image: pulumi.Input[str]
    port: Optional[int] = None
    cpu: int = 0
    """CPU units reserved for this container (the task's total is shared when 0)."""
    memory_mb: Optional[int] = None
    """Hard memory limit; the container is killed above it."""
    memory_reservation_mb: Optional[int] = None
    """Soft reservation; counts towards the task size."""
    essential: bool = True
    environment: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    secrets: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    """Environment variable -> Secrets Manager secret ARN, or one JSON key of it (``<arn>:<key>::``); injected by
    ECS, never in plaintext. The execution role may read exactly those secrets (by their ARN, without the key)."""
    command: Sequence[str] = ()
    health_check: Optional[Sequence[str]] = None
    """Docker health check command, e.g. ["CMD-SHELL", "curl -fs localhost:8080/healthz || exit 1"]."""
    depends_on: Mapping[str, str] = field(default_factory=dict)
    """Container name -> condition (START, COMPLETE, SUCCESS, HEALTHY)."""
    read_only_root_filesystem: bool = False
    user: Optional[str] = None

    @property
    def reserved_memory_mb(self) -> int:
        return self.memory_reservation_mb or self.memory_mb or 0


@dataclass(frozen=True)
class FargateTaskArgs(Args):
    containers: Sequence[ContainerSpec] = wiring("The task's containers (at least one essential; unique names).")
    cpu: int = setting(256, OneOf(*FARGATE_SIZES), "Task CPU units (256 = 0.25 vCPU).")
    memory_mb: int = setting(1024, Whole(512, 122880), "Task memory (MiB), a size Fargate offers for cpu.")
    cpu_architecture: str = setting("X86_64", OneOf(*CPU_ARCHITECTURES), "The tasks' CPU architecture.")
    task_policy_statements: Sequence[iam.Statement] = wiring("What the containers' code may do.", default=())
    image_repository_arns: Sequence[pulumi.Input[str]] = wiring("ECR repositories the execution role may pull from.",
                                                                default=())
    log_retention_days: int = setting(30, Retention(), "Retention of the task's log group.")

    def check(self) -> None:
        validation.fargate_size("cpu", self.cpu, "memory_mb", self.memory_mb)
        if not self.containers:
            raise validation.InvalidArgument("containers", [], "at least one container")
        names = [c.name for c in self.containers]
        if len(set(names)) != len(names):
            raise validation.InvalidArgument("containers", names, "unique container names")
        if not any(c.essential for c in self.containers):
            raise validation.InvalidArgument("containers", names, "at least one essential container")
        by_name = {c.name: c for c in self.containers}
        for c in self.containers:
            if c.port is not None:
                validation.port(f"containers.{c.name}.port", c.port)
            for other, condition in c.depends_on.items():
                validation.one_of(f"containers.{c.name}.depends_on", other, [n for n in names if n != c.name])
                validation.one_of(f"containers.{c.name}.depends_on.{other}", condition, DEPENDENCY_CONDITIONS)
                if condition == "HEALTHY" and by_name[other].health_check is None:
                    raise validation.InvalidArgument(f"containers.{c.name}.depends_on.{other}", condition,
                                                     f"START or COMPLETE, unless {other} has a health_check")
            if c.memory_mb and c.memory_reservation_mb and c.memory_reservation_mb > c.memory_mb:
                raise validation.InvalidArgument(f"containers.{c.name}.memory_reservation_mb",
                                                 c.memory_reservation_mb, f"at most memory_mb ({c.memory_mb})")
        used_cpu = sum(c.cpu for c in self.containers)
        if used_cpu > self.cpu:
            raise validation.InvalidArgument("containers.cpu", used_cpu,
                                             f"a sum of container cpu of at most the task's {self.cpu}")
        used_memory = sum(c.reserved_memory_mb for c in self.containers)
        if used_memory > self.memory_mb:
            raise validation.InvalidArgument("containers.memory", used_memory,
                                             f"a sum of container memory of at most the task's {self.memory_mb} MiB")


def ecs_cluster(name: str, parent: pulumi.Resource) -> aws.ecs.Cluster:
    """An ECS cluster with Container Insights (clusters themselves cost nothing)."""
    return aws.ecs.Cluster(name, settings=[aws.ecs.ClusterSettingArgs(name="containerInsights", value="enabled")],
                           opts=pulumi.ResourceOptions(parent=parent))


class FargateTask(pulumi.ComponentResource):
    task_definition: aws.ecs.TaskDefinition
    execution_role: aws.iam.Role
    task_role: aws.iam.Role
    log_group: aws.cloudwatch.LogGroup

    def __init__(self, name: str, args: FargateTaskArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("cloud-patterns:containers:FargateTask", name, None, opts)
        self.args = args
        self.log_group = log_group(f"{name}-logs", args.log_retention_days, self)
        self.execution_role = iam.service_role(
            f"{name}-execution", "ecs-tasks.amazonaws.com", self._execution_policy(), self,
            f"Starts {name} tasks: pulls its images, writes its logs, reads its secrets")
        self.task_role = iam.service_role(
            f"{name}-task", "ecs-tasks.amazonaws.com",
            iam.policy_document(args.task_policy_statements, self) if args.task_policy_statements else None,
            self, f"What the code of {name} tasks may do",
            source_arns=[iam.arn_of("ecs", "*", self)])  # ECS names the task acting (its ARN) when it assumes the role
        region = aws.get_region().region
        definitions = pulumi.Output.all(self.log_group.name, *[self._container(c) for c in args.containers]).apply(
            lambda values: json.dumps([_with_logging(d, values[0], region) for d in values[1:]]))
        self.task_definition = aws.ecs.TaskDefinition(
            name, family=name, network_mode="awsvpc", requires_compatibilities=["FARGATE"],
            cpu=str(args.cpu), memory=str(args.memory_mb),
            runtime_platform=aws.ecs.TaskDefinitionRuntimePlatformArgs(
                operating_system_family="LINUX", cpu_architecture=args.cpu_architecture),
            execution_role_arn=self.execution_role.arn, task_role_arn=self.task_role.arn,
            container_definitions=definitions,
            opts=pulumi.ResourceOptions(parent=self,
                                        depends_on=[*self.execution_role.permissions, *self.task_role.permissions]))
        self.register_outputs({"task_definition_arn": self.task_definition.arn,
                               "family": self.task_definition.family, "log_group_name": self.log_group.name})

    def _execution_policy(self) -> pulumi.Output[str]:
        statements = [
            iam.statement(["logs:CreateLogStream", "logs:PutLogEvents"],
                          [pulumi.Output.concat(self.log_group.arn, ":*")], sid="WriteTaskLogs")]
        if self.args.image_repository_arns:
            statements += [
                # GetAuthorizationToken is account-wide by design: it has no resource to scope to.
                iam.statement(["ecr:GetAuthorizationToken"], ["*"], sid="LogInToEcr"),
                iam.statement(["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
                              list(self.args.image_repository_arns), sid="PullTaskImages")]
        secret_arns = [secret_arn(value) for c in self.args.containers for value in c.secrets.values()]
        if secret_arns:
            statements.append(iam.statement(["secretsmanager:GetSecretValue"], secret_arns, sid="ReadTaskSecrets"))
        return iam.policy_document(statements, self)

    @staticmethod
    def _container(c: ContainerSpec) -> pulumi.Output[dict[str, Any]]:
        definition: dict[str, Any] = {
            "name": c.name, "image": c.image, "essential": c.essential, "cpu": c.cpu,
            "environment": [{"name": k, "value": v} for k, v in sorted(c.environment.items())],
            "secrets": [{"name": k, "valueFrom": v} for k, v in sorted(c.secrets.items())],
            "portMappings": [{"containerPort": c.port, "protocol": "tcp"}] if c.port else [],
            "readonlyRootFilesystem": c.read_only_root_filesystem,
        }
        optional = {"memory": c.memory_mb, "memoryReservation": c.memory_reservation_mb, "user": c.user,
                    "command": list(c.command) or None,
                    "dependsOn": [{"containerName": n, "condition": cond} for n, cond in c.depends_on.items()] or None,
                    "healthCheck": {"command": list(c.health_check), "interval": 15, "timeout": 5, "retries": 3,
                                    "startPeriod": 10} if c.health_check else None}
        definition.update({k: v for k, v in optional.items() if v is not None})
        return pulumi.Output.from_input(definition)


def secret_arn(value_from: pulumi.Input[str]) -> pulumi.Output[str]:
    """The secret's ARN in an ECS ``valueFrom`` that may name a JSON key, stage or version after it
    (``arn:aws:secretsmanager:<region>:<account>:secret:<name>[:<key>:<stage>:<version>]``): IAM grants the ARN."""
    return pulumi.Output.from_input(value_from).apply(lambda v: ":".join(v.split(":")[:7]))


def _with_logging(definition: dict, group: str, region: str) -> dict:
    return {**definition, "logConfiguration": {"logDriver": "awslogs", "options": {
        "awslogs-group": group, "awslogs-region": region, "awslogs-stream-prefix": definition["name"]}}}
