"""CloudWatch alarms: one way to make them, so every alarm of every pattern notifies the environment's topic.

The topic is the ``<env>-alerts`` stack's ``topic_arn`` (``programs/alerts.py``); a pattern takes it as
``alarm_topic_arn`` wiring and exposes what it made as ``.alarms``. An alarm notifies when it fires and when it
clears (``ok_actions``), so a recovered service is heard as well as a broken one. Missing data is "not
breaching" unless said otherwise: a function that is not invoked has no errors.

Helpers for the alarms every pattern of a kind needs (Lambda errors and throttles, a dead-letter queue that
is not empty) live here too, so their thresholds and dimensions are written once.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Optional

import pulumi
import pulumi_aws as aws

COMPARISONS = ("GreaterThanOrEqualToThreshold", "GreaterThanThreshold", "LessThanThreshold",
               "LessThanOrEqualToThreshold")


def metric_alarm(name: str, parent: pulumi.Resource, topic_arn: pulumi.Input[str], *, namespace: str, metric: str,
                 dimensions: Mapping[str, pulumi.Input[str]], description: str, statistic: str = "Sum",
                 period_seconds: int = 60, evaluation_periods: int = 1, threshold: float = 0,
                 comparison: str = "GreaterThanThreshold", treat_missing_data: str = "notBreaching",
                 datapoints_to_alarm: Optional[int] = None,
                 actions: tuple[pulumi.Input[str], ...] = ()) -> aws.cloudwatch.MetricAlarm:
    """An alarm on one metric that notifies ``topic_arn`` (and runs ``actions``, e.g. EC2 recovery) when it
    fires, and the topic again when it clears."""
    if comparison not in COMPARISONS:
        raise ValueError(f"comparison {comparison!r}: one of {', '.join(COMPARISONS)}")
    return aws.cloudwatch.MetricAlarm(
        name, alarm_description=description, namespace=namespace, metric_name=metric,
        dimensions=dict(dimensions), statistic=statistic, period=period_seconds,
        evaluation_periods=evaluation_periods, datapoints_to_alarm=datapoints_to_alarm, threshold=threshold,
        comparison_operator=comparison, treat_missing_data=treat_missing_data,
        alarm_actions=[topic_arn, *actions], ok_actions=[topic_arn], opts=pulumi.ResourceOptions(parent=parent))


def lambda_alarms(name: str, parent: pulumi.Resource, topic_arn: pulumi.Input[str],
                  function_name: pulumi.Input[str]) -> list[aws.cloudwatch.MetricAlarm]:
    """Any error, and any throttled invocation, in a minute."""
    dimensions = {"FunctionName": function_name}
    return [
        metric_alarm(f"{name}-errors", parent, topic_arn, namespace="AWS/Lambda", metric="Errors",
                     dimensions=dimensions, description=f"{name}: the function raised or timed out"),
        metric_alarm(f"{name}-throttles", parent, topic_arn, namespace="AWS/Lambda", metric="Throttles",
                     dimensions=dimensions, description=f"{name}: invocations were throttled (concurrency limit)"),
    ]


def queue_not_empty_alarm(name: str, parent: pulumi.Resource, topic_arn: pulumi.Input[str],
                          queue_name: pulumi.Input[str], what: str) -> aws.cloudwatch.MetricAlarm:
    """A dead-letter queue holds anything: ``what`` failed and needs a look (or a redrive)."""
    return metric_alarm(f"{name}-not-empty", parent, topic_arn, namespace="AWS/SQS",
                        metric="ApproximateNumberOfMessagesVisible", dimensions={"QueueName": queue_name},
                        statistic="Maximum", period_seconds=300, threshold=0,
                        description=f"{name}: {what} are waiting in the dead-letter queue")
