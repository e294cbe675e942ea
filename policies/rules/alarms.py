"""Alarms: every pattern stack has alarms, and every alarm notifies a topic (an alarm that tells nobody is none).

A stack is told by its top-level components, the ones its program made: a stack with a component that is not one
of the environment's supporting components (``SUPPORTING``: nothing in them fails at run time in a way an alarm of
their own could tell) and that has AWS resources is a pattern stack. A stack with no AWS resource (the GCP label
detector) has nothing CloudWatch could watch; its failures reach the AWS stack that calls it (the label proxy's
errors and 5xx alarms). A stack of loose resources, with no component of this project, is not told at all.
"""
from __future__ import annotations

from collections.abc import Iterable

from policies.rules.core import Finding, Resource, Stack, _as_list, known, stack_rule

METRIC_ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
ROOT = "pulumi:pulumi:Stack"
SUPPORTING = {
    "cloud-patterns:network:Network": "the network: it runs nothing that fails by itself; flow logs are its record",
    "cloud-patterns:operations:AlertTopic": "the alert topic: an alarm on it would notify the topic it watches",
    "cloud-patterns:operations:Dashboard": "the dashboard: it runs nothing, and shows the other stacks' alarms",
}


def top_level_components(stack: Stack) -> list[Resource]:
    """The components the program made itself (their parent is the stack)."""
    def top(resource: Resource) -> bool:
        parent = stack.by_urn.get(resource.parent or "")
        return parent is None or parent.type == ROOT
    return [r for r in stack.resources if r.type.startswith("cloud-patterns:") and top(r)]


def notifies_a_topic(alarm: Resource) -> bool:
    """True when an alarm action is an SNS topic, or cannot be told yet (a preview's unknown value)."""
    actions = alarm.props.get("alarmActions")
    if not known(actions):
        return True
    return any(not known(a) or str(a).startswith("arn:aws:sns:") for a in _as_list(actions))


def patterns(stack: Stack) -> list[Resource]:
    """The stack's top-level pattern components (none: not a pattern stack)."""
    if not any(r.type.startswith("aws:") for r in stack.resources):
        return []
    return [c for c in top_level_components(stack) if c.type not in SUPPORTING]


def is_pattern_stack(stack: Stack) -> bool:
    return bool(patterns(stack))


@stack_rule("pattern-alarms-notify-a-topic", "Every pattern stack has alarms, and every alarm notifies an SNS topic "
                                             "(the environment's, from the alerts stack)")
def pattern_alarms_notify_a_topic(stack: Stack) -> Iterable[Finding]:
    components = patterns(stack)
    if not components:
        return
    alarms = stack.of_type(METRIC_ALARM)
    for alarm in alarms:
        if not notifies_a_topic(alarm):
            yield Finding(alarm, "notifies no SNS topic when it fires (alarmActions): nobody would hear it")
    if not any(notifies_a_topic(alarm) for alarm in alarms):
        yield Finding(components[0], "no alarm of this stack notifies a topic: give the pattern the alerts stack's "
                               "topic_arn (alarm_topic_arn), so its failures are heard")
