"""Every pattern stack of dev and prod has alarms, every alarm notifies that environment's topic (and only
EC2's own actions besides), every failure rule too; and the policy rule sees the same stacks as patterns."""
from __future__ import annotations

import pytest

from policies.evaluate import check_plan, planned_outputs
from policies.rules import Stack
from policies.rules.alarms import is_pattern_stack
from tests.conftest import planned

NOT_PATTERNS = {"network": "the VPC", "alerts": "the topic itself", "dashboard": "shows the others' alarms",
                "label-detector": "GCP: its failures reach the label proxy's alarms"}
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"


@pytest.fixture(scope="module", params=["dev", "prod"])
def plans(request):
    return {plan.spec.short_name: plan for plan in planned(request.param)}


def topic(plans) -> str:
    return plans["alerts"].outputs["topic_arn"]


def patterns(plans) -> dict:
    return {name: plan for name, plan in plans.items() if name not in NOT_PATTERNS}


def test_every_pattern_stack_has_alarms(plans):
    assert patterns(plans) and [name for name, plan in patterns(plans).items() if not plan.of_type(ALARM)] == []


def test_every_alarm_notifies_the_environments_topic_when_it_fires_and_clears(plans):
    region = plans["alerts"].spec.region
    for name, plan in patterns(plans).items():
        for alarm in plan.of_type(ALARM):
            actions = alarm.inputs["alarmActions"]
            assert actions[0] == topic(plans), (name, alarm.name)
            assert all(a.startswith(f"arn:aws:automate:{region}:ec2:") for a in actions[1:]), (name, alarm.name)
            assert alarm.inputs["okActions"] == [topic(plans)], (name, alarm.name)


def test_every_alarm_watches_a_metric_over_a_period(plans):
    for plan in patterns(plans).values():
        for alarm in plan.of_type(ALARM):
            inputs = alarm.inputs
            assert inputs.get("metricName") or inputs.get("metricQueries"), alarm.name
            assert inputs.get("namespace") or inputs.get("metricQueries"), alarm.name
            assert inputs.get("statistic") or inputs.get("extendedStatistic") or inputs.get("metricQueries")
            assert inputs["comparisonOperator"] and ("threshold" in inputs or "thresholdMetricId" in inputs)
            assert inputs["alarmDescription"], alarm.name


def test_failure_rules_deliver_to_the_environments_topic(plans):
    targets = [t for plan in patterns(plans).values() for t in plan.of_type("aws:cloudwatch/eventTarget:EventTarget")
               if str(t.inputs["arn"]).startswith("arn:aws:sns:")]
    assert targets and {t.inputs["arn"] for t in targets} == {topic(plans)}


def test_the_policy_rule_judges_exactly_the_pattern_stacks(plans):
    for name, plan in plans.items():
        assert is_pattern_stack(Stack(planned_outputs(plan))) is (name not in NOT_PATTERNS), name
        assert [v for v in check_plan(plan).violations if v.policy == "pattern-alarms-notify-a-topic"] == [], name
