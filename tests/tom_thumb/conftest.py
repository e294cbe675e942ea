"""Fixtures for the Tom Thumb tests: a local S3/ECS emulator over HTTP and generated test videos."""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote_plus

import boto3
import pytest
import requests

from runtime.task_invoker import contract as invoker_contract
from runtime.task_invoker import handler as invoker
from runtime.thumbnail import contract as thumbnail
from runtime.thumbnail import worker
from tests.conftest import moto_server

REGION = "us-east-1"
# The test clip: 6 seconds, red then green then blue, two seconds each.
SEGMENT_SECONDS = 2
COLOURS = ("red", "lime", "blue")


@pytest.fixture(scope="session")
def ffmpeg() -> str:
    return worker.ffmpeg_binary()


def run_ffmpeg(ffmpeg: str, *args: str) -> None:
    subprocess.run([ffmpeg, "-hide_banner", "-loglevel", "error", "-nostdin", *args, "-y"], check=True)


@pytest.fixture(scope="session")
def colour_video(ffmpeg, tmp_path_factory) -> Path:
    """H.264 in MP4 with a single keyframe at 0 s, so a frame at 3 s is only right if ffmpeg decodes up to it."""
    path = tmp_path_factory.mktemp("videos") / "colours.mp4"
    sources = []
    for colour in COLOURS:
        sources += ["-f", "lavfi", "-i", f"color=c={colour}:s=160x120:r=25:d={SEGMENT_SECONDS}"]
    run_ffmpeg(
        ffmpeg, *sources, "-filter_complex", "[0][1][2]concat=n=3:v=1:a=0",
        "-c:v", "libx264", "-pix_fmt", "yuv420p", "-g", "1000", "-sc_threshold", "0", str(path),
    )
    return path


@pytest.fixture(scope="session")
def audio_only(ffmpeg, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("videos") / "tone.mp4"
    run_ffmpeg(ffmpeg, "-f", "lavfi", "-i", "sine=frequency=440:duration=2", "-c:a", "aac", str(path))
    return path


@pytest.fixture(scope="session")
def moto_endpoint():
    with moto_server() as endpoint:
        yield endpoint


@pytest.fixture
def aws(moto_endpoint, monkeypatch):
    """Point boto3 (here and in subprocesses) at a freshly reset emulator; returns the environment to hand on."""
    requests.post(f"{moto_endpoint}/moto-api/reset", timeout=10).raise_for_status()
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "FFMPEG_BINARY"):
        monkeypatch.delenv(name, raising=False)
    env = {
        "AWS_ENDPOINT_URL": moto_endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    invoker.ecs_client.cache_clear()
    yield env
    invoker.ecs_client.cache_clear()


@dataclass
class FargateSetup:
    cluster: str
    family: str
    container: str
    subnet: str
    security_group: str

    @property
    def network_configuration(self) -> dict:
        return {"awsvpcConfiguration": {"subnets": [self.subnet], "securityGroups": [self.security_group],
                                        "assignPublicIp": "DISABLED"}}

    def invoker_env(self, suffixes=(".mp4", ".mov", ".mkv", ".webm", ".avi")) -> dict[str, str]:
        """The invoker Lambda's environment as the stack builds it (through the invoker's contract)."""
        return invoker_contract.environment(
            cluster=self.cluster, task_definition=self.family, container_name=self.container,
            network_configuration=json.dumps(self.network_configuration), suffixes=list(suffixes),
            bucket_variable=thumbnail.ENV_BUCKET, key_variable=thumbnail.ENV_KEY)


def task_definition_env(bucket: str, position: str, suffixes=(".mp4",), limit: int = 100) -> dict[str, str]:
    """The worker container's variables as the stack's task definition sets them."""
    return {thumbnail.ENV_BUCKET: bucket, thumbnail.ENV_VIDEO_PREFIX: "video/",
            thumbnail.ENV_THUMBNAIL_PREFIX: "thumbnail/",
            **thumbnail.task_environment(video_suffixes=suffixes, position=position, backfill_limit=limit)}


@pytest.fixture
def fargate(aws) -> FargateSetup:
    """A cluster and a Fargate task definition as the stack creates them (moto needs DNS hostnames and
    container-level memory for awsvpc tasks)."""
    ec2 = boto3.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": True})
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24")["Subnet"]["SubnetId"]
    group = ec2.create_security_group(GroupName="thumbnail-tasks", Description="egress only", VpcId=vpc)["GroupId"]
    ecs = boto3.client("ecs")
    ecs.create_cluster(clusterName="tom-thumb")
    ecs.register_task_definition(
        family="tom-thumb-thumbnail",
        networkMode="awsvpc",
        requiresCompatibilities=["FARGATE"],
        cpu="256",
        memory="1024",
        containerDefinitions=[{"name": "thumbnail", "image": "thumbnail:test", "memory": 1024, "essential": True}],
    )
    return FargateSetup("tom-thumb", "tom-thumb-thumbnail", "thumbnail", subnet, group)


@pytest.fixture
def s3_event():
    """Builds an S3 ObjectCreated notification as S3 sends it: keys URL-encoded, a space as '+', '+' as '%2B'."""

    def build(bucket: str, *keys: str, sequencer: str = "0055AED6DCD90281E5") -> dict:
        return {"Records": [_s3_record(bucket, quote_plus(key, safe="/"), f"{sequencer}{index:02X}")
                            for index, key in enumerate(keys)]}

    return build


def _s3_record(bucket: str, encoded_key: str, sequencer: str) -> dict:
    return {
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "awsRegion": REGION,
        "eventTime": "2025-01-01T00:00:00.000Z",
        "eventName": "ObjectCreated:Put",
        "s3": {
            "s3SchemaVersion": "1.0",
            "configurationId": "video-uploaded",
            "bucket": {"name": bucket, "arn": f"arn:aws:s3:::{bucket}"},
            "object": {
                "key": encoded_key,
                "size": 1024,
                "eTag": "d41d8cd98f00b204e9800998ecf8427e",
                "sequencer": sequencer,
            },
        },
    }
