"""Stack ``<env>-event-stream``: streaming ingest, Firehose (Direct PUT) -> transform Lambda -> S3 (or Parquet).

Two config objects: ``cloud-patterns:event_stream`` (the delivery stream: source, prefixes, buffering,
compression, format, encryption, alarms) and ``cloud-patterns:stream_transform`` (the record schema, which also
gives the Glue columns for Parquet, drop rules, the function's size). Alarms go to the ``alerts`` upstream
stack's topic. Send records with ``python -m runtime.stream_producer --stream <delivery_stream_name> …``.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi

from components.args import (
    Args,
    Boolean,
    Custom,
    InvalidArgument,
    ListOf,
    MappingOf,
    Maybe,
    OneOf,
    Text,
    Whole,
    setting,
)
from components.dashboard import OUTPUT, widgets
from components.delivery_stream import DeliveryStream, DeliveryStreamArgs
from components.lambda_function import LambdaFunctionArgs
from programs.common import Section, environment, upstream
from runtime.stream_transform import contract
from service_limits import LAMBDA_MEMORY_MB

SCALAR = Custom(lambda v: v is None or isinstance(v, (str, int, float)), "a text, number, true/false or null")


@dataclass(frozen=True)
class StreamTransformSettings(Args):
    columns: Mapping[str, str] = setting(contract.DEFAULT_COLUMNS, MappingOf(
        OneOf(*contract.COLUMN_TYPES), keys=Text(contract.COLUMN_NAME.pattern, "lower-case names (a-z, 0-9, _)")),
        "The record schema: field name -> type (Glue's names). Records must be JSON objects whose fields have "
        "these types; with parquet these are the table's columns.")
    required: Sequence[str] = setting(list(contract.DEFAULT_REQUIRED), ListOf(Text(), min_items=0),
                                      "Fields (of columns) every record must carry, not null.")
    allow_unknown_fields: bool = setting(True, Boolean(), "false: a record with a field outside columns fails.")
    drop_when: Mapping[str, Sequence[Any]] = setting(contract.DEFAULT_DROP_WHEN, MappingOf(ListOf(SCALAR, 1)),
                                                     "Valid records whose field holds one of the values are dropped, "
                                                     "e.g. {event_type: [heartbeat]}.")
    max_record_bytes: int = setting(contract.FIREHOSE_MAX_RECORD_BYTES, Whole(1, contract.FIREHOSE_MAX_RECORD_BYTES),
                                    "Larger records (decoded) fail to the error prefix.")
    memory_mb: int = setting(256, Whole(*LAMBDA_MEMORY_MB), "Memory of the transform (MiB).")
    timeout_seconds: int = setting(120, Whole(60, 300), "How long one batch may take (Firehose waits up to 5 min).")
    reserved_concurrency: int | None = setting(None, Maybe(Whole(1, 1000)), "Caps concurrent transforms.")

    def check(self) -> None:
        problem = contract.settings_problem(self.columns, self.required, self.drop_when, self.max_record_bytes)
        if problem:
            raise InvalidArgument(*problem)
        size = sum(len(k) + len(v) for k, v in self.settings().environment().items())
        if size > contract.LAMBDA_ENVIRONMENT_MAX_BYTES:
            raise InvalidArgument("columns", f"{size} bytes of settings", "a schema and drop rules that fit the "
                                  f"{contract.LAMBDA_ENVIRONMENT_MAX_BYTES} bytes of a function's environment")

    def settings(self) -> contract.Settings:
        return contract.Settings(dict(self.columns), tuple(self.required), self.allow_unknown_fields,
                                 {k: tuple(v) for k, v in self.drop_when.items()}, self.max_record_bytes)


STREAM = Section("event_stream", DeliveryStreamArgs)
TRANSFORM = Section("stream_transform", StreamTransformSettings)


def main() -> None:
    transform = TRANSFORM.load()
    alerts = upstream("alerts")
    processor = LambdaFunctionArgs(
        source_dir=contract.SOURCE_DIR, handler=contract.HANDLER, description="Validates and delimits records",
        memory_mb=transform.memory_mb, timeout_seconds=transform.timeout_seconds,
        reserved_concurrency=transform.reserved_concurrency, environment=transform.settings().environment())
    args = STREAM.load(processor=processor, columns=tuple(transform.columns.items()),
                       alarm_topic_arn=alerts.require_output("topic_arn"))
    stream = DeliveryStream(f"{environment()}-event-stream", args)
    pulumi.export("delivery_stream_name", stream.stream.name)
    pulumi.export("delivery_stream_arn", stream.stream.arn)
    pulumi.export("bucket", stream.bucket.bucket)
    pulumi.export("records_prefix", args.prefix)
    pulumi.export("error_prefix", args.error_prefix)
    pulumi.export("transform_function", stream.processor.function.name)
    pulumi.export("delivery_log_group", stream.log_group.name)
    pulumi.export("producer_policy_arn", stream.producer_policy.arn if stream.producer_policy else None)
    pulumi.export("glue_table", pulumi.Output.concat(stream.database.name, ".", stream.table.name)
                  if stream.table else None)
    pulumi.export("alarms", len(stream.alarms))
    pulumi.export(OUTPUT, widgets(stream.alarms))
