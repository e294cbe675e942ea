"""The project's EventBridge patterns against sample events: the failed-task pattern as planned, judged by
``event_patterns`` (EventBridge's semantics, arrays of objects included), and that matcher checked against moto's
EventBridge (``put_events`` delivering to SQS) on every case moto decides the way EventBridge does."""
from __future__ import annotations

import copy
import json
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from components.alarms import failed_task_pattern
from components.scheduled_build import build_state_pattern
from components.upload_workflows import trigger_pattern
from tests.conftest import planned
from tests.operations.event_patterns import matches

EVENTS = Path(__file__).parent / "events"
ECS_EVENT = json.loads((EVENTS / "ecs-task-stopped.json").read_text())
BUILD_EVENT = json.loads((EVENTS / "codebuild-build-state.json").read_text())
CLUSTER = "arn:aws:ecs:us-east-1:123456789012:cluster/dev-tom-thumb-cluster"


def container(**changes) -> dict:
    """The sample's container, changed; ``exitCode=None``: it never ran, so it has none."""
    made = {**ECS_EVENT["detail"]["containers"][0], **changes}
    return {k: v for k, v in made.items() if v is not None}


def task_event(*containers: dict, cluster: str = CLUSTER, **detail) -> dict:
    """The sample ECS task event (a real Fargate event's shape), with ``containers`` and ``detail`` changed."""
    event = copy.deepcopy(ECS_EVENT)
    event["detail"].update(clusterArn=cluster, **detail)
    if containers:
        event["detail"]["containers"] = list(containers)
    return event


NOT_PULLED = "CannotPullContainerError: pull image manifest has been retried 5 time(s)"
# (case, event, whether the failed-task rule notifies)
FAILED_TASK_CASES = [
    ("exited 1", task_event(), True),
    ("exited 0", task_event(container(exitCode=0)), False),
    ("killed for memory (137)", task_event(container(exitCode=137, reason="OutOfMemoryError: Container killed due "
                                                     "to memory usage")), True),
    ("a sidecar failed beside an app that exited 0",
     task_event(container(name="app", exitCode=0), container(name="sidecar", exitCode=2)), True),
    ("every container exited 0", task_event(container(name="app", exitCode=0), container(name="sidecar", exitCode=0)),
     False),
    ("still deprovisioning (ECS sends STOPPED later)", task_event(lastStatus="DEPROVISIONING"), False),
    ("failed to start: image not pulled",
     task_event(container(exitCode=None), stopCode="TaskFailedToStart", stoppedReason=NOT_PULLED), True),
    ("failed to start: no container", task_event(stopCode="TaskFailedToStart", containers=[],
                                                 stoppedReason="ResourceInitializationError: unable to pull "
                                                               "secrets"), True),
    ("scaled in (SIGTERM, 143)", task_event(container(exitCode=143), stopCode="ServiceSchedulerInitiated",
                                            stoppedReason="Scaling activity initiated by deployment"), False),
    ("stopped by a user (137)", task_event(container(exitCode=137), stopCode="UserInitiated"), False),
    ("another cluster", task_event(cluster=CLUSTER.replace("tom-thumb", "bean-counter")), False),
    ("not a task event", {**task_event(), "detail-type": "ECS Container Instance State Change"}, False),
]


@pytest.fixture(scope="module")
def planned_patterns() -> list[dict]:
    """Every event pattern of every EventBridge rule in the dev and prod plans."""
    return [json.loads(rule.inputs["eventPattern"]) for environment in ("dev", "prod")
            for plan in planned(environment)
            for rule in plan.of_type("aws:cloudwatch/eventRule:EventRule")]


def failed_task_patterns(patterns: list[dict]) -> list[dict]:
    return [p for p in patterns if p["source"] == ["aws.ecs"]]


def build_state_patterns(patterns: list[dict]) -> list[dict]:
    return [p for p in patterns if p["source"] == ["aws.codebuild"]]


def upload_patterns(patterns: list[dict]) -> list[dict]:
    return [p for p in patterns if p["source"] == ["aws.s3"]]


def test_every_planned_event_pattern_is_one_tested_here(planned_patterns):
    """A new kind of pattern in the project fails here until its sample events are added to this module."""
    assert failed_task_patterns(planned_patterns) and build_state_patterns(planned_patterns)
    for pattern in failed_task_patterns(planned_patterns):
        assert pattern == failed_task_pattern(pattern["detail"]["clusterArn"][0])
    for pattern in build_state_patterns(planned_patterns):
        assert pattern == build_state_pattern(pattern["detail"]["project-name"][0], pattern["detail"]["build-status"])
    for pattern in upload_patterns(planned_patterns):
        assert pattern == trigger_pattern(pattern["detail"]["bucket"]["name"][0],
                                          pattern["detail"]["object"]["key"][0]["prefix"])
    assert len(failed_task_patterns(planned_patterns)) + len(build_state_patterns(planned_patterns)) + len(
        upload_patterns(planned_patterns)) == len(planned_patterns)


@pytest.mark.parametrize(("event", "notify"), [pytest.param(e, n, id=c) for c, e, n in FAILED_TASK_CASES])
def test_the_planned_failed_task_pattern_notifies_failed_tasks_only(planned_patterns, event, notify):
    pattern = failed_task_patterns(planned_patterns)[0]  # dev's first: its own cluster's ARN, as planned
    cluster = pattern["detail"]["clusterArn"][0]
    event = json.loads(json.dumps(event).replace(CLUSTER, cluster))
    assert matches(pattern, event) is notify


def build_event(status: str, project: str = "dev-stub-pipeline") -> dict:
    """The sample CodeBuild event (the shape AWS documents), ending ``status`` in ``project``."""
    event = copy.deepcopy(BUILD_EVENT)
    event["detail"].update({"build-status": status, "project-name": project})
    return event


# (case, event, whether dev's build-state rule notifies: its notify_on is FAILED and STOPPED)
BUILD_CASES = [("failed", build_event("FAILED"), True), ("stopped", build_event("STOPPED"), True),
               ("succeeded", build_event("SUCCEEDED"), False), ("in progress", build_event("IN_PROGRESS"), False),
               ("another project failed", build_event("FAILED", "dev-other"), False)]


@pytest.mark.parametrize(("event", "notify"), [pytest.param(e, n, id=c) for c, e, n in BUILD_CASES])
def test_the_planned_build_state_pattern_notifies_the_builds_that_ended_badly(planned_patterns, event, notify):
    [pattern] = [p for p in build_state_patterns(planned_patterns) if p["detail"]["project-name"][0].startswith("dev-")]
    event = json.loads(json.dumps(event).replace("dev-stub-pipeline", pattern["detail"]["project-name"][0]))
    assert pattern["detail"]["build-status"] == ["FAILED", "STOPPED"]
    assert matches(pattern, event) is notify


# Cases moto decides as EventBridge does: nothing inside an array of objects.
AGREEMENT = [
    ({"source": ["aws.s3"], "detail": {"bucket": {"name": ["drop"]}, "object": {"key": [{"prefix": "daily/"}]}}},
     [{"bucket": {"name": "drop"}, "object": {"key": "daily/1.csv"}},
      {"bucket": {"name": "drop"}, "object": {"key": "weekly/1.csv"}},
      {"bucket": {"name": "other"}, "object": {"key": "daily/1.csv"}}, {"bucket": {"name": "drop"}}]),
    ({"detail": {"state": [{"anything-but": ["ok", "pending"]}], "size": [{"numeric": [">", 0, "<=", 10]}]}},
     [{"state": "failed", "size": 3}, {"state": "ok", "size": 3}, {"state": "failed", "size": 11},
      {"state": "failed"}, {"size": 3}, {"state": "failed", "size": "3"}, {"state": "gone", "size": 10}]),
    ({"detail": {"code": [{"anything-but": 0}], "name": [{"exists": True}], "gone": [{"exists": False}]}},
     [{"code": 1, "name": "a"}, {"code": 0, "name": "a"}, {"code": 1}, {"code": 1, "name": "a", "gone": 1},
      {"name": "a"}, {"code": "0", "name": "b"}]),
    ({"detail": {"tags": ["blue"], "key": [{"suffix": ".mp4"}], "kind": [{"equals-ignore-case": "video"}]}},
     [{"tags": ["red", "blue"], "key": "a.mp4", "kind": "VIDEO"}, {"tags": ["red"], "key": "a.mp4", "kind": "video"},
      {"tags": "blue", "key": "a.mov", "kind": "video"}, {"tags": ["blue"], "key": "a.mp4", "kind": "audio"},
      {"tags": "blue", "key": "b.mp4", "kind": "Video"}]),
    ({"detail": {"lastStatus": ["STOPPED"], "$or": [{"stopCode": ["TaskFailedToStart"]}, {"group": ["family:x"]}]}},
     [{"lastStatus": "STOPPED", "stopCode": "TaskFailedToStart"}, {"lastStatus": "STOPPED", "group": "family:x"},
      {"lastStatus": "STOPPED", "stopCode": "UserInitiated"}, {"lastStatus": "RUNNING", "group": "family:x"}]),
]
# Events of the failed-task pattern whose outcome does not depend on the containers array.
FAILED_TASK_AGREEMENT = [case for case in FAILED_TASK_CASES if not case[2] or case[0].startswith("failed to start")]
# Where moto differs from EventBridge: it never looks inside arrays of objects.
MOTO_MISSES = [case for case in FAILED_TASK_CASES if case[2] and not case[0].startswith("failed to start")]


def delivered_by_moto(pattern: dict, events: list[dict]) -> list[bool]:
    """Which events moto's EventBridge delivers to an SQS queue through a rule with ``pattern``."""
    sqs, bus = boto3.client("sqs", region_name="us-east-1"), boto3.client("events", region_name="us-east-1")
    name = f"rule-{abs(hash(json.dumps(pattern, sort_keys=True))) % 10**8}"
    queue = sqs.create_queue(QueueName=name)["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    bus.put_rule(Name=name, EventPattern=json.dumps(pattern))
    bus.put_targets(Rule=name, Targets=[{"Id": "queue", "Arn": queue_arn}])
    entries = [{"Source": e["source"], "DetailType": e["detail-type"], "Resources": e.get("resources", []),
                "Detail": json.dumps({**e["detail"], "sample": index})} for index, e in enumerate(events)]
    for start in range(0, len(entries), 10):  # PutEvents takes at most 10 entries
        assert bus.put_events(Entries=entries[start:start + 10])["FailedEntryCount"] == 0
    seen: set[int] = set()
    while messages := sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", []):
        for message in messages:
            seen.add(json.loads(message["Body"])["detail"]["sample"])
            sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
    return [index in seen for index in range(len(events))]


def event_of(detail: dict) -> dict:
    return {"source": "aws.s3" if "bucket" in detail else "test.samples", "detail-type": "Sample", "detail": detail}


@mock_aws
def test_the_matcher_agrees_with_moto_wherever_moto_matches_as_eventbridge_does():
    for pattern, details in AGREEMENT:
        events = [event_of(d) for d in details]
        assert [matches(pattern, e) for e in events] == delivered_by_moto(pattern, events), pattern
    pattern = failed_task_pattern(CLUSTER)
    events = [event for _, event, _ in FAILED_TASK_AGREEMENT]
    assert delivered_by_moto(pattern, events) == [notify for _, _, notify in FAILED_TASK_AGREEMENT]
    assert [matches(pattern, e) for e in events] == [notify for _, _, notify in FAILED_TASK_AGREEMENT]
    pattern = build_state_pattern("dev-stub-pipeline", ["FAILED", "STOPPED"])
    events = [event for _, event, _ in BUILD_CASES]
    assert delivered_by_moto(pattern, events) == [matches(pattern, e) for e in events] == [n for *_, n in BUILD_CASES]


@mock_aws
def test_moto_misses_the_failures_reported_inside_the_containers_array():
    """Why the matcher exists: if moto learns arrays of objects, test against it directly instead."""
    pattern = failed_task_pattern(CLUSTER)
    assert delivered_by_moto(pattern, [event for _, event, _ in MOTO_MISSES]) == [False] * len(MOTO_MISSES)
    assert all(matches(pattern, event) for _, event, _ in MOTO_MISSES)


def test_an_operator_the_project_does_not_use_is_refused_not_guessed():
    with pytest.raises(NotImplementedError, match="wildcard"):
        matches({"detail": {"key": [{"wildcard": "*.mp4"}]}}, {"detail": {"key": "a.mp4"}})


def upload_event(bucket: str, key: str, detail_type: str = "Object Created") -> dict:
    """An S3 event as S3 sends it to EventBridge (the shape the S3 user guide documents)."""
    return {"version": "0", "id": "17793124-05d4-b198-2fde-7ededc63b103", "detail-type": detail_type,
            "source": "aws.s3", "account": "123456789012", "time": "2026-12-02T12:00:00Z", "region": "us-east-1",
            "resources": [f"arn:aws:s3:::{bucket}"],
            "detail": {"version": "0", "bucket": {"name": bucket},
                       "object": {"key": key, "size": 5, "etag": "b1946ac92492d2347c6235b4d2611184",
                                  "sequencer": "00617F08299329D189"},
                       "request-id": "N4N7GDK58NMKJ12R", "requester": "123456789012",
                       "source-ip-address": "1.2.3.4", "reason": "PutObject"}}


UPLOAD_CASES = [("an upload under raw/", "raw/cat.jpg", "Object Created", True),
                ("deeper under raw/", "raw/2026/12/cat.png", "Object Created", True),
                ("a processed image", "processed/cat.jpg", "Object Created", False),
                ("a failed image moved", "failed/cat.jpg", "Object Created", False),
                ("raw/ deleted, not created", "raw/cat.jpg", "Object Deleted", False)]


@pytest.mark.parametrize(("key", "detail_type", "starts"), [pytest.param(k, d, s, id=c) for c, k, d, s in UPLOAD_CASES])
def test_only_uploads_under_raw_start_the_image_workflow(planned_patterns, key, detail_type, starts):
    [pattern] = [p for p in upload_patterns(planned_patterns) if p["detail"]["bucket"]["name"][0].startswith("dev-")]
    bucket = pattern["detail"]["bucket"]["name"][0]
    assert matches(pattern, upload_event(bucket, key, detail_type)) is starts
    assert not matches(pattern, upload_event("another-bucket", key, detail_type))
