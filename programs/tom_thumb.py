"""Stack ``<env>-tom-thumb``: Container-on-Demand video thumbnails (upload -> Lambda -> Fargate task -> PNG), and a
nightly backfill task for every video that has no thumbnail yet.

Binds the generic pattern to the thumbnail app through the two contracts. Reads ``network`` (the VPC and where
tasks run, as it decided) and ``alerts`` (the topic every alarm and failed task notifies).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Optional

import pulumi
import pulumi_aws as aws

from components.args import Args, Custom, Maybe, Whole, setting
from components.container_on_demand import (
    SUFFIXES,
    ContainerOnDemand,
    ContainerOnDemandArgs,
    InvokerSpec,
    TaskContainer,
)
from components.dashboard import OUTPUT, widgets
from components.task_triggers import SCHEDULE_EXPRESSION, TIMEZONE, WINDOW_MINUTES, ScheduleTrigger
from programs.common import Section, environment, task_placement, upstream
from runtime.task_invoker import contract as invoker
from runtime.thumbnail import contract as thumbnail


def _position(value: object) -> bool:
    try:
        return not isinstance(value, bool) and bool(thumbnail.parse_position(str(value)))
    except thumbnail.PositionError:
        return False


@dataclass(frozen=True)
class ThumbnailSettings(Args):
    video_suffixes: Sequence[str] = setting([".mp4", ".mov", ".mkv", ".webm", ".avi"], SUFFIXES,
                                            "Object name endings that are videos (upload in any case).")
    position: str = setting("10%", Custom(_position, thumbnail.POSITION_FORMS, ("halfway", "100%", "1:30", True)),
                            "Where the thumbnail is taken in each video.")
    backfill_schedule: Optional[str] = setting(None, Maybe(SCHEDULE_EXPRESSION),
                                               "When a task makes the thumbnails still missing under input_prefix "
                                               "(failed, throttled or older uploads); null: never.")
    backfill_timezone: str = setting("UTC", TIMEZONE, "The time zone of backfill_schedule.")
    backfill_window_minutes: int = setting(60, WINDOW_MINUTES, "How late the backfill may start.")
    backfill_limit: int = setting(100, Whole(1, 10000), "The most thumbnails one backfill run makes.")


TOM_THUMB = Section("tom_thumb", ContainerOnDemandArgs, fixed=("suffixes",), own=ThumbnailSettings)


def main() -> None:
    network, alerts = upstream("network"), upstream("alerts")
    placement = task_placement(network)
    app = TOM_THUMB.own_settings()
    container = TaskContainer(
        thumbnail.CONTAINER_NAME, dockerfile=thumbnail.DOCKERFILE, user=thumbnail.CONTAINER_USER,
        bucket_variable=thumbnail.ENV_BUCKET, key_variable=thumbnail.ENV_KEY,
        input_prefix_variable=thumbnail.ENV_VIDEO_PREFIX, output_prefix_variable=thumbnail.ENV_THUMBNAIL_PREFIX,
        # AWS_REGION pins the presigned URLs to the bucket's region (Fargate usually sets it too).
        environment={"AWS_REGION": aws.get_region().region, **thumbnail.task_environment(
            video_suffixes=app.video_suffixes, position=app.position, backfill_limit=app.backfill_limit)})
    backfill = [ScheduleTrigger("backfill", expression=app.backfill_schedule, timezone=app.backfill_timezone,
                                flexible_window_minutes=app.backfill_window_minutes)] if app.backfill_schedule else []
    args = TOM_THUMB.load(
        vpc_id=network.require_output("vpc_id"), subnet_ids=placement.subnet_ids,
        assign_public_ip=placement.assign_public_ip, alarm_topic_arn=alerts.require_output("topic_arn"),
        container=container, invoker=InvokerSpec(invoker.SOURCE_DIR, invoker.environment, invoker.HANDLER),
        suffixes=app.video_suffixes, list_prefixes=bool(backfill), schedules=backfill)
    thumbs = ContainerOnDemand(f"{environment()}-tom-thumb", args)

    pulumi.export("bucket", thumbs.bucket.bucket)
    pulumi.export("upload_prefix", args.input_prefix)
    pulumi.export("thumbnail_prefix", args.output_prefix)
    pulumi.export("cluster_arn", thumbs.cluster.arn)
    pulumi.export("task_definition_arn", thumbs.task.task_definition.arn)
    pulumi.export("invoker_function", thumbs.invoker.function.name)
    pulumi.export("dead_letter_queue_url", thumbs.dead_letter_queue.url)
    pulumi.export("repository_url", thumbs.image.repository.repository_url)
    pulumi.export("task_log_group", thumbs.task.log_group.name)
    pulumi.export("invoker_log_group", thumbs.invoker.log_group.name)
    pulumi.export("backfill_schedule", thumbs.schedules[0].name if thumbs.schedules else None)
    pulumi.export(OUTPUT, widgets(thumbs.alarms, rules=[(thumbs.failed_task_rule, "tasks stopped with a failed "
                                                                                   "container")]))
