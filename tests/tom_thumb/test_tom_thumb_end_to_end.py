"""End to end without the cloud: S3 event -> invoker -> the ECS task moto recorded -> the worker container's
entrypoint run with the task definition's variables and exactly that task's overrides -> a PNG of the right frame
in the bucket."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import boto3
import cv2
import numpy as np
import pytest

from runtime.task_invoker import handler as invoker
from runtime.thumbnail import contract
from tests.tom_thumb.conftest import task_definition_env

REPO_ROOT = Path(__file__).resolve().parents[2]
BUCKET = "tom-thumb-media"
SOURCE_KEY = "video/Summer holiday#1+beach.mp4"
BGR = {"red": (0, 0, 255), "lime": (0, 255, 0), "blue": (255, 0, 0)}


def run_worker(environment: dict[str, str]) -> subprocess.CompletedProcess:
    """The container's command, `python -m runtime.thumbnail`, with the given environment only."""
    return subprocess.run(
        [sys.executable, "-m", "runtime.thumbnail"],
        cwd=REPO_ROOT,
        env={"PATH": os.environ["PATH"], **environment},
        capture_output=True,
        text=True,
        timeout=120,
    )


def assert_colour(png: bytes, colour: str) -> None:
    image = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR)
    assert image is not None and image.shape == (120, 160, 3)
    mean = image.reshape(-1, 3).mean(axis=0)
    assert np.abs(mean - BGR[colour]).max() < 30, f"frame colour {mean} is not {colour}"


@pytest.mark.parametrize(
    ("position", "colour"),
    [("1", "red"), ("00:00:03.000", "lime"), ("75%", "blue")],
)
def test_uploaded_video_becomes_thumbnail_of_the_frame_at_the_position(
    aws, fargate, colour_video, s3_event, monkeypatch, position, colour
):
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    s3.upload_file(str(colour_video), BUCKET, SOURCE_KEY)
    for name, value in fargate.invoker_env().items():
        monkeypatch.setenv(name, value)

    summary = invoker.handler(s3_event(BUCKET, SOURCE_KEY), None)

    assert [started["source"] for started in summary["started"]] == [f"s3://{BUCKET}/{SOURCE_KEY}"]
    [task_arn] = summary["started"][0]["taskArns"]
    [task] = boto3.client("ecs").describe_tasks(cluster=fargate.cluster, tasks=[task_arn])["tasks"]
    assert task["launchType"] == "FARGATE"
    [container_override] = task["overrides"]["containerOverrides"]
    assert container_override["name"] == fargate.container
    overrides = {item["name"]: item["value"] for item in container_override["environment"]}
    assert overrides == {contract.ENV_BUCKET: BUCKET, contract.ENV_KEY: SOURCE_KEY}

    # What Fargate gives the container (region, credentials; here the emulator), the task definition's
    # variables, and the start's overrides.
    result = run_worker({**aws, **task_definition_env(BUCKET, position), **overrides})

    assert result.returncode == 0, result.stderr
    listed = s3.list_objects_v2(Bucket=BUCKET, Prefix="thumbnail/")["Contents"]
    expected_key = f"thumbnail/{contract.thumbnail_name(SOURCE_KEY)}"
    assert [item["Key"] for item in listed] == [expected_key]
    assert result.stdout == f"thumbnail: wrote s3://{BUCKET}/{expected_key}\n"
    thumbnail = s3.get_object(Bucket=BUCKET, Key=expected_key)
    assert thumbnail["ContentType"] == "image/png"
    assert_colour(thumbnail["Body"].read(), colour)


def test_a_re_upload_overwrites_the_same_thumbnail(aws, fargate, colour_video, s3_event, monkeypatch):
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    s3.upload_file(str(colour_video), BUCKET, SOURCE_KEY)
    for name, value in fargate.invoker_env().items():
        monkeypatch.setenv(name, value)
    # Two uploads of the same key (two sequencers: ECS starts two tasks; moto ignores client tokens anyway).

    first = invoker.handler(s3_event(BUCKET, SOURCE_KEY, sequencer="01"), None)
    second = invoker.handler(s3_event(BUCKET, SOURCE_KEY, sequencer="02"), None)

    ecs = boto3.client("ecs")
    task_arns = first["started"][0]["taskArns"] + second["started"][0]["taskArns"]
    tasks = ecs.describe_tasks(cluster=fargate.cluster, tasks=task_arns)["tasks"]
    assert len(tasks) == 2
    for task in tasks:
        environment = task["overrides"]["containerOverrides"][0]["environment"]
        overrides = {item["name"]: item["value"] for item in environment}
        assert run_worker({**aws, **task_definition_env(BUCKET, "50%"), **overrides}).returncode == 0
    assert len(s3.list_objects_v2(Bucket=BUCKET, Prefix="thumbnail/")["Contents"]) == 1
