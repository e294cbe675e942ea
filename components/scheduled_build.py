"""ScheduledBuild: a CodeBuild project that an EventBridge Scheduler schedule starts, whose failures are told.

- The project clones a repository and runs the buildspec file in it (the build is code of that repository, not
  text in the stack), on a small Linux image with a timeout, one build at a time, logging to a log group with
  retention; its badge shows the last build's status.
- A schedule of its own group starts it (``rate(…)``); the schedule's role may start exactly this project and
  only this account's scheduler, for this group, may assume it.
- A secret the build needs (``secret_variable``) is an SSM SecureString parameter that CodeBuild hands to the
  build as that variable. The stack writes a placeholder and never the value (``ignore_changes``): the value is put
  there out of band, so it is in no code, config, plan or state. Only this project's role may read it, and decrypt
  it with the key that encrypts it (a customer managed key, ``kms_key_arn``; with SSM's AWS managed key the key's
  own policy lets the account's principals decrypt through SSM only, so there is no KMS statement to narrow).
- The build's role may write its own log streams, read that one parameter, and do what the pattern passes in
  (``policy_statements``); CodeBuild may assume it only for this project.
- Failed (and stopped; optionally succeeded) builds are told to the environment's topic by an EventBridge rule on
  ``CodeBuild Build State Change``. Two alarms on the same topic catch what no build event tells: the schedule
  dropped its invocations (the build never started), and no build succeeded for ``stale_after_days``.
"""
from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Optional

import pulumi
import pulumi_aws as aws

from components import alarms, iam
from components.args import (
    Args,
    Boolean,
    Custom,
    InvalidArgument,
    ListOf,
    Maybe,
    OneOf,
    Retention,
    Text,
    Whole,
    required,
    setting,
    wiring,
)
from components.logs import log_group
from service_limits import schedule_rate_seconds

COMPUTE = {  # (environment type, compute type, image): the small Linux images with Python 3.12
    "arm-small": ("ARM_CONTAINER", "BUILD_GENERAL1_SMALL", "aws/codebuild/amazonlinux-aarch64-standard:3.0"),
    "x86-small": ("LINUX_CONTAINER", "BUILD_GENERAL1_SMALL", "aws/codebuild/amazonlinux-x86_64-standard:5.0"),
}
STATES = ("FAILED", "STOPPED", "SUCCEEDED")
DAY_SECONDS = 86400
START_BUILD = "arn:aws:scheduler:::aws-sdk:codebuild:startBuild"
"""Scheduler's universal target for CodeBuild's StartBuild."""
GIT_URL = r"https://[A-Za-z0-9.-]+/[\w.~/-]+"
KMS_KEY_ARN = r"arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key/[0-9a-f-]{36}"


@dataclass(frozen=True)
class ScheduledBuildArgs(Args):
    source_url: str = required(Text(GIT_URL, "an https:// URL of a Git repository"),
                               "The repository the build clones (its buildspec file runs).")
    buildspec: str = wiring("The buildspec file, relative to the repository's root.")
    source_version: str = setting("main", Text(r"[\w./-]+", "a branch, tag or commit"), "What the build checks out.")
    schedule: str = setting("rate(3 days)", Custom(lambda v: schedule_rate_seconds(v) is not None,
                                                   "rate(N minutes|hours|days), singular for 1 (rate(1 day))",
                                                   ("rate(3 day)", "cron(0 12 * * ? *)", 3)),
                            "How often the build runs.")
    compute: str = setting("arm-small", OneOf(*COMPUTE), "arm-small (Graviton, 3 GB, 2 vCPUs) costs less per minute "
                                                         "than x86-small.")
    timeout_minutes: int = setting(15, Whole(5, 480), "A build running longer is stopped (and told as STOPPED).")
    log_retention_days: int = setting(30, Retention(), "Retention of the build logs.")
    notify_on: Sequence[str] = setting(["FAILED", "STOPPED"], ListOf(OneOf(*STATES), min_items=1),
                                       "Build states told to the environment's topic (SUCCEEDED: every run).")
    stale_after_days: int = setting(4, Whole(1, 7), "Alarm when no build succeeded for this many days (more than "
                                    "the schedule's interval; CloudWatch evaluates at most 7 days).")
    build_badge: bool = setting(True, Boolean(), "A public badge URL showing the last build's status (it holds "
                                "the status only, no code or logs).")
    kms_key_arn: Optional[str] = setting(None, Maybe(Text(KMS_KEY_ARN, "a KMS key ARN")),
                                         "Encrypts the secret parameter; null: SSM's AWS managed key (free).")
    description: str = wiring("What the build does.", default="")
    environment: Mapping[str, pulumi.Input[str]] = wiring("Plain-text variables of the build (never secrets).",
                                                          default={})
    secret_variable: Optional[str] = wiring("The variable the build reads its secret from; None: no secret.",
                                            default=None)
    secret_placeholder: str = wiring("What the parameter holds until its value is put there.", default="unset")
    policy_statements: Sequence[iam.Statement] = wiring("What the build may do besides logging and reading its "
                                                        "secret.", default=())
    alarm_topic_arn: Optional[pulumi.Input[str]] = wiring("The environment's topic; None: no rule, no alarms.",
                                                          default=None)

    def check(self) -> None:
        object.__setattr__(self, "notify_on", tuple(self.notify_on))
        if self.stale_after_days * DAY_SECONDS <= schedule_rate_seconds(self.schedule):
            raise InvalidArgument("stale_after_days", self.stale_after_days,
                                  f"more days than the schedule's interval ({self.schedule})")
        if self.secret_variable is not None and self.secret_variable in self.environment:
            raise InvalidArgument("environment", self.secret_variable, "no plain-text variable of the secret's name")


class ScheduledBuild(pulumi.ComponentResource):
    log_group: aws.cloudwatch.LogGroup
    parameter: Optional[aws.ssm.Parameter]
    role: aws.iam.Role
    project: aws.codebuild.Project
    schedule_group: aws.scheduler.ScheduleGroup
    schedule_role: aws.iam.Role
    schedule: aws.scheduler.Schedule
    state_rule: Optional[aws.cloudwatch.EventRule]
    alarms: list[aws.cloudwatch.MetricAlarm]

    def __init__(self, name: str, args: ScheduledBuildArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("cloud-patterns:build:ScheduledBuild", name, None, opts)
        self.args = args
        child = pulumi.ResourceOptions(parent=self)
        invoke = pulumi.InvokeOutputOptions(parent=self)
        region = aws.get_region_output(opts=invoke).region
        project_arn = iam.arn_of("codebuild", f"project/{name}", self)

        self.log_group = log_group(f"{name}-logs", args.log_retention_days, self,
                                   log_group_name=f"/aws/codebuild/{name}")
        self.parameter = None if args.secret_variable is None else aws.ssm.Parameter(
            f"{name}-secret", name=f"/{name}/{args.secret_variable}", type="SecureString",
            value=args.secret_placeholder, key_id=args.kms_key_arn,
            description=f"{args.secret_variable} of the {name} build (its value is put here out of band)",
            opts=pulumi.ResourceOptions(parent=self, ignore_changes=["value"]))
        statements = [iam.statement(["logs:CreateLogStream", "logs:PutLogEvents"],
                                    [pulumi.Output.concat(self.log_group.arn, ":*")], sid="WriteOwnLogs")]
        if self.parameter is not None:
            statements.append(iam.statement(["ssm:GetParameters"], [self.parameter.arn], sid="ReadTheSecret"))
        if self.parameter is not None and args.kms_key_arn is not None:
            statements.append(iam.statement(["kms:Decrypt"], [args.kms_key_arn], sid="DecryptTheSecret", conditions=[
                iam.condition("StringEquals", "kms:ViaService", pulumi.Output.concat("ssm.", region, ".amazonaws.com")),
                iam.condition("StringEquals", "kms:EncryptionContext:PARAMETER_ARN", self.parameter.arn)]))
        self.role = iam.service_role(f"{name}-build", "codebuild.amazonaws.com",
                                     iam.policy_document([*statements, *args.policy_statements], self), self,
                                     f"Runs the {name} build", source_arns=[project_arn])
        self.project = self._project(name, args)
        self.schedule_group = aws.scheduler.ScheduleGroup(name, name=name, opts=child)
        self.schedule_role = iam.service_role(
            f"{name}-schedule", "scheduler.amazonaws.com",
            iam.policy_document([iam.statement(["codebuild:StartBuild"], [self.project.arn], sid="StartTheBuild")],
                                self), self, f"Starts the {name} build", source_arns=[self.schedule_group.arn])
        self.schedule = aws.scheduler.Schedule(
            name, name=name, group_name=self.schedule_group.name, schedule_expression=args.schedule,
            description=f"Starts {name}", flexible_time_window=aws.scheduler.ScheduleFlexibleTimeWindowArgs(mode="OFF"),
            target=aws.scheduler.ScheduleTargetArgs(
                arn=START_BUILD, role_arn=self.schedule_role.arn, input=json.dumps({"ProjectName": name}),
                retry_policy=aws.scheduler.ScheduleTargetRetryPolicyArgs(maximum_retry_attempts=3,
                                                                         maximum_event_age_in_seconds=3600)),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[*self.schedule_role.permissions]))
        self.state_rule, self.alarms = self._notifications(name, args)
        self.register_outputs({"project_name": self.project.name, "project_arn": self.project.arn,
                               "badge_url": self.project.badge_url, "schedule_arn": self.schedule.arn})

    def _project(self, name: str, args: ScheduledBuildArgs) -> aws.codebuild.Project:
        environment_type, compute_type, image = COMPUTE[args.compute]
        variables = [aws.codebuild.ProjectEnvironmentEnvironmentVariableArgs(name=k, value=v, type="PLAINTEXT")
                     for k, v in sorted(args.environment.items())]
        if self.parameter is not None:
            variables.append(aws.codebuild.ProjectEnvironmentEnvironmentVariableArgs(
                name=args.secret_variable, value=self.parameter.name, type="PARAMETER_STORE"))
        return aws.codebuild.Project(
            name, name=name, description=args.description, service_role=self.role.arn,
            source=aws.codebuild.ProjectSourceArgs(type="GITHUB", location=args.source_url, buildspec=args.buildspec,
                                                   git_clone_depth=1),
            source_version=args.source_version, artifacts=aws.codebuild.ProjectArtifactsArgs(type="NO_ARTIFACTS"),
            environment=aws.codebuild.ProjectEnvironmentArgs(type=environment_type, compute_type=compute_type,
                                                             image=image, privileged_mode=False,
                                                             environment_variables=variables or None),
            build_timeout=args.timeout_minutes, queued_timeout=60, concurrent_build_limit=1,
            badge_enabled=args.build_badge,
            logs_config=aws.codebuild.ProjectLogsConfigArgs(
                cloudwatch_logs=aws.codebuild.ProjectLogsConfigCloudwatchLogsArgs(status="ENABLED",
                                                                                  group_name=self.log_group.name),
                s3_logs=aws.codebuild.ProjectLogsConfigS3LogsArgs(status="DISABLED")),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[*self.role.permissions]))

    def _notifications(self, name: str, args: ScheduledBuildArgs
                       ) -> tuple[Optional[aws.cloudwatch.EventRule], list[aws.cloudwatch.MetricAlarm]]:
        if args.alarm_topic_arn is None:
            return None, []
        rule = alarms.event_rule(
            f"{name}-state", self, args.alarm_topic_arn, build_state_pattern(name, args.notify_on),
            f"{name}: builds that end {', '.join(args.notify_on)}",
            {"build": "$.detail.build-id", "project": "$.detail.project-name", "status": "$.detail.build-status"},
            '"Build <build> of <project> ended <status>"')
        made = [
            alarms.metric_alarm(f"{name}-stale", self, args.alarm_topic_arn, namespace="AWS/CodeBuild",
                                metric="SucceededBuilds", dimensions={"ProjectName": self.project.name},
                                period_seconds=DAY_SECONDS, evaluation_periods=args.stale_after_days, threshold=1,
                                comparison="LessThanThreshold", treat_missing_data="breaching",
                                description=f"{name}: no build succeeded for {args.stale_after_days} days"),
            alarms.metric_alarm(f"{name}-schedule-dropped", self, args.alarm_topic_arn, namespace="AWS/Scheduler",
                                metric="InvocationDroppedCount", dimensions={"ScheduleGroup": self.schedule_group.name},
                                period_seconds=300, description=f"{name}: the schedule could not start the build "
                                                                "(retries exhausted)")]
        return rule, made


def build_state_pattern(project_name: str, states: Sequence[str]) -> dict:
    return {"source": ["aws.codebuild"], "detail-type": ["CodeBuild Build State Change"],
            "detail": {"project-name": [project_name], "build-status": list(states)}}
