"""CloudWatch: an alarm notifies topics of its own region (CloudWatch refuses any other, at deployment)."""
from __future__ import annotations

from collections.abc import Iterable

from policies.rules.core import Finding, Stack, _as_list, known, stack_rule

METRIC_ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"


def _region(arn: object) -> str | None:
    return arn.split(":")[3] if isinstance(arn, str) and arn.startswith("arn:") and arn.count(":") >= 5 else None


@stack_rule("alarm-topic-same-region", "CloudWatch alarms notify SNS topics of their own region (an alarm on "
                                       "CloudFront's metrics is in us-east-1, and so must its topic be)")
def alarm_topic_same_region(stack: Stack) -> Iterable[Finding]:
    for alarm in stack.of_type(METRIC_ALARM):
        region = _region(alarm.props.get("arn"))
        if region is None:
            continue
        for key in ("alarmActions", "okActions", "insufficientDataActions"):
            for action in _as_list(alarm.props.get(key)):
                if known(action) and str(action).startswith("arn:aws:sns:") and _region(action) != region:
                    yield Finding(alarm, f"{key} notifies {action}, a topic outside the alarm's region {region}")
