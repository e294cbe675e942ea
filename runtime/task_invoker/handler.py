"""Task invoker: start one Fargate task per object created in S3 (the Container-on-Demand pattern's Lambda).

Triggered asynchronously by S3 ObjectCreated notifications. Every record of the event is handled; keys arrive
URL-encoded (a space as '+') and are decoded before use, then handed to the task as they are, in their own
variable, never inside a URL (a key may hold '#' or '?'). Each start carries a client token made from the key
and the event's sequencer, so a duplicate delivery or a retry starts no second task. When ECS reports failures
the handler raises, so Lambda retries the event and finally sends it to the on-failure destination.

Deployed as the contents of this directory with handler ``handler.handler``: stdlib and boto3 only.
"""

from __future__ import annotations

import functools
import json
import logging
import os
from urllib.parse import unquote_plus

import boto3

try:
    from .contract import STARTED_BY, Settings, client_token
except ImportError:  # deployed flat: this directory is the package root, so the contract is a top-level module
    from contract import STARTED_BY, Settings, client_token

logger = logging.getLogger()
logger.setLevel(logging.INFO)


class TaskStartError(RuntimeError):
    """ECS refused to start one or more tasks; raised so that Lambda retries, then dead-letters, the event."""


@functools.cache
def ecs_client():
    return boto3.client("ecs")


def start_task(settings: Settings, bucket: str, key: str, sequencer: str) -> dict:
    response = ecs_client().run_task(
        cluster=settings.cluster,
        taskDefinition=settings.task_definition,
        launchType="FARGATE",
        count=1,
        startedBy=STARTED_BY,
        clientToken=client_token(bucket, key, sequencer),
        networkConfiguration=settings.network_configuration,
        overrides={"containerOverrides": [{"name": settings.container_name, "environment": [
            {"name": settings.bucket_variable, "value": bucket}, {"name": settings.key_variable, "value": key}]}]},
    )
    return {
        "source": f"s3://{bucket}/{key}",
        "taskArns": [task["taskArn"] for task in response.get("tasks", [])],
        "failures": [
            {"arn": failure.get("arn", ""), "reason": failure.get("reason", ""), "detail": failure.get("detail", "")}
            for failure in response.get("failures", [])
        ],
    }


def handler(event, context):
    settings = Settings.from_env(os.environ)
    started, skipped, failed = [], [], []
    for record in event.get("Records", []):
        bucket = record["s3"]["bucket"]["name"]
        key = unquote_plus(record["s3"]["object"]["key"])
        if not key.lower().endswith(settings.suffixes):
            logger.info("skipping s3://%s/%s: not one of %s", bucket, key, settings.suffixes)
            skipped.append(f"s3://{bucket}/{key}")
            continue
        result = start_task(settings, bucket, key, record["s3"]["object"].get("sequencer", ""))
        (failed if result["failures"] or not result["taskArns"] else started).append(result)

    summary = {"started": started, "skipped": skipped, "failed": failed}
    logger.info(json.dumps(summary))
    if failed:
        # The whole event is retried; the tasks that did start are not started again (same client tokens).
        raise TaskStartError(f"ECS did not start {len(failed)} task(s): {json.dumps(failed)}")
    return summary
