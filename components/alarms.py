"""CloudWatch alarms: one way to make them, so every alarm of every pattern notifies the environment's topic.

The topic is the ``<env>-alerts`` stack's ``topic_arn`` (``programs/alerts.py``); a pattern takes it as
``alarm_topic_arn`` wiring and exposes what it made as ``.alarms``. An alarm notifies when it fires and when it
clears (``ok_actions``), so a recovered service is heard as well as a broken one. Missing data is "not
breaching" unless said otherwise: a function that is not invoked has no errors.

Helpers for the alarms every pattern of a kind needs (Lambda errors and throttles, a dead-letter queue that
is not empty) live here too, so their thresholds and dimensions are written once.
"""
from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Optional

import pulumi
import pulumi_aws as aws

COMPARISONS = ("GreaterThanOrEqualToThreshold", "GreaterThanThreshold", "LessThanThreshold",
               "LessThanOrEqualToThreshold")
PERCENTILE = re.compile(r"p\d{1,2}(\.\d+)?")
ANOMALY_COMPARISONS = ("GreaterThanUpperThreshold", "LessThanLowerThreshold",
                       "LessThanLowerOrGreaterThanUpperThreshold")


def metric_alarm(name: str, parent: pulumi.Resource, topic_arn: pulumi.Input[str], *, namespace: str, metric: str,
                 dimensions: Mapping[str, pulumi.Input[str]], description: str, statistic: str = "Sum",
                 period_seconds: int = 60, evaluation_periods: int = 1, threshold: float = 0,
                 comparison: str = "GreaterThanThreshold", treat_missing_data: str = "notBreaching",
                 datapoints_to_alarm: Optional[int] = None,
                 actions: tuple[pulumi.Input[str], ...] = (),
                 provider: Optional[pulumi.ProviderResource] = None) -> aws.cloudwatch.MetricAlarm:
    """An alarm on one metric that notifies ``topic_arn`` (and runs ``actions``, e.g. EC2 recovery) when it
    fires, and the topic again when it clears. ``provider``: where the metric is published when not in the
    stack's region (CloudFront's are in us-east-1); the topic must be in that region too. A percentile
    ``statistic`` (``p99``) is set as the alarm's extended statistic, the only place CloudWatch accepts one."""
    if comparison not in COMPARISONS:
        raise ValueError(f"comparison {comparison!r}: one of {', '.join(COMPARISONS)}")
    percentile = PERCENTILE.fullmatch(statistic) is not None
    return aws.cloudwatch.MetricAlarm(
        name, alarm_description=description, namespace=namespace, metric_name=metric,
        dimensions=dict(dimensions), statistic=None if percentile else statistic,
        extended_statistic=statistic if percentile else None, period=period_seconds,
        evaluation_periods=evaluation_periods, datapoints_to_alarm=datapoints_to_alarm, threshold=threshold,
        comparison_operator=comparison, treat_missing_data=treat_missing_data,
        alarm_actions=[topic_arn, *actions], ok_actions=[topic_arn],
        opts=pulumi.ResourceOptions(parent=parent, provider=provider))


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


def load_balancer_alarms(name: str, parent: pulumi.Resource, topic_arn: pulumi.Input[str],
                         load_balancer_suffix: pulumi.Input[str], target_group_suffix: pulumi.Input[str],
                         server_errors_per_minute: int = 5, response_time_p99_seconds: float = 2.0
                         ) -> list[aws.cloudwatch.MetricAlarm]:
    """5xx from the targets and from the load balancer itself, slow responses, and unhealthy targets."""
    lb = {"LoadBalancer": load_balancer_suffix}
    target = {**lb, "TargetGroup": target_group_suffix}
    return [
        metric_alarm(f"{name}-target-5xx", parent, topic_arn, namespace="AWS/ApplicationELB",
                     metric="HTTPCode_Target_5XX_Count", dimensions=target, threshold=server_errors_per_minute,
                     comparison="GreaterThanOrEqualToThreshold", evaluation_periods=2, datapoints_to_alarm=2,
                     description=f"{name}: the service answers 5xx ({server_errors_per_minute}+ a minute)"),
        metric_alarm(f"{name}-lb-5xx", parent, topic_arn, namespace="AWS/ApplicationELB",
                     metric="HTTPCode_ELB_5XX_Count", dimensions=lb, threshold=server_errors_per_minute,
                     comparison="GreaterThanOrEqualToThreshold", evaluation_periods=2, datapoints_to_alarm=2,
                     description=f"{name}: the load balancer answers 5xx (no healthy target, timeouts)"),
        metric_alarm(f"{name}-response-time", parent, topic_arn, namespace="AWS/ApplicationELB",
                     metric="TargetResponseTime", dimensions=target, statistic="p99",
                     threshold=response_time_p99_seconds, evaluation_periods=3, datapoints_to_alarm=3,
                     description=f"{name}: p99 response time above {response_time_p99_seconds:g} s"),
        metric_alarm(f"{name}-unhealthy-targets", parent, topic_arn, namespace="AWS/ApplicationELB",
                     metric="UnHealthyHostCount", dimensions=target, statistic="Maximum", threshold=0,
                     evaluation_periods=2, datapoints_to_alarm=2,
                     description=f"{name}: a target fails its health checks"),
    ]


def running_tasks_alarm(name: str, parent: pulumi.Resource, topic_arn: pulumi.Input[str],
                        cluster_name: pulumi.Input[str], service_name: pulumi.Input[str],
                        minimum: int) -> aws.cloudwatch.MetricAlarm:
    """Fewer tasks running than the service's minimum, for 3 minutes (Container Insights metric)."""
    return metric_alarm(f"{name}-running-tasks", parent, topic_arn, namespace="ECS/ContainerInsights",
                        metric="RunningTaskCount", dimensions={"ClusterName": cluster_name,
                                                               "ServiceName": service_name},
                        statistic="Minimum", threshold=minimum, comparison="LessThanThreshold",
                        evaluation_periods=3, treat_missing_data="breaching",
                        description=f"{name}: fewer than {minimum} tasks running")


def failed_task_rule(name: str, parent: pulumi.Resource, topic_arn: pulumi.Input[str],
                     cluster_arn: pulumi.Input[str]) -> aws.cloudwatch.EventRule:
    """An EventBridge rule: a task of this cluster that stopped with a container exited non-zero, or failed to start,
    notifies the topic, with the task, its group and the reason."""
    return event_rule(name, parent, topic_arn, pulumi.Output.from_input(cluster_arn).apply(failed_task_pattern),
                      f"{name}: a task stopped with a failed container",
                      {"task": "$.detail.taskArn", "group": "$.detail.group", "reason": "$.detail.stoppedReason"},
                      '"Task <task> of <group> stopped: <reason>"')


def event_rule(name: str, parent: pulumi.Resource, topic_arn: pulumi.Input[str], pattern: pulumi.Input[dict],
               description: str, input_paths: Mapping[str, str], input_template: str) -> aws.cloudwatch.EventRule:
    """An EventBridge rule on ``pattern`` whose events notify the topic as one line of text (``input_template``
    over the ``input_paths`` of the event)."""
    rule = aws.cloudwatch.EventRule(name, description=description,
                                    event_pattern=pulumi.Output.from_input(pattern).apply(json.dumps),
                                    opts=pulumi.ResourceOptions(parent=parent))
    aws.cloudwatch.EventTarget(
        name, rule=rule.name, arn=topic_arn,
        input_transformer=aws.cloudwatch.EventTargetInputTransformerArgs(input_paths=dict(input_paths),
                                                                         input_template=input_template),
        opts=pulumi.ResourceOptions(parent=rule))
    return rule


def failed_task_pattern(cluster_arn: str) -> dict:
    """Tasks of the cluster that stopped because their essential container exited and some container's exit code
    is not 0 (ECS reports ``exitCode`` per container, in the array ``containers``), or that failed to start (an
    image that cannot be pulled, a secret that cannot be read: no container ran, so none has an exit code).

    Only the final event (``STOPPED``) matches, not the ones ECS sends while the task stops. Tasks a service or a
    user stopped (scale-in, deployments, StopTask) do not match, whatever their containers' exit codes on SIGTERM."""
    return {"source": ["aws.ecs"], "detail-type": ["ECS Task State Change"],
            "detail": {"clusterArn": [cluster_arn], "lastStatus": ["STOPPED"], "$or": [
                {"stopCode": ["EssentialContainerExited"], "containers": {"exitCode": [{"anything-but": 0}]}},
                {"stopCode": ["TaskFailedToStart"]}]}}


def anomaly_alarm(name: str, parent: pulumi.Resource, topic_arn: pulumi.Input[str], *, namespace: str, metric: str,
                  dimensions: Mapping[str, pulumi.Input[str]], description: str, statistic: str = "Average",
                  period_seconds: int = 300, band_width: float = 2.0, evaluation_periods: int = 3,
                  datapoints_to_alarm: Optional[int] = None,
                  comparison: str = "GreaterThanUpperThreshold") -> aws.cloudwatch.MetricAlarm:
    """An alarm on a metric leaving the band CloudWatch's anomaly detection model expects of it (trained on the
    metric's own history, its daily and weekly pattern): ``band_width`` standard deviations wide. The managed
    counterpart of a detector trained by hand; missing data (a service with no traffic yet) is not breaching."""
    if comparison not in ANOMALY_COMPARISONS:
        raise ValueError(f"comparison {comparison!r}: one of {', '.join(ANOMALY_COMPARISONS)}")
    return aws.cloudwatch.MetricAlarm(
        name, alarm_description=description, comparison_operator=comparison, evaluation_periods=evaluation_periods,
        datapoints_to_alarm=datapoints_to_alarm, threshold_metric_id="band", treat_missing_data="notBreaching",
        metric_queries=[
            aws.cloudwatch.MetricAlarmMetricQueryArgs(
                id="metric", return_data=True, label=f"{metric} ({statistic})",
                metric=aws.cloudwatch.MetricAlarmMetricQueryMetricArgs(
                    namespace=namespace, metric_name=metric, dimensions=dict(dimensions), stat=statistic,
                    period=period_seconds)),
            aws.cloudwatch.MetricAlarmMetricQueryArgs(
                id="band", return_data=True, label=f"{metric} expected band",
                expression=f"ANOMALY_DETECTION_BAND(metric, {band_width:g})"),
        ],
        alarm_actions=[topic_arn], ok_actions=[topic_arn], opts=pulumi.ResourceOptions(parent=parent))
