"""ContainerOnDemand: a Fargate task started per uploaded object ("Tom Thumb": a thumbnail per video).

Input repository: a private bucket; a video created under ``input_prefix`` with one of ``video_suffixes``
notifies the task invoker, a Lambda that starts one Fargate task per video (the processor,
``runtime/thumbnail``), which writes a PNG under ``output_prefix`` (the output repository) and stops. Nothing
runs, and nearly nothing is billed, between uploads.

Least privilege throughout: the task role may read only the input prefix and write only the output prefix;
the invoker may run only this task definition family, only on this cluster, and pass only its two roles, to ECS
tasks only. Failed invocations are retried by Lambda, then kept in a dead-letter queue.
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Optional

import pulumi
import pulumi_aws as aws

from components import iam, validation
from components.container_image import ContainerImage, ContainerImageArgs
from components.fargate_task import (
    ContainerSpec,
    FargateTask,
    FargateTaskArgs,
    ecs_cluster,
)
from components.lambda_function import LambdaFunction, LambdaFunctionArgs
from components.storage import private_bucket
from runtime.thumbnail.worker import ThumbnailError, parse_position
from service_limits import SQS_MAX_RETENTION_DAYS

CONTAINER_NAME = "thumbnail"
CONTAINER_USER = "10001"  # the non-root user of runtime/thumbnail/Dockerfile
PREFIX = re.compile(r"^[A-Za-z0-9!_.*'()-]+(/[A-Za-z0-9!_.*'()-]+)*/$")
SUFFIX = re.compile(r"^\.[a-z0-9]{1,10}$")


@dataclass(frozen=True)
class ContainerOnDemandArgs:
    vpc_id: pulumi.Input[str]
    """VPC of the tasks (from the network stack)."""
    subnet_ids: pulumi.Input[Sequence[str]]
    """Subnets the tasks run in (from the network stack: public without NAT, private with it)."""
    assign_public_ip: pulumi.Input[bool]
    """Whether tasks get a public IP: needed in public subnets to reach ECR and S3 without NAT."""
    input_prefix: str = "video/"
    output_prefix: str = "thumbnail/"
    video_suffixes: Sequence[str] = (".mp4", ".mov", ".mkv", ".webm", ".avi")
    """Object name endings that start a task (matched as lower or upper case)."""
    position: str = "10%"
    """Where the thumbnail is taken: seconds, HH:MM:SS[.ms], or a percentage of the duration."""
    cpu: int = 256
    """Task CPU units (256 = 0.25 vCPU)."""
    memory_mb: int = 1024
    cpu_architecture: str = "X86_64"
    log_retention_days: int = 30
    """For the tasks' and the invoker's log groups."""
    invoker_memory_mb: int = 128
    invoker_timeout_seconds: int = 30
    invoker_reserved_concurrency: Optional[int] = None
    """Caps how many uploads start tasks at the same moment (a cost guard); None: the account's pool."""
    retry_attempts: int = 2
    """Lambda's retries of a failed invocation (0-2) before it goes to the dead-letter queue."""
    max_event_age_seconds: int = 3600
    dead_letter_retention_days: int = 14
    keep_images: int = 10
    force_destroy: bool = False
    """Let ``destroy`` delete the bucket and the image repository with their contents (dev only)."""

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        for key, prefix in (("input_prefix", self.input_prefix), ("output_prefix", self.output_prefix)):
            if not isinstance(prefix, str) or not PREFIX.match(prefix):
                raise validation.InvalidArgument(key, prefix, "a key prefix such as video/ (safe characters, "
                                                 "no leading /, ending in /)")
        if self.input_prefix.startswith(self.output_prefix) or self.output_prefix.startswith(self.input_prefix):
            raise validation.InvalidArgument("output_prefix", self.output_prefix,
                                             f"a prefix apart from input_prefix {self.input_prefix!r}")
        if isinstance(self.video_suffixes, str) or not self.video_suffixes:
            raise validation.InvalidArgument("video_suffixes", self.video_suffixes, "a list such as [.mp4, .mov]")
        for suffix in self.video_suffixes:
            if not isinstance(suffix, str) or not SUFFIX.match(suffix):
                raise validation.InvalidArgument("video_suffixes", suffix, "lower-case endings such as .mp4")
        if len(set(self.video_suffixes)) != len(self.video_suffixes):
            raise validation.InvalidArgument("video_suffixes", list(self.video_suffixes), "no repeated suffix")
        self._validate_position()
        validation.fargate_size("cpu", self.cpu, "memory_mb", self.memory_mb)
        validation.log_retention("log_retention_days", self.log_retention_days)
        validation.in_range("invoker_memory_mb", self.invoker_memory_mb, 128, 1024)
        validation.in_range("invoker_timeout_seconds", self.invoker_timeout_seconds, 5, 300)
        if self.invoker_reserved_concurrency is not None:
            validation.in_range("invoker_reserved_concurrency", self.invoker_reserved_concurrency, 1, 1000)
        validation.in_range("retry_attempts", self.retry_attempts, 0, 2)
        validation.in_range("max_event_age_seconds", self.max_event_age_seconds, 60, 21600)
        validation.in_range("dead_letter_retention_days", self.dead_letter_retention_days, 1, SQS_MAX_RETENTION_DAYS)

    def _validate_position(self) -> None:
        # The worker's own parser, so the stack accepts exactly what the task will.
        allowed = "seconds, HH:MM:SS[.ms] or a percentage below 100% (e.g. 10%)"
        try:
            position = parse_position(str(self.position))
        except ThumbnailError:
            raise validation.InvalidArgument("position", self.position, allowed) from None
        if position.percent is not None and position.percent >= 100:
            raise validation.InvalidArgument("position", self.position, allowed)

    @property
    def notified_suffixes(self) -> list[str]:
        """S3 filters are case-sensitive, so each suffix is notified in lower and in upper case."""
        return [variant for suffix in self.video_suffixes for variant in dict.fromkeys((suffix, suffix.upper()))]


class ContainerOnDemand(pulumi.ComponentResource):
    bucket: aws.s3.Bucket
    image: ContainerImage
    cluster: aws.ecs.Cluster
    task: FargateTask
    security_group: aws.ec2.SecurityGroup
    dead_letter_queue: aws.sqs.Queue
    invoker: LambdaFunction
    notification: aws.s3.BucketNotification

    def __init__(self, name: str, args: ContainerOnDemandArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("cloud-patterns:patterns:ContainerOnDemand", name, None, opts)
        self.args = args
        child = pulumi.ResourceOptions(parent=self)
        account_id = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(parent=self)).account_id

        self.bucket = private_bucket(f"{name}-media", self, force_destroy=args.force_destroy)
        self.image = ContainerImage(f"{name}-thumbnail", ContainerImageArgs(
            dockerfile="runtime/thumbnail/Dockerfile", cpu_architecture=args.cpu_architecture,
            keep_images=args.keep_images, force_delete=args.force_destroy), opts=child)
        self.cluster = ecs_cluster(f"{name}-cluster", self)

        inputs = pulumi.Output.concat(self.bucket.arn, "/", args.input_prefix, "*")
        outputs = pulumi.Output.concat(self.bucket.arn, "/", args.output_prefix, "*")
        self.task = FargateTask(f"{name}-thumbnail", FargateTaskArgs(
            # AWS_REGION pins the presigned URLs to the bucket's region (Fargate usually sets it too).
            containers=[ContainerSpec(CONTAINER_NAME, image=self.image.image_ref, memory_mb=args.memory_mb,
                                      user=CONTAINER_USER, environment={"AWS_REGION": aws.get_region().region})],
            cpu=args.cpu, memory_mb=args.memory_mb, cpu_architecture=args.cpu_architecture,
            image_repository_arns=[self.image.repository.arn], log_retention_days=args.log_retention_days,
            task_policy_statements=[iam.statement(["s3:GetObject"], [inputs], sid="ReadInputVideos"),
                                    iam.statement(["s3:PutObject"], [outputs], sid="WriteThumbnails")]),
            opts=child)

        # The tasks accept no connections; they only call S3, ECR and CloudWatch Logs over HTTPS.
        self.security_group = aws.ec2.SecurityGroup(
            f"{name}-tasks", vpc_id=args.vpc_id, ingress=[], egress=[],
            description="Thumbnail tasks: no inbound, HTTPS out only", opts=child)
        aws.vpc.SecurityGroupEgressRule(
            f"{name}-tasks-https", security_group_id=self.security_group.id, ip_protocol="tcp", from_port=443,
            to_port=443, cidr_ipv4="0.0.0.0/0", description="S3, ECR and CloudWatch Logs", opts=child)

        self.dead_letter_queue = aws.sqs.Queue(
            f"{name}-invoker-failures", message_retention_seconds=args.dead_letter_retention_days * 86400,
            sqs_managed_sse_enabled=True, opts=child)
        self.invoker = LambdaFunction(f"{name}-invoker", LambdaFunctionArgs(
            source_dir="runtime/task_invoker", description="Starts a thumbnail task for each uploaded video",
            memory_mb=args.invoker_memory_mb, timeout_seconds=args.invoker_timeout_seconds,
            log_retention_days=args.log_retention_days, reserved_concurrency=args.invoker_reserved_concurrency,
            environment={
                "CLUSTER": self.cluster.arn,
                "TASK_DEFINITION": self.task.task_definition.arn,
                "CONTAINER_NAME": CONTAINER_NAME,
                "SUBNETS": pulumi.Output.from_input(args.subnet_ids).apply(",".join),
                "SECURITY_GROUPS": self.security_group.id,
                "ASSIGN_PUBLIC_IP": pulumi.Output.from_input(args.assign_public_ip).apply(
                    lambda public: "ENABLED" if public else "DISABLED"),
                "OUTPUT_S3_PATH": pulumi.Output.concat(self.bucket.bucket, "/", args.output_prefix.rstrip("/")),
                "POSITION_TIME_DURATION": str(args.position),
                "VIDEO_SUFFIXES": ",".join(args.video_suffixes),
            },
            policy_statements=[
                iam.statement(
                    ["ecs:RunTask"],
                    [pulumi.Output.concat(self.task.task_definition.arn_without_revision, ":*")],
                    sid="RunThumbnailTasks", conditions=[iam.condition("ArnEquals", "ecs:cluster", self.cluster.arn)]),
                iam.statement(
                    ["iam:PassRole"], [self.task.execution_role.arn, self.task.task_role.arn], sid="PassTaskRoles",
                    conditions=[iam.condition("StringEquals", "iam:PassedToService", "ecs-tasks.amazonaws.com")]),
                iam.statement(["sqs:SendMessage"], [self.dead_letter_queue.arn], sid="DeadLetterFailedEvents"),
            ]), opts=child)

        aws.lambda_.FunctionEventInvokeConfig(
            f"{name}-invoker-retries", function_name=self.invoker.function.name,
            maximum_retry_attempts=args.retry_attempts, maximum_event_age_in_seconds=args.max_event_age_seconds,
            destination_config=aws.lambda_.FunctionEventInvokeConfigDestinationConfigArgs(
                on_failure=aws.lambda_.FunctionEventInvokeConfigDestinationConfigOnFailureArgs(
                    destination=self.dead_letter_queue.arn)),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[*self.invoker.role.permissions]))
        # Only this bucket, in this account, may invoke the invoker.
        permission = aws.lambda_.Permission(
            f"{name}-invoker-from-s3", action="lambda:InvokeFunction", function=self.invoker.function.name,
            principal="s3.amazonaws.com", source_arn=self.bucket.arn, source_account=account_id, opts=child)
        self.notification = aws.s3.BucketNotification(
            f"{name}-uploads", bucket=self.bucket.id,
            lambda_functions=[aws.s3.BucketNotificationLambdaFunctionArgs(
                id=f"video-uploaded{suffix}", lambda_function_arn=self.invoker.function.arn,
                events=["s3:ObjectCreated:*"], filter_prefix=args.input_prefix, filter_suffix=suffix)
                for suffix in args.notified_suffixes],
            opts=pulumi.ResourceOptions(parent=self, depends_on=[permission]))

        self.register_outputs({
            "bucket": self.bucket.bucket, "cluster_arn": self.cluster.arn,
            "task_definition_arn": self.task.task_definition.arn, "invoker_name": self.invoker.function.name,
            "dead_letter_queue_url": self.dead_letter_queue.url,
            "repository_url": self.image.repository.repository_url})
