"""The task invoker Lambda against moto's ECS (and botocore's Stubber for ECS failures, which moto never reports)."""

from __future__ import annotations

import json
import re

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from runtime.task_invoker import handler as invoker

BUCKET = "tom-thumb-media"
OUTPUT = f"{BUCKET}/thumbnail"


@pytest.fixture
def configured(fargate, monkeypatch):
    for name, value in fargate.invoker_env(OUTPUT, "50%").items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("VIDEO_SUFFIXES", raising=False)
    return fargate


def recorded_tasks(cluster: str) -> list[dict]:
    ecs = boto3.client("ecs")
    arns = ecs.list_tasks(cluster=cluster)["taskArns"]
    return ecs.describe_tasks(cluster=cluster, tasks=arns)["tasks"] if arns else []


def overrides_of(task: dict) -> dict[str, str]:
    [container] = task["overrides"]["containerOverrides"]
    return {item["name"]: item["value"] for item in container["environment"]}


def test_every_record_starts_its_own_task_and_other_keys_are_skipped(configured, s3_event):
    keys = ["video/one.mp4", "video/notes.txt", "video/Two Words+More.MOV", "video/archive.zip", "video/café.webm"]

    summary = invoker.handler(s3_event(BUCKET, *keys), None)

    assert json.loads(json.dumps(summary)) == summary
    assert summary["skipped"] == [f"s3://{BUCKET}/video/notes.txt", f"s3://{BUCKET}/video/archive.zip"]
    assert summary["failed"] == []
    started_sources = [started["source"] for started in summary["started"]]
    assert started_sources == [f"s3://{BUCKET}/{key}" for key in (keys[0], keys[2], keys[4])]
    tasks = recorded_tasks(configured.cluster)
    assert sorted(overrides_of(task)["INPUT_VIDEO_FILE_URL"] for task in tasks) == sorted(started_sources)
    for task in tasks:
        assert task["launchType"] == "FARGATE"
        assert task["startedBy"] == invoker.STARTED_BY
        assert task["taskDefinitionArn"].split("/")[-1].startswith(f"{configured.family}:")
        [attachment] = task["attachments"]
        details = {detail["name"]: detail["value"] for detail in attachment["details"]}
        assert details["subnetId"] == configured.subnet
        overrides = overrides_of(task)
        assert overrides["OUTPUT_S3_PATH"] == OUTPUT
        assert overrides["POSITION_TIME_DURATION"] == "50%"
        assert overrides["OUTPUT_THUMBS_FILE_NAME"] == invoker.thumbnail_name(
            overrides["INPUT_VIDEO_FILE_URL"].removeprefix(f"s3://{BUCKET}/")
        )


def test_configured_suffixes_replace_the_defaults(configured, s3_event, monkeypatch):
    monkeypatch.setenv("VIDEO_SUFFIXES", " .mp4 , .M4V ")
    summary = invoker.handler(s3_event(BUCKET, "video/a.mp4", "video/b.mov", "video/c.m4v"), None)
    assert [started["source"] for started in summary["started"]] == [
        f"s3://{BUCKET}/video/a.mp4", f"s3://{BUCKET}/video/c.m4v"
    ]
    assert summary["skipped"] == [f"s3://{BUCKET}/video/b.mov"]
    assert len(recorded_tasks(configured.cluster)) == 2


def test_event_without_videos_starts_nothing(configured, s3_event):
    assert invoker.handler(s3_event(BUCKET, "video/readme.txt"), None) == {
        "started": [], "skipped": [f"s3://{BUCKET}/video/readme.txt"], "failed": []
    }
    assert recorded_tasks(configured.cluster) == []


def expected_run_task(setup, key: str, assign_public_ip: str = "DISABLED") -> dict:
    return {
        "cluster": setup.cluster,
        "taskDefinition": setup.family,
        "launchType": "FARGATE",
        "count": 1,
        "startedBy": invoker.STARTED_BY,
        "networkConfiguration": {
            "awsvpcConfiguration": {
                "subnets": [setup.subnet],
                "securityGroups": [setup.security_group],
                "assignPublicIp": assign_public_ip,
            }
        },
        "overrides": {
            "containerOverrides": [
                {
                    "name": setup.container,
                    "environment": [
                        {"name": "INPUT_VIDEO_FILE_URL", "value": f"s3://{BUCKET}/{key}"},
                        {"name": "OUTPUT_S3_PATH", "value": OUTPUT},
                        {"name": "OUTPUT_THUMBS_FILE_NAME", "value": invoker.thumbnail_name(key)},
                        {"name": "POSITION_TIME_DURATION", "value": "50%"},
                    ],
                }
            ]
        },
    }


STARTED = {"tasks": [{"taskArn": "arn:aws:ecs:us-east-1:123456789012:task/tom-thumb/0123456789abcdef"}], "failures": []}


def test_failures_reported_by_ecs_raise_so_the_event_is_retried(configured, s3_event):
    refused = {
        "tasks": [],
        "failures": [{"arn": "arn:aws:ecs:us-east-1:123456789012:container-instance/x", "reason": "RESOURCE:MEMORY"}],
    }
    with Stubber(invoker.ecs_client()) as stubber:
        stubber.add_response("run_task", STARTED, expected_run_task(configured, "video/first.mp4"))
        stubber.add_response("run_task", refused, expected_run_task(configured, "video/second clip.mp4"))
        with pytest.raises(invoker.TaskStartError, match="RESOURCE:MEMORY") as raised:
            invoker.handler(s3_event(BUCKET, "video/first.mp4", "video/second clip.mp4"), None)
        stubber.assert_no_pending_responses()
    assert "video/second clip.mp4" in str(raised.value)
    assert "video/first.mp4" not in str(raised.value)


def test_public_ip_setting_is_passed_to_ecs(configured, s3_event, monkeypatch):
    monkeypatch.setenv("ASSIGN_PUBLIC_IP", "enabled")
    with Stubber(invoker.ecs_client()) as stubber:
        stubber.add_response("run_task", STARTED, expected_run_task(configured, "video/a.mp4", "ENABLED"))
        invoker.handler(s3_event(BUCKET, "video/a.mp4"), None)
        stubber.assert_no_pending_responses()


def test_client_errors_from_ecs_propagate(configured, s3_event):
    with Stubber(invoker.ecs_client()) as stubber:
        stubber.add_client_error("run_task", service_error_code="ThrottlingException", http_status_code=400)
        with pytest.raises(ClientError, match="ThrottlingException"):
            invoker.handler(s3_event(BUCKET, "video/a.mp4"), None)


def test_missing_or_invalid_settings_stop_before_any_task(configured, s3_event, monkeypatch):
    monkeypatch.delenv("CLUSTER")
    with pytest.raises(KeyError, match="CLUSTER"):
        invoker.handler(s3_event(BUCKET, "video/a.mp4"), None)
    monkeypatch.setenv("CLUSTER", configured.cluster)
    monkeypatch.setenv("ASSIGN_PUBLIC_IP", "yes")
    with pytest.raises(ValueError, match="ASSIGN_PUBLIC_IP"):
        invoker.handler(s3_event(BUCKET, "video/a.mp4"), None)
    assert recorded_tasks(configured.cluster) == []


@pytest.mark.parametrize(
    "key",
    ["video/clip.mp4", "video/Summer holiday+beach.mp4", "video/2024/ünïcode clip.mkv", f"video/{'x' * 300}.mp4"],
)
def test_thumbnail_name_is_a_safe_png_name_that_depends_only_on_the_key(key):
    name = invoker.thumbnail_name(key)
    assert name == invoker.thumbnail_name(key)
    assert re.fullmatch(r"[A-Za-z0-9._-]+-[0-9a-f]{16}\.png", name)
    assert len(name) <= 120


def test_thumbnail_names_of_different_keys_differ():
    keys = ["video/a/clip.mp4", "video/b/clip.mp4", "video/clip.mp4", "video/clip.mov", "video/Clip.mp4"]
    assert len({invoker.thumbnail_name(key) for key in keys}) == len(keys)
    assert invoker.thumbnail_name("video/Summer holiday+beach.mp4").startswith("Summer-holiday-beach-")
