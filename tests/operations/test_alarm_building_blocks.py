"""Every alarm the building blocks make, under the mock engine: namespace, metric, dimensions, statistic, period,
threshold, comparison, missing data and actions; the failed-task rule's target; the status checks' settings."""
from __future__ import annotations

import json

import pulumi
import pytest

from components import alarms
from components.args import InvalidArgument
from components.instance_health import StatusChecks, status_check_alarms
from tests.conftest import run_components

TOPIC = "arn:aws:sns:us-east-1:123456789012:test-alerts"
CLUSTER = "arn:aws:ecs:us-east-1:123456789012:cluster/jobs"
RECOVER, REBOOT = "arn:aws:automate:us-east-1:ec2:recover", "arn:aws:automate:us-east-1:ec2:reboot"
LB, TARGETS = "app/web/50dc6c495c0c9188", "targetgroup/web/73e2d6bc24d8a067"


class Holder(pulumi.ComponentResource):
    def __init__(self) -> None:
        super().__init__("test:alarms:Holder", "holder")


def build() -> None:
    parent = Holder()
    alarms.lambda_alarms("fn", parent, TOPIC, "fn-7c1d2e3")
    alarms.queue_not_empty_alarm("dlq", parent, TOPIC, "dlq-4f5a6b7", "events that failed")
    alarms.load_balancer_alarms("web", parent, TOPIC, LB, TARGETS, server_errors_per_minute=7,
                                response_time_p99_seconds=1.5)
    alarms.running_tasks_alarm("svc", parent, TOPIC, "jobs", "svc-1a2b3c4", minimum=2)
    alarms.failed_task_rule("tasks", parent, TOPIC, CLUSTER)
    alarms.anomaly_alarm("cpu", parent, TOPIC, namespace="AWS/ECS", metric="CPUUtilization",
                         dimensions={"ClusterName": "jobs", "ServiceName": "svc-1a2b3c4"},
                         description="cpu: CPU outside the band anomaly detection expects", band_width=3)
    status_check_alarms("host", parent, TOPIC, "i-0123456789abcdef0", "t4g.nano", StatusChecks())
    status_check_alarms("store", parent, TOPIC, "i-0fedcba9876543210", "i3.large",
                        StatusChecks(recover_on_system_failure=False, reboot_on_instance_failure=False,
                                     status_check_period_seconds=60, status_check_evaluation_periods=3))


@pytest.fixture(scope="module")
def plan():
    return run_components(build)


# name: (namespace, metric, dimensions, statistic, period, evaluations, datapoints, threshold, comparison,
#        missing data, alarm actions)
EXPECTED = {
    "fn-errors": ("AWS/Lambda", "Errors", {"FunctionName": "fn-7c1d2e3"}, "Sum", 60, 1, None, 0,
                  "GreaterThanThreshold", "notBreaching", [TOPIC]),
    "fn-throttles": ("AWS/Lambda", "Throttles", {"FunctionName": "fn-7c1d2e3"}, "Sum", 60, 1, None, 0,
                     "GreaterThanThreshold", "notBreaching", [TOPIC]),
    "dlq-not-empty": ("AWS/SQS", "ApproximateNumberOfMessagesVisible", {"QueueName": "dlq-4f5a6b7"}, "Maximum", 300,
                      1, None, 0, "GreaterThanThreshold", "notBreaching", [TOPIC]),
    "web-target-5xx": ("AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", {"LoadBalancer": LB, "TargetGroup": TARGETS},
                       "Sum", 60, 2, 2, 7, "GreaterThanOrEqualToThreshold", "notBreaching", [TOPIC]),
    "web-lb-5xx": ("AWS/ApplicationELB", "HTTPCode_ELB_5XX_Count", {"LoadBalancer": LB}, "Sum", 60, 2, 2, 7,
                   "GreaterThanOrEqualToThreshold", "notBreaching", [TOPIC]),
    "web-response-time": ("AWS/ApplicationELB", "TargetResponseTime", {"LoadBalancer": LB, "TargetGroup": TARGETS},
                          "p99", 60, 3, 3, 1.5, "GreaterThanThreshold", "notBreaching", [TOPIC]),
    "web-unhealthy-targets": ("AWS/ApplicationELB", "UnHealthyHostCount", {"LoadBalancer": LB, "TargetGroup": TARGETS},
                              "Maximum", 60, 2, 2, 0, "GreaterThanThreshold", "notBreaching", [TOPIC]),
    "svc-running-tasks": ("ECS/ContainerInsights", "RunningTaskCount", {"ClusterName": "jobs",
                                                                        "ServiceName": "svc-1a2b3c4"},
                          "Minimum", 60, 3, None, 2, "LessThanThreshold", "breaching", [TOPIC]),
    "host-system-check": ("AWS/EC2", "StatusCheckFailed_System", {"InstanceId": "i-0123456789abcdef0"}, "Maximum",
                          300, 2, None, 1, "GreaterThanOrEqualToThreshold", "missing", [TOPIC, RECOVER]),
    "host-instance-check": ("AWS/EC2", "StatusCheckFailed_Instance", {"InstanceId": "i-0123456789abcdef0"},
                            "Maximum", 300, 2, None, 1, "GreaterThanOrEqualToThreshold", "missing", [TOPIC, REBOOT]),
    "host-attached-ebs-check": ("AWS/EC2", "StatusCheckFailed_AttachedEBS", {"InstanceId": "i-0123456789abcdef0"},
                                "Maximum", 300, 2, None, 1, "GreaterThanOrEqualToThreshold", "missing", [TOPIC]),
    "store-system-check": ("AWS/EC2", "StatusCheckFailed_System", {"InstanceId": "i-0fedcba9876543210"}, "Maximum",
                           60, 3, None, 1, "GreaterThanOrEqualToThreshold", "missing", [TOPIC]),
    "store-instance-check": ("AWS/EC2", "StatusCheckFailed_Instance", {"InstanceId": "i-0fedcba9876543210"},
                             "Maximum", 60, 3, None, 1, "GreaterThanOrEqualToThreshold", "missing", [TOPIC]),
    "store-attached-ebs-check": ("AWS/EC2", "StatusCheckFailed_AttachedEBS", {"InstanceId": "i-0fedcba9876543210"},
                                 "Maximum", 60, 3, None, 1, "GreaterThanOrEqualToThreshold", "missing", [TOPIC]),
}


def test_the_building_blocks_make_exactly_these_alarms(plan):
    assert sorted(a.name for a in plan.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")) == sorted([*EXPECTED, "cpu"])


def test_the_anomaly_alarm_watches_the_metric_against_its_band_and_notifies_the_topic(plan):
    [alarm] = [a.inputs for a in plan.of_type("aws:cloudwatch/metricAlarm:MetricAlarm") if a.name == "cpu"]
    metric, band = alarm["metricQueries"]
    assert (metric["id"], metric["returnData"], metric["metric"]) == ("metric", True, {
        "namespace": "AWS/ECS", "metricName": "CPUUtilization", "stat": "Average", "period": 300,
        "dimensions": {"ClusterName": "jobs", "ServiceName": "svc-1a2b3c4"}})
    assert (band["id"], band["expression"]) == ("band", "ANOMALY_DETECTION_BAND(metric, 3)")
    assert (alarm["thresholdMetricId"], alarm["comparisonOperator"], alarm["evaluationPeriods"]) == (
        "band", "GreaterThanUpperThreshold", 3)
    assert "metricName" not in alarm and "threshold" not in alarm
    assert alarm["alarmActions"] == alarm["okActions"] == [TOPIC] and alarm["treatMissingData"] == "notBreaching"


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_alarm_watches_its_metric_and_notifies_the_topic_when_it_fires_and_clears(plan, name):
    [alarm] = [a.inputs for a in plan.of_type("aws:cloudwatch/metricAlarm:MetricAlarm") if a.name == name]
    (namespace, metric, dimensions, statistic, period, evaluations, datapoints, threshold, comparison, missing,
     actions) = EXPECTED[name]
    assert (alarm["namespace"], alarm["metricName"], alarm["dimensions"]) == (namespace, metric, dimensions)
    percentile = statistic.startswith("p")
    assert alarm.get("extendedStatistic" if percentile else "statistic") == statistic
    assert alarm.get("statistic" if percentile else "extendedStatistic") is None
    assert (alarm["period"], alarm["evaluationPeriods"], alarm.get("datapointsToAlarm")) == (period, evaluations,
                                                                                             datapoints)
    assert (alarm["threshold"], alarm["comparisonOperator"], alarm["treatMissingData"]) == (threshold, comparison,
                                                                                           missing)
    assert alarm["alarmActions"] == actions and alarm["okActions"] == [TOPIC]
    assert alarm["alarmDescription"].startswith(name.split("-")[0] + ": ")  # says whose alarm it is


def test_the_failed_task_rule_tells_the_topic_which_task_stopped_and_why(plan):
    [rule] = plan.of_type("aws:cloudwatch/eventRule:EventRule")
    assert json.loads(rule.inputs["eventPattern"]) == alarms.failed_task_pattern(CLUSTER)
    [target] = plan.of_type("aws:cloudwatch/eventTarget:EventTarget")
    assert target.inputs["arn"] == TOPIC and target.parent == rule.urn
    transformer = target.inputs["inputTransformer"]
    assert transformer["inputPaths"] == {"task": "$.detail.taskArn", "group": "$.detail.group",
                                         "reason": "$.detail.stoppedReason"}
    assert transformer["inputTemplate"] == '"Task <task> of <group> stopped: <reason>"'


def test_every_alarm_is_a_child_of_the_component_that_made_it(plan):
    [holder] = [r for r in plan.resources if r.type == "test:alarms:Holder"]
    assert {a.parent for a in plan.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")} == {holder.urn}


@pytest.mark.parametrize(("instance_type", "why"), [
    ("i3.large", "the i3 family"), ("m5d.xlarge", "the m5d family"), ("c6g.metal", "metal instances"),
    ("m7i.metal-24xl", "metal instances"), ("t4g", "not an instance type")])
def test_recovery_is_refused_for_types_ec2_cannot_recover(instance_type, why):
    with pytest.raises(InvalidArgument) as error:
        StatusChecks().check_instance_type(instance_type)
    assert error.value.key == "instance_type" and why in error.value.allowed
    assert "recover_on_system_failure: false" in error.value.allowed
    StatusChecks(recover_on_system_failure=False).check_instance_type("i3.large")  # no recovery asked: fine


@pytest.mark.parametrize("instance_type", ["t4g.nano", "t3.micro", "m6g.large", "c5n.18xlarge", "x1e.xlarge",
                                           "x2iedn.2xlarge", "u-6tb1.56xlarge", "r3.large"])
def test_recovery_is_accepted_for_the_families_the_ec2_guide_lists(instance_type):
    StatusChecks().check_instance_type(instance_type)


def test_status_checks_refuse_alarms_cloudwatch_would_refuse_or_that_never_fire():
    with pytest.raises(InvalidArgument) as error:
        StatusChecks(status_check_period_seconds=3600, status_check_evaluation_periods=25)
    assert error.value.key == "status_check_evaluation_periods"
    with pytest.raises(InvalidArgument) as error:
        StatusChecks(status_check_comparison="GreaterThanThreshold")
    assert error.value.key == "status_check_threshold"
    with pytest.raises(InvalidArgument) as error:
        StatusChecks(status_check_period_seconds=90)
    assert error.value.key == "status_check_period_seconds"
    assert StatusChecks(status_check_comparison="GreaterThanThreshold", status_check_threshold=0.5)


def test_the_alarm_set_itself_refuses_an_instance_it_cannot_recover():
    with pytest.raises(InvalidArgument):
        run_components(lambda: status_check_alarms("host", Holder(), TOPIC, "i-0123", "m5d.large", StatusChecks()))
