"""Task invoker: start one Fargate thumbnail task per uploaded video.

Triggered asynchronously by S3 ObjectCreated notifications. Every record of the event is handled; keys arrive
URL-encoded (a space as '+') and are decoded before use. When ECS reports failures the handler raises, so Lambda
retries the event and finally sends it to the on-failure destination. Thumbnail names are derived from the source
key alone, so a retried event or a re-upload overwrites the same thumbnail instead of adding a duplicate.

Deployed as the contents of this directory with handler `handler.handler`: stdlib and boto3 only.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import re
from dataclasses import dataclass
from urllib.parse import unquote_plus

import boto3

DEFAULT_VIDEO_SUFFIXES = ".mp4,.mov,.mkv,.webm,.avi"
STARTED_BY = "tom-thumb-invoker"

logger = logging.getLogger()
logger.setLevel(logging.INFO)


class TaskStartError(RuntimeError):
    """ECS refused to start one or more tasks; raised so that Lambda retries, then dead-letters, the event."""


@dataclass(frozen=True)
class Settings:
    cluster: str
    task_definition: str
    container_name: str
    subnets: tuple[str, ...]
    security_groups: tuple[str, ...]
    assign_public_ip: str
    output_s3_path: str
    position: str
    video_suffixes: tuple[str, ...]

    @classmethod
    def from_env(cls, env=os.environ) -> Settings:
        def required(name: str) -> str:
            value = env.get(name, "").strip()
            if not value:
                raise KeyError(f"environment variable {name} is required")
            return value

        assign_public_ip = env.get("ASSIGN_PUBLIC_IP", "DISABLED").strip().upper()
        if assign_public_ip not in ("ENABLED", "DISABLED"):
            raise ValueError(f"ASSIGN_PUBLIC_IP must be ENABLED or DISABLED, not {assign_public_ip!r}")
        subnets = _split_list(required("SUBNETS"))
        if not subnets:
            raise ValueError("SUBNETS names no subnet")
        return cls(
            cluster=required("CLUSTER"),
            task_definition=required("TASK_DEFINITION"),
            container_name=required("CONTAINER_NAME"),
            subnets=subnets,
            security_groups=_split_list(env.get("SECURITY_GROUPS", "")),
            assign_public_ip=assign_public_ip,
            output_s3_path=required("OUTPUT_S3_PATH").strip("/"),
            position=required("POSITION_TIME_DURATION"),
            video_suffixes=tuple(
                suffix.lower() for suffix in _split_list(env.get("VIDEO_SUFFIXES") or DEFAULT_VIDEO_SUFFIXES)
            ),
        )


def _split_list(text: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in text.split(",") if item.strip())


def thumbnail_name(source_key: str) -> str:
    """A file name that depends only on the source key: readable stem plus a hash that keeps distinct keys apart."""
    stem = source_key.rsplit("/", 1)[-1].rsplit(".", 1)[0]
    readable = re.sub(r"[^A-Za-z0-9._-]+", "-", stem).strip("-.")[:80] or "video"
    digest = hashlib.sha256(source_key.encode("utf-8")).hexdigest()[:16]
    return f"{readable}-{digest}.png"


@functools.cache
def ecs_client():
    return boto3.client("ecs")


def start_thumbnail_task(settings: Settings, bucket: str, key: str) -> dict:
    name = thumbnail_name(key)
    environment = {
        "INPUT_VIDEO_FILE_URL": f"s3://{bucket}/{key}",
        "OUTPUT_S3_PATH": settings.output_s3_path,
        "OUTPUT_THUMBS_FILE_NAME": name,
        "POSITION_TIME_DURATION": settings.position,
    }
    aws_vpc = {"subnets": list(settings.subnets), "assignPublicIp": settings.assign_public_ip}
    if settings.security_groups:
        aws_vpc["securityGroups"] = list(settings.security_groups)
    response = ecs_client().run_task(
        cluster=settings.cluster,
        taskDefinition=settings.task_definition,
        launchType="FARGATE",
        count=1,
        startedBy=STARTED_BY,
        networkConfiguration={"awsvpcConfiguration": aws_vpc},
        overrides={
            "containerOverrides": [
                {
                    "name": settings.container_name,
                    "environment": [{"name": k, "value": v} for k, v in environment.items()],
                }
            ]
        },
    )
    return {
        "source": f"s3://{bucket}/{key}",
        "thumbnail": f"s3://{settings.output_s3_path}/{name}",
        "taskArns": [task["taskArn"] for task in response.get("tasks", [])],
        "failures": [
            {"arn": failure.get("arn", ""), "reason": failure.get("reason", ""), "detail": failure.get("detail", "")}
            for failure in response.get("failures", [])
        ],
    }


def handler(event, context):
    settings = Settings.from_env()
    started, skipped, failed = [], [], []
    for record in event.get("Records", []):
        bucket = record["s3"]["bucket"]["name"]
        key = unquote_plus(record["s3"]["object"]["key"])
        if not key.lower().endswith(settings.video_suffixes):
            logger.info("skipping s3://%s/%s: not a video suffix %s", bucket, key, settings.video_suffixes)
            skipped.append(f"s3://{bucket}/{key}")
            continue
        result = start_thumbnail_task(settings, bucket, key)
        (failed if result["failures"] or not result["taskArns"] else started).append(result)

    summary = {"started": started, "skipped": skipped, "failed": failed}
    logger.info(json.dumps(summary))
    if failed:
        # The whole event is retried; tasks that did start will simply rewrite the same thumbnail.
        raise TaskStartError(f"ECS did not start {len(failed)} task(s): {json.dumps(failed)}")
    return summary
