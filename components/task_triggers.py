"""Starting a Fargate task without code: EventBridge Scheduler schedules and EventBridge rules whose targets call
RunTask themselves (the ECS/Fargate guide's advice for short jobs: EventBridge rather than Batch).

``TaskTarget`` is what every trigger starts, and writes once what a starter may do: ``ecs:RunTask`` on the task
definition's family, only on its cluster; ``iam:PassRole`` on its two roles, only to ECS tasks; ``ecs:TagResource``
only when the trigger tags the tasks it starts (without it such a start fails silently). The S3 invoker of
``ContainerOnDemand`` takes the same statements.

Schedules live in a schedule group of their own, so that the role Scheduler assumes can be pinned to it
(``aws:SourceArn``) without a cycle; rules pin their role to the rules' ARNs. A start that still fails after the
retry policy lands in the dead-letter queue the caller passes (Scheduler delivers with its role; EventBridge
needs the queue's policy, which allows only these rules).
"""
from __future__ import annotations

import functools
import json
import re
import zoneinfo
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Optional

import pulumi
import pulumi_aws as aws

from components import iam
from components.args import Custom, InvalidArgument, Text, Whole
from components.fargate_task import FargateTask

TRIGGER_NAME = Text(r"[a-z][a-z0-9-]{0,30}", "lower-case letters, digits and -, starting with a letter (at most 31)")
_RATE = re.compile(r"rate\((1 (minute|hour|day)|([2-9]|[1-9]\d+) (minutes|hours|days))\)")
_CRON = re.compile(r"cron\(\S+( \S+){5}\)")
_AT = re.compile(r"at\(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\)")
SCHEDULE_EXPRESSION = Custom(lambda text: isinstance(text, str) and any(p.fullmatch(text) for p in (_RATE, _CRON, _AT)),
                             "rate(1 day) / rate(N minutes|hours|days), cron(minutes hours day-of-month month "
                             "day-of-week year) or at(yyyy-mm-ddThh:mm:ss)", ("daily", "cron(0 3 * * *)", 3))
TIMEZONE = Custom(lambda text: isinstance(text, str) and text in _time_zones(),
                  "an IANA time zone such as UTC or Europe/Berlin", ("Mars/Olympus", 1))
WINDOW_MINUTES = Whole(0, 1440, "(minutes Scheduler may start late, spreading load; 0: on time)")
RETRY_ATTEMPTS = Whole(0, 185, "(retries of a start that failed)")
EVENT_AGE_SECONDS = Whole(60, 86400, "(seconds a start is retried for)")


@functools.cache
def _time_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones() | {"UTC"})


@dataclass(frozen=True)
class _Trigger:
    name: str
    environment: Mapping[str, str] = field(default_factory=dict)
    """Variables the started task gets on top of its definition's (container overrides)."""
    tags: Mapping[str, str] = field(default_factory=dict)
    """Tags of the started tasks (the starter then needs, and gets, ecs:TagResource)."""
    retry_attempts: int = 2
    max_event_age_seconds: int = 3600

    def check(self, key: str) -> None:
        TRIGGER_NAME.check(f"{key}.name", self.name)
        RETRY_ATTEMPTS.check(f"{key}.{self.name}.retry_attempts", self.retry_attempts)
        EVENT_AGE_SECONDS.check(f"{key}.{self.name}.max_event_age_seconds", self.max_event_age_seconds)


@dataclass(frozen=True)
class ScheduleTrigger(_Trigger):
    expression: str = "rate(1 day)"
    timezone: str = "UTC"
    flexible_window_minutes: int = 0

    def check(self, key: str) -> None:
        super().check(key)
        SCHEDULE_EXPRESSION.check(f"{key}.{self.name}.expression", self.expression)
        TIMEZONE.check(f"{key}.{self.name}.timezone", self.timezone)
        WINDOW_MINUTES.check(f"{key}.{self.name}.flexible_window_minutes", self.flexible_window_minutes)


@dataclass(frozen=True)
class RuleTrigger(_Trigger):
    event_pattern: Mapping[str, Any] = field(default_factory=dict)
    """An EventBridge event pattern (on the default bus)."""

    def check(self, key: str) -> None:
        super().check(key)
        if not isinstance(self.event_pattern, Mapping) or not self.event_pattern:
            raise InvalidArgument(f"{key}.{self.name}.event_pattern", self.event_pattern,
                                  "a non-empty EventBridge event pattern")


def check_triggers(key: str, triggers: Sequence[_Trigger]) -> None:
    for trigger in triggers:
        trigger.check(key)
    names = [t.name for t in triggers]
    if len(set(names)) != len(names):
        raise InvalidArgument(key, names, "triggers with different names")


@dataclass(frozen=True)
class TaskTarget:
    """What every trigger starts: one task of ``task`` on the cluster, placed as the network decided."""

    cluster_arn: pulumi.Input[str]
    task: FargateTask
    container_name: str
    subnet_ids: pulumi.Input[Sequence[str]]
    security_group_ids: Sequence[pulumi.Input[str]]
    assign_public_ip: pulumi.Input[bool]

    def run_task_statements(self, sid: str, tag: bool = False) -> list[iam.Statement]:
        definition = self.task.task_definition
        statements = [
            iam.statement(["ecs:RunTask"], [pulumi.Output.concat(definition.arn_without_revision, ":*")],
                          sid=f"Run{sid}", conditions=[iam.condition("ArnEquals", "ecs:cluster", self.cluster_arn)]),
            iam.statement(["iam:PassRole"], [self.task.execution_role.arn, self.task.task_role.arn],
                          sid="PassTaskRoles",
                          conditions=[iam.condition("StringEquals", "iam:PassedToService", "ecs-tasks.amazonaws.com")])]
        if tag:
            tasks = pulumi.Output.from_input(self.cluster_arn).apply(
                lambda arn: arn.replace(":cluster/", ":task/", 1) + "/*")  # the tasks of this cluster only
            statements.append(iam.statement(["ecs:TagResource"], [tasks], sid="TagStartedTasks",
                                            conditions=[iam.condition("StringEquals", "ecs:CreateAction", "RunTask")]))
        return statements

    def network_configuration_json(self) -> pulumi.Output[str]:
        """RunTask's ``networkConfiguration``, for a starter that calls the API itself."""
        return pulumi.Output.all(self.subnet_ids, pulumi.Output.all(*self.security_group_ids),
                                 self.assign_public_ip).apply(lambda values: json.dumps({"awsvpcConfiguration": {
                                     "subnets": list(values[0]), "securityGroups": list(values[1]),
                                     "assignPublicIp": "ENABLED" if values[2] else "DISABLED"}}))

    def overrides(self, environment: Mapping[str, str]) -> Optional[str]:
        if not environment:
            return None
        return json.dumps({"containerOverrides": [{"name": self.container_name, "environment": [
            {"name": k, "value": v} for k, v in sorted(environment.items())]}]})


# The same target in each service's own types: (ECS parameters, network, retry policy, dead-letter config), and
# the name of the ECS parameters' argument.
_SCHEDULER_TYPES = ("ecs_parameters", aws.scheduler.ScheduleTargetEcsParametersArgs,
                    aws.scheduler.ScheduleTargetEcsParametersNetworkConfigurationArgs,
                    aws.scheduler.ScheduleTargetRetryPolicyArgs, aws.scheduler.ScheduleTargetDeadLetterConfigArgs)
_EVENTS_TYPES = ("ecs_target", aws.cloudwatch.EventTargetEcsTargetArgs,
                 aws.cloudwatch.EventTargetEcsTargetNetworkConfigurationArgs, aws.cloudwatch.EventTargetRetryPolicyArgs,
                 aws.cloudwatch.EventTargetDeadLetterConfigArgs)


def _run_task_target(types: tuple, target: TaskTarget, trigger: _Trigger, dead_letter_queue: aws.sqs.Queue) -> dict:
    """One Fargate task, placed as the network decided, retried, then dead-lettered."""
    ecs_argument, ecs, network, retry, dead_letter = types
    return {ecs_argument: ecs(
        task_definition_arn=target.task.task_definition.arn, launch_type="FARGATE", task_count=1,
        network_configuration=network(subnets=target.subnet_ids, security_groups=list(target.security_group_ids),
                                      assign_public_ip=target.assign_public_ip), tags=dict(trigger.tags) or None),
        "retry_policy": retry(maximum_retry_attempts=trigger.retry_attempts,
                              maximum_event_age_in_seconds=trigger.max_event_age_seconds),
        "dead_letter_config": dead_letter(arn=dead_letter_queue.arn)}


def schedules(name: str, parent: pulumi.Resource, target: TaskTarget, triggers: Sequence[ScheduleTrigger],
              dead_letter_queue: aws.sqs.Queue, account_id: pulumi.Input[str]) -> list[aws.scheduler.Schedule]:
    if not triggers:
        return []
    child = pulumi.ResourceOptions(parent=parent)
    group = aws.scheduler.ScheduleGroup(f"{name}-schedules", opts=child)
    role = iam.service_role(
        f"{name}-scheduler", "scheduler.amazonaws.com", iam.policy_document([
            *target.run_task_statements("ScheduledTasks", tag=any(t.tags for t in triggers)),
            iam.statement(["sqs:SendMessage"], [dead_letter_queue.arn], sid="DeadLetterFailedStarts")], parent),
        parent, f"Lets the {name} schedules start its tasks", source_arns=[group.arn])
    return [aws.scheduler.Schedule(
        f"{name}-{trigger.name}", group_name=group.name, schedule_expression=trigger.expression,
        schedule_expression_timezone=trigger.timezone, description=f"{name}: {trigger.name}",
        flexible_time_window=aws.scheduler.ScheduleFlexibleTimeWindowArgs(
            mode="FLEXIBLE" if trigger.flexible_window_minutes else "OFF",
            maximum_window_in_minutes=trigger.flexible_window_minutes or None),
        target=aws.scheduler.ScheduleTargetArgs(
            arn=target.cluster_arn, role_arn=role.arn, input=target.overrides(trigger.environment),
            **_run_task_target(_SCHEDULER_TYPES, target, trigger, dead_letter_queue)),
        opts=pulumi.ResourceOptions(parent=parent, depends_on=[*role.permissions]))
        for trigger in triggers]


def rules(name: str, parent: pulumi.Resource, target: TaskTarget, triggers: Sequence[RuleTrigger],
          dead_letter_queue: aws.sqs.Queue, account_id: pulumi.Input[str]) -> list[aws.cloudwatch.EventRule]:
    if not triggers:
        return []
    child = pulumi.ResourceOptions(parent=parent)
    made = [aws.cloudwatch.EventRule(f"{name}-{trigger.name}", description=f"{name}: {trigger.name}",
                                     event_pattern=json.dumps(trigger.event_pattern, sort_keys=True), opts=child)
            for trigger in triggers]
    arns = [rule.arn for rule in made]
    role = iam.service_role(
        f"{name}-rules", "events.amazonaws.com",
        iam.policy_document(target.run_task_statements("EventTasks", tag=any(t.tags for t in triggers)), parent),
        parent, f"Lets the {name} rules start its tasks", source_arns=arns)
    aws.sqs.QueuePolicy(f"{name}-rules-dead-letters", queue_url=dead_letter_queue.url, policy=iam.policy_document([
        iam.Statement(sid="FailedStartsOfTheseRules", effect="Allow", actions=["sqs:SendMessage"],
                      resources=[dead_letter_queue.arn],
                      principals=[aws.iam.GetPolicyDocumentStatementPrincipalArgs(
                          type="Service", identifiers=["events.amazonaws.com"])],
                      conditions=[iam.condition("ArnEquals", "aws:SourceArn", *arns)])], parent), opts=child)
    for rule, trigger in zip(made, triggers):
        aws.cloudwatch.EventTarget(
            f"{name}-{trigger.name}", rule=rule.name, arn=target.cluster_arn, role_arn=role.arn,
            input=target.overrides(trigger.environment),
            **_run_task_target(_EVENTS_TYPES, target, trigger, dead_letter_queue),
            opts=pulumi.ResourceOptions(parent=rule, depends_on=[*role.permissions]))
    return made
