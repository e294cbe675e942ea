"""ContainerOnDemand's other triggers: an EventBridge rule and a tagged schedule under the mock engine (targets,
roles, trust, dead letters), their config errors, and the rule's event pattern against sample events on moto's
EventBridge delivering to SQS."""
from __future__ import annotations

import json

import boto3
import pytest
from moto import mock_aws

from components.args import InvalidArgument
from components.container_on_demand import ContainerOnDemand, ContainerOnDemandArgs, InvokerSpec, TaskContainer
from components.task_triggers import RuleTrigger, ScheduleTrigger
from planning.mocks import autoname
from runtime.task_invoker import contract as invoker
from tests.conftest import run_components

ACCOUNT = "123456789012"
IMAGE = f"{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/reports@sha256:{'a' * 64}"
# A sample rule: a report task whenever an object lands in another bucket (S3 events through EventBridge).
PATTERN = {"source": ["aws.s3"], "detail-type": ["Object Created"],
           "detail": {"bucket": {"name": ["partner-drop"]}, "object": {"key": [{"prefix": "daily/"}]}}}
RULE = RuleTrigger("partner-drop", event_pattern=PATTERN, environment={"REPORT_KIND": "partner"},
                   tags={"started-by": "partner-drop"}, retry_attempts=5, max_event_age_seconds=600)
SCHEDULE = ScheduleTrigger("hourly", expression="rate(1 hour)", tags={"started-by": "hourly"},
                           environment={"REPORT_KIND": "hourly"})


def args(**changes) -> ContainerOnDemandArgs:
    values = dict(vpc_id="vpc-0123456789abcdef0", subnet_ids=["subnet-0a", "subnet-0b"], assign_public_ip=False,
                  container=TaskContainer("report", image=IMAGE, bucket_variable="BUCKET", key_variable="KEY"),
                  invoker=InvokerSpec(invoker.SOURCE_DIR, invoker.environment), rules=[RULE], schedules=[SCHEDULE],
                  input_prefix="incoming/", output_prefix="reports/", suffixes=[".csv"])
    return ContainerOnDemandArgs(**{**values, **changes})


@pytest.fixture(scope="module")
def plan():
    return run_components(lambda: ContainerOnDemand("reports", args()))


def one(plan, type_token, name_prefix=""):
    [resource] = [r for r in plan.of_type(type_token) if r.name.startswith(name_prefix)]
    return resource


def statements(plan, role_prefix):
    return json.loads(one(plan, "aws:iam/rolePolicy:RolePolicy", role_prefix).inputs["policy"])["Statement"]


def arn(service: str, path: str) -> str:
    return f"arn:aws:{service}:us-east-1:{ACCOUNT}:{path}"


def test_the_rule_runs_the_task_directly_with_overrides_tags_retries_and_dead_letters(plan):
    rule = one(plan, "aws:cloudwatch/eventRule:EventRule", "reports-partner-drop")
    assert json.loads(rule.inputs["eventPattern"]) == PATTERN
    target = one(plan, "aws:cloudwatch/eventTarget:EventTarget", "reports-partner-drop").inputs
    cluster = one(plan, "aws:ecs/cluster:Cluster")
    assert target["arn"] == arn("ecs", f"cluster/{autoname(cluster.name, cluster.inputs)}")
    assert target["rule"] == autoname(rule.name, rule.inputs)
    ecs = target["ecsTarget"]
    assert ecs["taskDefinitionArn"] == arn("ecs", "task-definition/reports-report:1")
    assert (ecs["launchType"], ecs["taskCount"], ecs["tags"]) == ("FARGATE", 1, {"started-by": "partner-drop"})
    assert ecs["networkConfiguration"]["subnets"] == ["subnet-0a", "subnet-0b"]
    assert ecs["networkConfiguration"]["assignPublicIp"] is False
    assert json.loads(target["input"]) == {"containerOverrides": [
        {"name": "report", "environment": [{"name": "REPORT_KIND", "value": "partner"}]}]}
    assert target["retryPolicy"] == {"maximumRetryAttempts": 5, "maximumEventAgeInSeconds": 600}
    queue = one(plan, "aws:sqs/queue:Queue")
    assert target["deadLetterConfig"] == {"arn": arn("sqs", autoname(queue.name, queue.inputs))}


def test_the_rules_role_trusts_only_its_rules_and_may_tag_only_the_tasks_it_starts(plan):
    rule = one(plan, "aws:cloudwatch/eventRule:EventRule", "reports-partner-drop")
    rule_arn = arn("events", f"rule/{autoname(rule.name, rule.inputs)}")
    [trust] = json.loads(one(plan, "aws:iam/role:Role", "reports-rules").inputs["assumeRolePolicy"])["Statement"]
    assert trust["Principal"] == {"Service": "events.amazonaws.com"}
    assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": ACCOUNT},
                                  "ArnLike": {"aws:SourceArn": rule_arn}}
    cluster = one(plan, "aws:ecs/cluster:Cluster")
    by_sid = {s["Sid"]: s for s in statements(plan, "reports-rules")}
    assert set(by_sid) == {"RunEventTasks", "PassTaskRoles", "TagStartedTasks"}
    assert by_sid["RunEventTasks"]["Resource"] == arn("ecs", "task-definition/reports-report:*")
    assert by_sid["TagStartedTasks"] == {
        "Sid": "TagStartedTasks", "Effect": "Allow", "Action": "ecs:TagResource",
        "Resource": arn("ecs", f"task/{autoname(cluster.name, cluster.inputs)}/*"),
        "Condition": {"StringEquals": {"ecs:CreateAction": "RunTask"}}}
    [queue_statement] = json.loads(one(plan, "aws:sqs/queuePolicy:QueuePolicy").inputs["policy"])["Statement"]
    assert queue_statement["Principal"] == {"Service": "events.amazonaws.com"}
    assert queue_statement["Action"] == "sqs:SendMessage"
    assert queue_statement["Condition"] == {"ArnEquals": {"aws:SourceArn": rule_arn}}


def test_a_tagged_schedule_may_tag_and_an_image_ref_needs_no_repository(plan):
    assert "TagStartedTasks" in {s["Sid"] for s in statements(plan, "reports-scheduler")}
    schedule = one(plan, "aws:scheduler/schedule:Schedule").inputs
    assert schedule["flexibleTimeWindow"] == {"mode": "OFF"}
    assert schedule["target"]["ecsParameters"]["tags"] == {"started-by": "hourly"}
    assert not plan.of_type("aws:ecr/repository:Repository") and not plan.of_type("docker-build:index:Image")
    [container] = json.loads(one(plan, "aws:ecs/taskDefinition:TaskDefinition").inputs["containerDefinitions"])
    assert container["image"] == IMAGE
    assert {"LogInToEcr", "PullTaskImages"}.isdisjoint(s["Sid"] for s in statements(plan, "reports-report-execution"))
    assert not plan.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")  # no topic given: no alarms


def test_untagged_triggers_get_no_tag_permission():
    plan = run_components(lambda: ContainerOnDemand("reports", args(
        rules=[RuleTrigger("drop", event_pattern=PATTERN)], schedules=[])))
    assert "TagStartedTasks" not in {s["Sid"] for s in statements(plan, "reports-rules")}
    assert not plan.of_type("aws:scheduler/schedule:Schedule")


@pytest.mark.parametrize(("changes", "key"), [
    ({"schedules": [ScheduleTrigger("nightly", expression="cron(0 3 * * *)")]}, "schedules.nightly.expression"),
    ({"schedules": [ScheduleTrigger("nightly", timezone="Berlin")]}, "schedules.nightly.timezone"),
    ({"schedules": [ScheduleTrigger("nightly", flexible_window_minutes=1441)]},
     "schedules.nightly.flexible_window_minutes"),
    ({"schedules": [ScheduleTrigger("Nightly")]}, "schedules.name"),
    ({"schedules": [ScheduleTrigger("a"), ScheduleTrigger("a")]}, "schedules"),
    ({"rules": [RuleTrigger("drop")]}, "rules.drop.event_pattern"),
    ({"rules": [RuleTrigger("drop", event_pattern=PATTERN, retry_attempts=186)]}, "rules.drop.retry_attempts"),
    ({"container": TaskContainer("report", bucket_variable="BUCKET", key_variable="KEY")}, "container"),
    ({"output_prefix": "incoming/reports/"}, "output_prefix"),
])
def test_invalid_triggers_and_containers_are_refused_naming_the_field(changes, key):
    with pytest.raises(InvalidArgument) as error:
        args(**changes)
    assert error.value.key == key


def sample_s3_event(bucket: str, key: str) -> dict:
    return {"Source": "aws.s3", "DetailType": "Object Created",
            "Detail": json.dumps({"version": "0", "bucket": {"name": bucket},
                                  "object": {"key": key, "size": 10, "sequencer": "00A1"}, "reason": "PutObject"})}


def test_the_planned_event_pattern_matches_the_events_it_should_and_no_others(plan):
    pattern = one(plan, "aws:cloudwatch/eventRule:EventRule", "reports-partner-drop").inputs["eventPattern"]
    with mock_aws():
        sqs, events = boto3.client("sqs", region_name="us-east-1"), boto3.client("events", region_name="us-east-1")
        queue = sqs.create_queue(QueueName="delivered")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        events.put_rule(Name="partner-drop", EventPattern=pattern)
        events.put_targets(Rule="partner-drop", Targets=[{"Id": "queue", "Arn": queue_arn}])
        samples = [sample_s3_event("partner-drop", "daily/2026-12-01.csv"),  # the only match
                   sample_s3_event("partner-drop", "weekly/2026-48.csv"), sample_s3_event("other", "daily/x.csv"),
                   {**sample_s3_event("partner-drop", "daily/y.csv"), "DetailType": "Object Deleted"}]
        assert events.put_events(Entries=samples)["FailedEntryCount"] == 0
        messages = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", [])
    assert [json.loads(m["Body"])["detail"]["object"]["key"] for m in messages] == ["daily/2026-12-01.csv"]
