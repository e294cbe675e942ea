"""ScalingContainer: an always-on web service on Fargate behind an internet-facing load balancer,
scaled between a minimum and a maximum number of tasks by Application Auto Scaling.

Target tracking on the service's average CPU (the seed's 75 %) and, optionally, on the load balancer's
requests per target. CPU reacts late: by the time a minute of high CPU is seen and a new task has passed
its health checks, the running tasks are saturated and requests fail (5xx). Tracking requests per target
scales out as traffic rises, before CPU saturates; the scaling policy whose metric asks for the most tasks
wins. Deploys keep 100 % of the tasks healthy (up to 200 % running) and roll back on the circuit breaker.

The service's image is built from this project's ``runtime/`` (``dockerfile``); its inputs may come from a
private bucket that the task role may read and nobody else can reach.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Optional

import pulumi
import pulumi_aws as aws

from components import iam, validation
from components.container_image import ContainerImage, ContainerImageArgs
from components.fargate_service import FargateService, FargateServiceArgs
from components.fargate_task import ContainerSpec, FargateTask, FargateTaskArgs, ecs_cluster
from components.load_balancer import TLS12_POLICIES, WebLoadBalancer, WebLoadBalancerArgs
from components.storage import private_bucket

MAX_TASKS = 100


@dataclass(frozen=True)
class ScalingContainerArgs:
    vpc_id: pulumi.Input[str]
    load_balancer_subnet_ids: pulumi.Input[Sequence[str]]
    """Public subnets for the load balancer."""
    load_balancer_security_group_ids: pulumi.Input[Sequence[str]]
    """The network's load-balancer group."""
    task_subnet_ids: pulumi.Input[Sequence[str]]
    task_security_group_ids: pulumi.Input[Sequence[str]]
    """The network's app group: admits only the load balancer's group, on ``container_port``."""
    assign_public_ip: pulumi.Input[bool] = False
    dockerfile: str = "runtime/bean_counter/Dockerfile"
    container_name: str = "app"
    container_port: int = 8080
    command: Sequence[str] = ()
    """Overrides the image's CMD (the arguments after its ENTRYPOINT)."""
    environment: Mapping[str, str] = field(default_factory=dict)
    health_check_path: str = "/healthz"
    cpu: int = 256
    """Task CPU units (256 = 0.25 vCPU)."""
    memory_mb: int = 1024
    cpu_architecture: str = "X86_64"
    desired_count: int = 2
    """Tasks at the first deploy; Auto Scaling owns the count afterwards."""
    min_count: int = 2
    max_count: int = 4
    cpu_target_percent: float = 75.0
    """Average service CPU that target tracking holds the service at."""
    requests_per_target: Optional[int] = None
    """Requests per task per minute (ALBRequestCountPerTarget) to track as well; None: CPU only."""
    scale_out_cooldown_seconds: int = 60
    scale_in_cooldown_seconds: int = 60
    health_check_grace_period_seconds: int = 60
    deregistration_delay_seconds: int = 30
    """How long a task leaving the target group may finish its in-flight requests."""
    idle_timeout_seconds: int = 60
    """The load balancer's idle timeout; the app must keep connections open longer (gunicorn: 75 s)."""
    certificate_arn: Optional[str] = None
    """ACM certificate: HTTPS (TLS 1.2+) with HTTP redirected to it. None: plain HTTP (dev without a domain)."""
    ssl_policy: str = "ELBSecurityPolicy-TLS13-1-2-2021-06"
    deletion_protection: bool = False
    input_bucket: bool = True
    """Create a private bucket the service reads its inputs from (name in the BUCKET variable)."""
    force_destroy: bool = False
    """Let ``destroy`` delete the bucket and the image repository with their contents (dev only)."""
    log_retention_days: int = 30
    keep_images: int = 10

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        validation.fargate_size("cpu", self.cpu, "memory_mb", self.memory_mb)
        validation.port("container_port", self.container_port)
        if not isinstance(self.container_name, str) or not self.container_name:
            raise validation.InvalidArgument("container_name", self.container_name, "a container name")
        validation.whole_number("min_count", self.min_count, 1, MAX_TASKS)
        validation.whole_number("max_count", self.max_count, 1, MAX_TASKS)
        validation.whole_number("desired_count", self.desired_count, 1, MAX_TASKS)
        if self.min_count > self.max_count:
            raise validation.InvalidArgument("min_count", self.min_count, f"at most max_count ({self.max_count})")
        if not self.min_count <= self.desired_count <= self.max_count:
            raise validation.InvalidArgument("desired_count", self.desired_count,
                                             f"from min_count ({self.min_count}) to max_count ({self.max_count})")
        validation.in_range("cpu_target_percent", self.cpu_target_percent, 10, 95)
        if self.requests_per_target is not None:
            validation.whole_number("requests_per_target", self.requests_per_target, 1, 1_000_000)
        validation.whole_number("scale_out_cooldown_seconds", self.scale_out_cooldown_seconds, 0, 3600)
        validation.whole_number("scale_in_cooldown_seconds", self.scale_in_cooldown_seconds, 0, 3600)
        validation.whole_number("health_check_grace_period_seconds", self.health_check_grace_period_seconds, 0, 7200)
        if any(not isinstance(v, str) for v in self.environment.values()):
            raise validation.InvalidArgument("environment", dict(self.environment), "a mapping of names to strings")
        if self.input_bucket and "BUCKET" in self.environment:
            raise validation.InvalidArgument("environment", "BUCKET", "no BUCKET: it names the input bucket")
        validation.one_of("ssl_policy", self.ssl_policy, TLS12_POLICIES)
        validation.log_retention("log_retention_days", self.log_retention_days)
        self.load_balancer_args()  # the load balancer's own checks (path, certificate, delays)
        self.image_args()  # the Dockerfile must exist

    def load_balancer_args(self) -> WebLoadBalancerArgs:
        return WebLoadBalancerArgs(
            vpc_id=self.vpc_id, subnet_ids=self.load_balancer_subnet_ids,
            security_group_ids=self.load_balancer_security_group_ids, target_port=self.container_port,
            health_check_path=self.health_check_path, certificate_arn=self.certificate_arn,
            ssl_policy=self.ssl_policy, deletion_protection=self.deletion_protection,
            deregistration_delay_seconds=self.deregistration_delay_seconds,
            idle_timeout_seconds=self.idle_timeout_seconds)

    def image_args(self) -> ContainerImageArgs:
        return ContainerImageArgs(dockerfile=self.dockerfile, cpu_architecture=self.cpu_architecture,
                                  keep_images=self.keep_images, force_delete=self.force_destroy)


class ScalingContainer(pulumi.ComponentResource):
    image: ContainerImage
    web: WebLoadBalancer
    cluster: aws.ecs.Cluster
    task: FargateTask
    service: FargateService
    bucket: Optional[aws.s3.Bucket]
    scaling_target: aws.appautoscaling.Target
    cpu_policy: aws.appautoscaling.Policy
    request_policy: Optional[aws.appautoscaling.Policy]
    url: pulumi.Output[str]

    def __init__(self, name: str, args: ScalingContainerArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("cloud-patterns:containers:ScalingContainer", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.image = ContainerImage(name, args.image_args(), opts=child)
        self.web = WebLoadBalancer(name, args.load_balancer_args(), opts=child)
        self.url = self.web.url
        self.cluster = ecs_cluster(name, self)
        self.bucket = private_bucket(f"{name}-inputs", self, force_destroy=args.force_destroy) if args.input_bucket else None

        environment = dict(args.environment)
        statements = []
        if self.bucket is not None:
            environment["BUCKET"] = self.bucket.bucket
            statements = [
                iam.statement(["s3:GetObject"], [pulumi.Output.concat(self.bucket.arn, "/*")], sid="ReadInputs"),
                # ListBucket lets a missing key answer 404 (NoSuchKey) instead of 403.
                iam.statement(["s3:ListBucket"], [self.bucket.arn], sid="ListInputs")]
        health_url = f"http://127.0.0.1:{args.container_port}{args.health_check_path}"
        container = ContainerSpec(
            args.container_name, image=self.image.image_ref, port=args.container_port, environment=environment,
            command=list(args.command), memory_mb=args.memory_mb,
            health_check=["CMD", "python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen("
                          f"'{health_url}', timeout=4).status != 200)"])
        self.task = FargateTask(name, FargateTaskArgs(
            containers=[container], cpu=args.cpu, memory_mb=args.memory_mb, cpu_architecture=args.cpu_architecture,
            task_policy_statements=statements, image_repository_arns=[self.image.repository.arn],
            log_retention_days=args.log_retention_days), opts=child)
        self.service = FargateService(name, FargateServiceArgs(
            cluster_arn=self.cluster.arn, task_definition_arn=self.task.task_definition.arn,
            subnet_ids=args.task_subnet_ids, security_group_ids=args.task_security_group_ids,
            assign_public_ip=args.assign_public_ip, desired_count=args.desired_count,
            target_group_arn=self.web.target_group.arn, container_name=args.container_name,
            container_port=args.container_port,
            health_check_grace_period_seconds=args.health_check_grace_period_seconds,
            wait_for=self.web.listeners, auto_scaled=True), opts=child)
        self._scaling(name, args)
        self.register_outputs({
            "url": self.url, "service_name": self.service.service.name, "cluster_name": self.cluster.name,
            "log_group_name": self.task.log_group.name, "repository_url": self.image.repository.repository_url,
            "bucket": self.bucket.bucket if self.bucket is not None else None})

    def _scaling(self, name: str, args: ScalingContainerArgs) -> None:
        child = pulumi.ResourceOptions(parent=self)
        self.scaling_target = aws.appautoscaling.Target(
            name, service_namespace="ecs", scalable_dimension="ecs:service:DesiredCount",
            resource_id=pulumi.Output.concat("service/", self.cluster.name, "/", self.service.service.name),
            min_capacity=args.min_count, max_capacity=args.max_count, opts=child)
        target = pulumi.ResourceOptions(parent=self, depends_on=[self.scaling_target])

        def tracking(metric: str, value: float, label=None) -> aws.appautoscaling.PolicyTargetTrackingScalingPolicyConfigurationArgs:
            return aws.appautoscaling.PolicyTargetTrackingScalingPolicyConfigurationArgs(
                target_value=value, scale_out_cooldown=args.scale_out_cooldown_seconds,
                scale_in_cooldown=args.scale_in_cooldown_seconds, disable_scale_in=False,
                predefined_metric_specification=aws.appautoscaling
                .PolicyTargetTrackingScalingPolicyConfigurationPredefinedMetricSpecificationArgs(
                    predefined_metric_type=metric, resource_label=label))

        def policy(suffix: str, configuration) -> aws.appautoscaling.Policy:
            return aws.appautoscaling.Policy(
                f"{name}-{suffix}", policy_type="TargetTrackingScaling", service_namespace="ecs",
                scalable_dimension=self.scaling_target.scalable_dimension, resource_id=self.scaling_target.resource_id,
                target_tracking_scaling_policy_configuration=configuration, opts=target)

        self.cpu_policy = policy("cpu", tracking("ECSServiceAverageCPUUtilization", float(args.cpu_target_percent)))
        self.request_policy = None
        if args.requests_per_target is not None:
            label = pulumi.Output.concat(self.web.load_balancer.arn_suffix, "/", self.web.target_group.arn_suffix)
            self.request_policy = policy("requests", tracking("ALBRequestCountPerTarget",
                                                              float(args.requests_per_target), label))
