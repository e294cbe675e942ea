"""The task invoker Lambda against moto's ECS (and botocore's Stubber for what moto never does: report failures,
check client tokens)."""

from __future__ import annotations

import json

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from runtime.task_invoker import contract
from runtime.task_invoker import handler as invoker
from runtime.thumbnail import contract as thumbnail

BUCKET = "tom-thumb-media"


@pytest.fixture
def configured(fargate, monkeypatch):
    for name, value in fargate.invoker_env().items():
        monkeypatch.setenv(name, value)
    return fargate


def recorded_tasks(cluster: str) -> list[dict]:
    ecs = boto3.client("ecs")
    arns = ecs.list_tasks(cluster=cluster)["taskArns"]
    return ecs.describe_tasks(cluster=cluster, tasks=arns)["tasks"] if arns else []


def overrides_of(task: dict) -> dict[str, str]:
    [container] = task["overrides"]["containerOverrides"]
    return {item["name"]: item["value"] for item in container["environment"]}


def test_every_record_starts_its_own_task_with_the_bucket_and_the_key_apart(configured, s3_event):
    keys = ["video/one.mp4", "video/notes.txt", "video/Two Words+More.MOV", "video/a#b.mp4", "video/what?.webm",
            "video/archive.zip"]

    summary = invoker.handler(s3_event(BUCKET, *keys), None)

    assert json.loads(json.dumps(summary)) == summary
    assert summary["skipped"] == [f"s3://{BUCKET}/video/notes.txt", f"s3://{BUCKET}/video/archive.zip"]
    assert summary["failed"] == []
    videos = [keys[0], keys[2], keys[3], keys[4]]
    assert [started["source"] for started in summary["started"]] == [f"s3://{BUCKET}/{key}" for key in videos]
    tasks = recorded_tasks(configured.cluster)
    # The key reaches the task whole, '#' and '?' included: never inside a URL.
    assert sorted(overrides_of(task)[thumbnail.ENV_KEY] for task in tasks) == sorted(videos)
    for task in tasks:
        assert overrides_of(task)[thumbnail.ENV_BUCKET] == BUCKET
        assert task["launchType"] == "FARGATE" and task["startedBy"] == contract.STARTED_BY
        assert task["taskDefinitionArn"].split("/")[-1].startswith(f"{configured.family}:")
        [attachment] = task["attachments"]
        assert {d["name"]: d["value"] for d in attachment["details"]}["subnetId"] == configured.subnet


def test_configured_suffixes_decide_what_starts_a_task(fargate, s3_event, monkeypatch):
    for name, value in fargate.invoker_env(suffixes=(".mp4", ".m4v")).items():
        monkeypatch.setenv(name, value)
    summary = invoker.handler(s3_event(BUCKET, "video/a.mp4", "video/b.mov", "video/c.M4V"), None)
    assert [started["source"] for started in summary["started"]] == [
        f"s3://{BUCKET}/video/a.mp4", f"s3://{BUCKET}/video/c.M4V"]
    assert summary["skipped"] == [f"s3://{BUCKET}/video/b.mov"]
    assert len(recorded_tasks(fargate.cluster)) == 2


def test_event_without_videos_starts_nothing(configured, s3_event):
    assert invoker.handler(s3_event(BUCKET, "video/readme.txt"), None) == {
        "started": [], "skipped": [f"s3://{BUCKET}/video/readme.txt"], "failed": []}
    assert recorded_tasks(configured.cluster) == []


def expected_run_task(setup, key: str, sequencer: str) -> dict:
    return {
        "cluster": setup.cluster, "taskDefinition": setup.family, "launchType": "FARGATE", "count": 1,
        "startedBy": contract.STARTED_BY, "clientToken": contract.client_token(BUCKET, key, sequencer),
        "networkConfiguration": setup.network_configuration,
        "overrides": {"containerOverrides": [{"name": setup.container, "environment": [
            {"name": thumbnail.ENV_BUCKET, "value": BUCKET}, {"name": thumbnail.ENV_KEY, "value": key}]}]},
    }


STARTED = {"tasks": [{"taskArn": "arn:aws:ecs:us-east-1:123456789012:task/tom-thumb/0123456789abcdef"}], "failures": []}


def test_a_duplicate_delivery_asks_ecs_with_the_same_client_token(configured, s3_event):
    # S3 may deliver an event twice, and Lambda retries a failed one: the same change of the same key must
    # not start a second task. ECS returns the first task for a repeated token.
    event = s3_event(BUCKET, "video/clip.mp4", sequencer="00AA")
    with Stubber(invoker.ecs_client()) as stubber:
        for _ in range(2):
            stubber.add_response("run_task", STARTED, expected_run_task(configured, "video/clip.mp4", "00AA00"))
        invoker.handler(event, None)
        invoker.handler(json.loads(json.dumps(event)), None)
        stubber.assert_no_pending_responses()


def test_client_tokens_tell_changes_apart_and_fit_run_tasks_limit():
    long_key = "video/" + "x" * 1000 + ".mp4"
    tokens = {contract.client_token(BUCKET, key, sequencer) for key, sequencer in
              [("video/a.mp4", "01"), ("video/a.mp4", "02"), ("video/b.mp4", "01"), (long_key, "01")]}
    assert len(tokens) == 4
    assert {len(token) for token in tokens} == {contract.CLIENT_TOKEN_LENGTH} == {64}
    assert contract.client_token(BUCKET, "video/a.mp4", "01") == contract.client_token(BUCKET, "video/a.mp4", "01")


def test_failures_reported_by_ecs_raise_so_the_event_is_retried(configured, s3_event):
    refused = {"tasks": [], "failures": [{"arn": "arn:aws:ecs:us-east-1:123456789012:container-instance/x",
                                          "reason": "RESOURCE:MEMORY"}]}
    with Stubber(invoker.ecs_client()) as stubber:
        stubber.add_response("run_task", STARTED, expected_run_task(configured, "video/first.mp4", "0055AED6DCD90281E500"))
        stubber.add_response("run_task", refused,
                             expected_run_task(configured, "video/second clip.mp4", "0055AED6DCD90281E501"))
        with pytest.raises(invoker.TaskStartError, match="RESOURCE:MEMORY") as raised:
            invoker.handler(s3_event(BUCKET, "video/first.mp4", "video/second clip.mp4"), None)
        stubber.assert_no_pending_responses()
    assert "video/second clip.mp4" in str(raised.value)
    assert "video/first.mp4" not in str(raised.value)


def test_the_network_configuration_reaches_ecs_as_the_stack_wrote_it(configured, s3_event, monkeypatch):
    public = {"awsvpcConfiguration": {"subnets": [configured.subnet], "assignPublicIp": "ENABLED"}}
    monkeypatch.setenv(contract.ENV_NETWORK_CONFIGURATION, json.dumps(public))
    with Stubber(invoker.ecs_client()) as stubber:
        stubber.add_response("run_task", STARTED, {
            **expected_run_task(configured, "video/a.mp4", "0055AED6DCD90281E500"), "networkConfiguration": public})
        invoker.handler(s3_event(BUCKET, "video/a.mp4"), None)
        stubber.assert_no_pending_responses()


def test_client_errors_from_ecs_propagate(configured, s3_event):
    with Stubber(invoker.ecs_client()) as stubber:
        stubber.add_client_error("run_task", service_error_code="ThrottlingException", http_status_code=400)
        with pytest.raises(ClientError, match="ThrottlingException"):
            invoker.handler(s3_event(BUCKET, "video/a.mp4"), None)


@pytest.mark.parametrize(("name", "value", "error"), [
    (contract.ENV_CLUSTER, "", KeyError), (contract.ENV_NETWORK_CONFIGURATION, "subnet-1", ValueError),
    (contract.ENV_NETWORK_CONFIGURATION, '{"awsvpcConfiguration": {"subnets": []}}', ValueError),
    (contract.ENV_KEY_VARIABLE, " ", KeyError)])
def test_missing_or_invalid_settings_stop_before_any_task(configured, s3_event, monkeypatch, name, value, error):
    monkeypatch.setenv(name, value)
    with pytest.raises(error, match=name):
        invoker.handler(s3_event(BUCKET, "video/a.mp4"), None)
    assert recorded_tasks(configured.cluster) == []
