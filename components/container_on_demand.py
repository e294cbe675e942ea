"""ContainerOnDemand: a Fargate task started per object created in a private bucket, and on schedules or events.

Input repository: objects created under ``input_prefix`` with one of ``suffixes`` notify the invoker, a Lambda
that starts one task per object, handing it the object's bucket and key in the variables the container names.
The task (the app's container, e.g. a thumbnailer) reads the object, writes under ``output_prefix`` (the output
repository) and stops. Schedules and event rules start the same task directly (``task_triggers``). Nothing runs,
and nearly nothing is billed, between starts.

App-agnostic, as CDK's ``ApplicationLoadBalancedFargateService`` takes ``taskImageOptions``: the program passes
the container (image or Dockerfile, name, user, variables), the invoker's code and a function that names its
variables, and any task statements beyond the pattern's own.

Least privilege throughout: the task may read only the input prefix and write only the output prefix (plus
what the app asks for); the starters may run only this task definition family, only on this cluster, and pass
only its two roles, to ECS tasks only. Failed starts are retried, then kept in one dead-letter queue whose depth
alarms; a task that exits non-zero notifies the alert topic too.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Optional

import pulumi
import pulumi_aws as aws

from components import alarms, iam, validation
from components.args import (Args, Boolean, ListOf, Maybe, OneOf, Retention, Text, Whole, setting, wiring)
from components.container_image import ContainerImage, ContainerImageArgs
from components.fargate_task import CPU_ARCHITECTURES, ContainerSpec, FargateTask, FargateTaskArgs, ecs_cluster
from components.lambda_function import LambdaFunction, LambdaFunctionArgs
from components.storage import private_bucket
from components.task_triggers import RuleTrigger, ScheduleTrigger, TaskTarget, check_triggers, rules, schedules
from service_limits import FARGATE_SIZES, SQS_MAX_RETENTION_DAYS

PREFIX = Text(r"[A-Za-z0-9!_.*'()-]+(/[A-Za-z0-9!_.*'()-]+)*/",
              "a key prefix such as input/ (safe characters, no leading /, ending in /)")
SUFFIXES = ListOf(Text(r"\.[a-z0-9]{1,10}", "a lower-case ending such as .mp4"), min_items=1)


@dataclass(frozen=True)
class TaskContainer:
    """The task's one container: what it runs, as whom, with which variables, and where it finds its object."""

    name: str
    bucket_variable: str
    """The variable that holds the bucket's name (set in the task definition, so every start has it)."""
    key_variable: str
    """The variable that receives the created object's key (set per start by the invoker)."""
    input_prefix_variable: Optional[str] = None
    """The variable that holds input_prefix, for a task that looks for work (unset: not passed)."""
    output_prefix_variable: Optional[str] = None
    """The variable that holds output_prefix."""
    dockerfile: Optional[str] = None
    """Build this image (ContainerImage's build context) into a repository of the pattern's; or pass ``image``."""
    image: Optional[pulumi.Input[str]] = None
    user: Optional[str] = None
    environment: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class InvokerSpec:
    """The Lambda that turns S3 notifications into RunTask calls, and how its variables are named."""

    source_dir: str
    environment: Callable[..., Mapping[str, pulumi.Input[str]]]
    """Called with cluster, task_definition, container_name, network_configuration (RunTask's JSON), suffixes,
    bucket_variable and key_variable; returns the invoker's variables."""
    handler: str = "handler.handler"


@dataclass(frozen=True)
class ContainerOnDemandArgs(Args):
    vpc_id: pulumi.Input[str] = wiring("VPC of the tasks (the network stack's).")
    subnet_ids: pulumi.Input[Sequence[str]] = wiring("Where tasks run (the network's task_subnet_ids).")
    assign_public_ip: pulumi.Input[bool] = wiring("Whether tasks get a public IP (the network's task_assign_public_ip).")
    container: TaskContainer = wiring("The app's container.")
    invoker: InvokerSpec = wiring("The invoker's code and variable names.")
    list_prefixes: bool = wiring("Whether the task may list input_prefix and output_prefix (a batch run that looks "
                                 "for work).", default=False)
    task_statements: Sequence[iam.Statement] = wiring(
        "What the task may do besides reading input_prefix and writing output_prefix.", default=())
    schedules: Sequence[ScheduleTrigger] = wiring("Schedules that start the task.", default=())
    rules: Sequence[RuleTrigger] = wiring("EventBridge rules whose events start the task.", default=())
    alarm_topic_arn: Optional[pulumi.Input[str]] = wiring("The environment's alert topic; None: no alarms.",
                                                          default=None)
    input_prefix: str = setting("input/", PREFIX, "Objects created under this prefix start a task; tasks may read "
                                                  "only this prefix.")
    output_prefix: str = setting("output/", PREFIX, "Tasks may write only under this prefix (apart from "
                                                    "input_prefix, so outputs never start tasks).")
    suffixes: Sequence[str] = setting([".mp4"], SUFFIXES, "Object name endings that start a task (notified in lower "
                                                          "and in upper case).")
    cpu: int = setting(256, OneOf(*FARGATE_SIZES), "Task CPU units (256 = 0.25 vCPU).")
    memory_mb: int = setting(1024, Whole(512, 122880), "Task memory (MiB), a size Fargate offers for cpu.")
    cpu_architecture: str = setting("X86_64", OneOf(*CPU_ARCHITECTURES), "The tasks' CPU architecture.")
    log_retention_days: int = setting(30, Retention(), "For the tasks' and the invoker's log groups.")
    invoker_memory_mb: int = setting(128, Whole(128, 1024), "The invoker's memory (MiB).")
    invoker_timeout_seconds: int = setting(30, Whole(5, 300), "How long one invocation may take.")
    invoker_reserved_concurrency: Optional[int] = setting(
        None, Maybe(Whole(1, 1000)), "Caps how many uploads start tasks at the same moment (a cost guard); null: "
                                     "the account's pool.")
    retry_attempts: int = setting(2, Whole(0, 2), "Lambda's retries of a failed invocation before it goes to the "
                                                  "dead-letter queue.")
    max_event_age_seconds: int = setting(3600, Whole(60, 21600), "How long Lambda keeps retrying an event.")
    dead_letter_retention_days: int = setting(14, Whole(1, SQS_MAX_RETENTION_DAYS),
                                              "How long failed starts are kept in the dead-letter queue.")
    keep_images: int = setting(10, Whole(1, 1000), "Tagged images kept in the repository.")
    force_destroy: bool = setting(False, Boolean(), "Let destroy delete the bucket and the image repository with "
                                                    "their contents (dev only).")

    def check(self) -> None:
        if self.input_prefix.startswith(self.output_prefix) or self.output_prefix.startswith(self.input_prefix):
            raise validation.InvalidArgument("output_prefix", self.output_prefix,
                                             f"a prefix apart from input_prefix {self.input_prefix!r}")
        validation.fargate_size("cpu", self.cpu, "memory_mb", self.memory_mb)
        if (self.container.dockerfile is None) == (self.container.image is None):
            raise validation.InvalidArgument("container", self.container.name, "a dockerfile or an image, not both")
        for variable in (self.container.bucket_variable, self.container.key_variable,
                         self.container.input_prefix_variable, self.container.output_prefix_variable):
            if variable is not None and not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", variable):
                raise validation.InvalidArgument("container", variable, "variable names of letters, digits and _")
        check_triggers("schedules", self.schedules)
        check_triggers("rules", self.rules)

    @property
    def notified_suffixes(self) -> list[str]:
        """S3 filters are case-sensitive, so each suffix is notified in lower and in upper case."""
        return [variant for suffix in self.suffixes for variant in dict.fromkeys((suffix, suffix.upper()))]


class ContainerOnDemand(pulumi.ComponentResource):
    bucket: aws.s3.Bucket
    image: Optional[ContainerImage]
    cluster: aws.ecs.Cluster
    task: FargateTask
    security_group: aws.ec2.SecurityGroup
    dead_letter_queue: aws.sqs.Queue
    invoker: LambdaFunction
    notification: aws.s3.BucketNotification
    schedules: list[aws.scheduler.Schedule]
    rules: list[aws.cloudwatch.EventRule]
    failed_task_rule: Optional[aws.cloudwatch.EventRule]
    alarms: list[aws.cloudwatch.MetricAlarm]

    def __init__(self, name: str, args: ContainerOnDemandArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("cloud-patterns:patterns:ContainerOnDemand", name, None, opts)
        self.args = args
        child = pulumi.ResourceOptions(parent=self)
        container = args.container
        account_id = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(parent=self)).account_id

        self.bucket = private_bucket(f"{name}-media", self, force_destroy=args.force_destroy)
        self.image = None if container.dockerfile is None else ContainerImage(
            f"{name}-{container.name}", ContainerImageArgs(
                dockerfile=container.dockerfile, cpu_architecture=args.cpu_architecture,
                keep_images=args.keep_images, force_delete=args.force_destroy), opts=child)
        self.cluster = ecs_cluster(f"{name}-cluster", self)
        self.task = self._task(name, child)

        # The tasks accept no connections; they only call S3, ECR and CloudWatch Logs over HTTPS.
        self.security_group = aws.ec2.SecurityGroup(
            f"{name}-tasks", vpc_id=args.vpc_id,
            description=f"{container.name.capitalize()} tasks: no inbound, HTTPS out only",
            opts=child)
        aws.vpc.SecurityGroupEgressRule(
            f"{name}-tasks-https", security_group_id=self.security_group.id, ip_protocol="tcp", from_port=443,
            to_port=443, cidr_ipv4="0.0.0.0/0", description="S3, ECR and CloudWatch Logs", opts=child)
        target = TaskTarget(self.cluster.arn, self.task, container.name, args.subnet_ids, [self.security_group.id],
                            args.assign_public_ip)

        self.dead_letter_queue = aws.sqs.Queue(
            f"{name}-invoker-failures", message_retention_seconds=args.dead_letter_retention_days * 86400,
            sqs_managed_sse_enabled=True, opts=child)
        self.invoker = self._invoker(name, target, child)
        self.notification = self._notification(name, account_id)
        self.schedules = schedules(name, self, target, args.schedules, self.dead_letter_queue, account_id)
        self.rules = rules(name, self, target, args.rules, self.dead_letter_queue, account_id)

        topic = args.alarm_topic_arn
        self.failed_task_rule = None if topic is None else alarms.failed_task_rule(
            f"{name}-failed-tasks", self, topic, self.cluster.arn)
        self.alarms = [] if topic is None else [*self.invoker.alarms, alarms.queue_not_empty_alarm(
            f"{name}-invoker-failures", self, topic, self.dead_letter_queue.name, "task starts that failed")]
        self.register_outputs({
            "bucket": self.bucket.bucket, "cluster_arn": self.cluster.arn,
            "task_definition_arn": self.task.task_definition.arn, "invoker_name": self.invoker.function.name,
            "dead_letter_queue_url": self.dead_letter_queue.url,
            "repository_url": self.image.repository.repository_url if self.image else None})

    def _task(self, name: str, child: pulumi.ResourceOptions) -> FargateTask:
        args, container = self.args, self.args.container
        inputs = pulumi.Output.concat(self.bucket.arn, "/", args.input_prefix, "*")
        outputs = pulumi.Output.concat(self.bucket.arn, "/", args.output_prefix, "*")
        statements = [iam.statement(["s3:GetObject"], [inputs], sid="ReadInputs"),
                      iam.statement(["s3:PutObject"], [outputs], sid="WriteOutputs")]
        if args.list_prefixes:
            statements.append(iam.statement(["s3:ListBucket"], [self.bucket.arn], sid="ListInputsAndOutputs",
                                            conditions=[iam.condition("StringLike", "s3:prefix", f"{args.input_prefix}*",
                                                                      f"{args.output_prefix}*")]))
        variables = {container.bucket_variable: self.bucket.bucket, container.input_prefix_variable: args.input_prefix,
                     container.output_prefix_variable: args.output_prefix}
        return FargateTask(f"{name}-{container.name}", FargateTaskArgs(
            containers=[ContainerSpec(
                container.name, image=self.image.image_ref if self.image else container.image,
                memory_mb=args.memory_mb, user=container.user,
                environment={**container.environment, **{k: v for k, v in variables.items() if k is not None}})],
            cpu=args.cpu, memory_mb=args.memory_mb, cpu_architecture=args.cpu_architecture,
            image_repository_arns=[self.image.repository.arn] if self.image else [],
            log_retention_days=args.log_retention_days,
            task_policy_statements=[*statements, *args.task_statements]), opts=child)

    def _invoker(self, name: str, target: TaskTarget, child: pulumi.ResourceOptions) -> LambdaFunction:
        args = self.args
        invoker = LambdaFunction(f"{name}-invoker", LambdaFunctionArgs(
            source_dir=args.invoker.source_dir, handler=args.invoker.handler,
            description=f"Starts a {args.container.name} task for each object created under {args.input_prefix}",
            memory_mb=args.invoker_memory_mb, timeout_seconds=args.invoker_timeout_seconds,
            log_retention_days=args.log_retention_days, reserved_concurrency=args.invoker_reserved_concurrency,
            alarm_topic_arn=args.alarm_topic_arn,
            environment=args.invoker.environment(
                cluster=self.cluster.arn, task_definition=self.task.task_definition.arn,
                container_name=args.container.name, network_configuration=target.network_configuration_json(),
                suffixes=list(args.suffixes), bucket_variable=args.container.bucket_variable,
                key_variable=args.container.key_variable),
            policy_statements=[*target.run_task_statements("Tasks"), iam.statement(
                ["sqs:SendMessage"], [self.dead_letter_queue.arn], sid="DeadLetterFailedEvents")]), opts=child)
        aws.lambda_.FunctionEventInvokeConfig(
            f"{name}-invoker-retries", function_name=invoker.function.name,
            maximum_retry_attempts=args.retry_attempts, maximum_event_age_in_seconds=args.max_event_age_seconds,
            destination_config=aws.lambda_.FunctionEventInvokeConfigDestinationConfigArgs(
                on_failure=aws.lambda_.FunctionEventInvokeConfigDestinationConfigOnFailureArgs(
                    destination=self.dead_letter_queue.arn)),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[*invoker.role.permissions]))
        return invoker

    def _notification(self, name: str, account_id: pulumi.Output[str]) -> aws.s3.BucketNotification:
        # Only this bucket, in this account, may invoke the invoker.
        permission = aws.lambda_.Permission(
            f"{name}-invoker-from-s3", action="lambda:InvokeFunction", function=self.invoker.function.name,
            principal="s3.amazonaws.com", source_arn=self.bucket.arn, source_account=account_id,
            opts=pulumi.ResourceOptions(parent=self))
        return aws.s3.BucketNotification(
            f"{name}-uploads", bucket=self.bucket.id,
            lambda_functions=[aws.s3.BucketNotificationLambdaFunctionArgs(
                id=f"object-created{suffix}", lambda_function_arn=self.invoker.function.arn,
                events=["s3:ObjectCreated:*"], filter_prefix=self.args.input_prefix, filter_suffix=suffix)
                for suffix in self.args.notified_suffixes],
            opts=pulumi.ResourceOptions(parent=self, depends_on=[permission]))
