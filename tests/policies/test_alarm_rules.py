"""The rule "every pattern stack has alarms wired to a topic": stacks that break it and stacks that keep it, the
supporting stacks it exempts, and what it cannot prove during a preview."""
from __future__ import annotations

import pytest

from policies import rules
from policies.rules import UNKNOWN, Resource, Stack

ACCOUNT = "123456789012"
TOPIC = f"arn:aws:sns:us-east-1:{ACCOUNT}:dev-alerts"
RECOVER = "arn:aws:automate:us-east-1:ec2:recover"
ROOT = "urn:pulumi:dev::cloud-patterns::pulumi:pulumi:Stack::cloud-patterns-dev"


def res(type_: str, name: str, parent: str | None = ROOT, /, **props) -> Resource:
    return Resource(type_, name, props, urn=f"urn:pulumi:dev::cloud-patterns::{type_}::{name}", parent=parent)


def component(type_: str, name: str) -> Resource:
    return res(type_, name)


def child(of: Resource, type_: str, name: str, **props) -> Resource:
    return res(type_, name, of.urn, **props)


def alarm(of: Resource, name: str, *actions) -> Resource:
    return child(of, "aws:cloudwatch/metricAlarm:MetricAlarm", name, alarmActions=list(actions), okActions=[TOPIC])


PATTERN = component("cloud-patterns:patterns:ContainerOnDemand", "dev-jobs")
QUEUE = child(PATTERN, "aws:sqs/queue:Queue", "dev-jobs-failures")
NETWORK = component("cloud-patterns:network:Network", "dev")
TOPIC_COMPONENT = component("cloud-patterns:operations:AlertTopic", "dev-alerts")
DASHBOARD = component("cloud-patterns:operations:Dashboard", "dev-board")


def messages(*resources: Resource) -> list[str]:
    findings = rules.rule("pattern-alarms-notify-a-topic").findings(list(resources), Stack(resources))
    return [f"{f.resource.name}: {f.message}" for f in findings]


@pytest.mark.parametrize(("resources", "expected"), [
    ([PATTERN, QUEUE], ["dev-jobs: no alarm of this stack notifies a topic"]),
    ([PATTERN, QUEUE, alarm(PATTERN, "dev-jobs-errors")],
     ["dev-jobs-errors: notifies no SNS topic", "dev-jobs: no alarm of this stack notifies a topic"]),
    ([PATTERN, QUEUE, alarm(PATTERN, "dev-jobs-errors", TOPIC), alarm(PATTERN, "dev-jobs-host", RECOVER)],
     ["dev-jobs-host: notifies no SNS topic"]),
    ([NETWORK, child(NETWORK, "aws:ec2/vpc:Vpc", "dev-vpc"), PATTERN, QUEUE],  # a pattern beside the network
     ["dev-jobs: no alarm of this stack notifies a topic"]),
], ids=["no-alarm", "alarm-notifying-nobody", "one-of-two-notifies-nobody", "mixed-stack"])
def test_a_pattern_stack_without_alarms_on_a_topic_is_reported(resources, expected):
    found = messages(*resources)
    assert len(found) == len(expected) and all(f.startswith(e) for f, e in zip(found, expected)), found


@pytest.mark.parametrize("resources", [
    [PATTERN, QUEUE, alarm(PATTERN, "dev-jobs-errors", TOPIC), alarm(PATTERN, "dev-jobs-host", TOPIC, RECOVER)],
    [PATTERN, QUEUE, alarm(PATTERN, "dev-jobs-errors", UNKNOWN)],  # a preview: the topic is not known yet
    [PATTERN, QUEUE, child(PATTERN, "aws:cloudwatch/metricAlarm:MetricAlarm", "dev-jobs-x", alarmActions=UNKNOWN)],
    [NETWORK, child(NETWORK, "aws:ec2/vpc:Vpc", "dev-vpc")],
    [TOPIC_COMPONENT, child(TOPIC_COMPONENT, "aws:sns/topic:Topic", "dev-alerts", arn=TOPIC)],
    [DASHBOARD, child(DASHBOARD, "aws:cloudwatch/dashboard:Dashboard", "dev-board")],
    [component("cloud-patterns:gcp:GcpFunction", "dev-labels"),
     res("gcp:cloudfunctionsv2/function:Function", "dev-labels")],  # nothing CloudWatch could watch
    [res("pulumi:pulumi:Stack", "cloud-patterns-dev", None), NETWORK, child(NETWORK, "aws:ec2/vpc:Vpc", "v")],
    [res("aws:sqs/queue:Queue", "loose")],  # no component of this project: nothing tells what it is
], ids=["alarms-on-the-topic", "unknown-action", "unknown-actions", "network", "alerts", "dashboard", "gcp",
        "engine-sends-the-root-stack", "loose-resources"])
def test_a_stack_keeping_the_rule_passes(resources):
    assert messages(*resources) == []


def test_a_stack_of_the_engines_shape_is_told_by_the_components_under_its_root():
    """CrossGuard hands over the root Stack resource too; top-level components are its children."""
    root = res("pulumi:pulumi:Stack", "cloud-patterns-dev", None)
    pattern = Resource(PATTERN.type, PATTERN.name, {}, urn=PATTERN.urn, parent=root.urn)
    assert messages(root, pattern, child(pattern, "aws:sqs/queue:Queue", "q")) == [
        "dev-jobs: no alarm of this stack notifies a topic: give the pattern the alerts stack's topic_arn "
        "(alarm_topic_arn), so its failures are heard"]
