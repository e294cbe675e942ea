"""DeliveryStream: Kinesis Data Firehose into a private S3 bucket, with an optional Lambda transform.

Records arrive by Direct PUT (or from an existing Kinesis data stream: Firehose's source cannot change after
creation, so changing it replaces the stream) and land under ``prefix`` in Hive-style partitions
(``year=/month=/day=/hour=``, by arrival time), so Athena and Glue read them without renaming. Records that
fail (transform, conversion, delivery) land apart under ``error_prefix``, by failure type.

- A processor Lambda (``processor``) transforms each buffered batch; Firehose invokes it with its own role.
- ``record_format: parquet`` converts the JSON records through a Glue database and table whose columns the
  program passes; Firehose then requires buffers of 64 MB or more and no S3-level compression (Parquet
  compresses itself, Snappy).
- Encryption: Direct PUT data is encrypted in Firehose's buffer and the bucket encrypts at rest; with
  ``customer_managed_key`` one rotating KMS key of this stream does both, and Firehose writes objects with it.
- The Firehose role may write only the two prefixes of this bucket, invoke only the processor, write only its
  own log stream, read only its source stream and Glue table, and be assumed only by this stream.
- Alarms on the environment's topic: data older than ``freshness_alarm_seconds``, failed S3 deliveries, failed
  processor invocations, failed conversions, throttled Direct PUT records, and the processor's own errors.
"""
from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Optional

import pulumi
import pulumi_aws as aws

from components import alarms, iam
from components.args import (
    Args,
    Boolean,
    InvalidArgument,
    Maybe,
    Number,
    OneOf,
    Retention,
    Text,
    Whole,
    setting,
    wiring,
)
from components.glue import hourly_parquet_table
from components.lambda_function import LambdaFunction, LambdaFunctionArgs
from components.logs import log_group
from components.storage import private_bucket

PREFIX = r"[A-Za-z0-9!_.*'()-]+(/[A-Za-z0-9!_.*'()-]+)*/"
PARTITIONS = "year=!{timestamp:yyyy}/month=!{timestamp:MM}/day=!{timestamp:dd}/hour=!{timestamp:HH}/"
COMPRESSIONS = ("UNCOMPRESSED", "GZIP", "ZIP", "Snappy", "HADOOP_SNAPPY")
CONVERSION_MIN_BUFFER_MB = 64
LOG_STREAM = "DestinationDelivery"
# Processor parameters Firehose defaults (and the provider does not store): passed only when they differ.
PROCESSOR_DEFAULTS = {"NumberOfRetries": 3, "BufferSizeInMBs": 1, "BufferIntervalInSeconds": 60}
KINESIS_ARN = r"arn:aws[a-z-]*:kinesis:[a-z0-9-]+:\d{12}:stream/[A-Za-z0-9_.-]{1,128}"


@dataclass(frozen=True)
class DeliveryStreamArgs(Args):
    source_stream_arn: Optional[str] = setting(None, Maybe(Text(KINESIS_ARN, "a Kinesis data stream ARN")),
                                               "Read an existing Kinesis data stream; null: Direct PUT. Changing it "
                                               "replaces the delivery stream.")
    prefix: str = setting("events/", Text(PREFIX, "a key prefix such as events/ (ending in /)"),
                          "Where records land, before the year=/month=/day=/hour= partitions.")
    error_prefix: str = setting("errors/", Text(PREFIX, "a key prefix such as errors/ (ending in /)"),
                                "Where failed records land, by failure type, apart from prefix.")
    buffer_mb: int = setting(5, Whole(1, 128), "Firehose writes an object when it holds this many MB…")
    buffer_seconds: int = setting(300, Whole(0, 900), "…or when its oldest record is this many seconds old.")
    compression: str = setting("GZIP", OneOf(*COMPRESSIONS), "Compression of the objects (UNCOMPRESSED with "
                                                             "parquet, which compresses itself).")
    record_format: str = setting("json", OneOf("json", "parquet"), "json: the records as lines; parquet: converted "
                                 "through a Glue table (buffers of 64 MB or more).")
    table_name: str = setting("records", Text(r"[a-z_][a-z0-9_]{0,254}", "a lower-case Glue table name"),
                              "The Glue table of the converted records (parquet).")
    customer_managed_key: bool = setting(False, Boolean(), "Encrypt the stream and the bucket with a KMS key of "
                                         "this stack ($1 a month) instead of AWS owned keys.")
    processor_buffer_mb: float = setting(1, Number(0.2, 3, "MB"), "Firehose invokes the processor with this much…")
    processor_buffer_seconds: int = setting(60, Whole(60, 900), "…or after this many seconds.")
    processor_retries: int = setting(3, Whole(0, 300), "Invocations retried before the batch goes to error_prefix.")
    log_retention_days: int = setting(30, Retention(), "Retention of the delivery-error and processor logs.")
    freshness_alarm_seconds: int = setting(900, Whole(60, 86400), "Alarm when the oldest record not yet delivered "
                                           "is older than this (above buffer_seconds).")
    force_destroy: bool = setting(False, Boolean(), "Let destroy delete the bucket with its records (dev only).")
    processor: Optional[LambdaFunctionArgs] = wiring("The transform function; None: records pass unchanged.",
                                                     default=None)
    columns: Sequence[tuple[str, str]] = wiring("Glue columns (name, type) of the records, for parquet.", default=())
    alarm_topic_arn: Optional[pulumi.Input[str]] = wiring("The environment's alarm topic; None: no alarms.",
                                                          default=None)

    def check(self) -> None:
        if self.prefix.startswith(self.error_prefix) or self.error_prefix.startswith(self.prefix):
            raise InvalidArgument("error_prefix", self.error_prefix, f"a prefix apart from prefix {self.prefix!r}")
        if self.freshness_alarm_seconds <= self.buffer_seconds:
            raise InvalidArgument("freshness_alarm_seconds", self.freshness_alarm_seconds,
                                  f"more than buffer_seconds ({self.buffer_seconds})")
        if self.record_format == "parquet":
            if self.buffer_mb < CONVERSION_MIN_BUFFER_MB:
                raise InvalidArgument("buffer_mb", self.buffer_mb, f"{CONVERSION_MIN_BUFFER_MB} to 128 with "
                                      "record_format parquet (Firehose's minimum for conversion)")
            if self.compression != "UNCOMPRESSED":
                raise InvalidArgument("compression", self.compression, "UNCOMPRESSED with record_format parquet")
            if not self.columns:
                raise InvalidArgument("record_format", "parquet", "json, unless the program passes the columns")

    @property
    def direct_put(self) -> bool:
        return self.source_stream_arn is None


class DeliveryStream(pulumi.ComponentResource):
    bucket: aws.s3.Bucket
    key: Optional[aws.kms.Key]
    log_group: aws.cloudwatch.LogGroup
    log_stream: aws.cloudwatch.LogStream
    processor: Optional[LambdaFunction]
    database: Optional[aws.glue.CatalogDatabase]
    table: Optional[aws.glue.CatalogTable]
    role: aws.iam.Role
    stream: aws.kinesis.FirehoseDeliveryStream
    producer_policy: Optional[aws.iam.Policy]
    alarms: list[aws.cloudwatch.MetricAlarm]

    def __init__(self, name: str, args: DeliveryStreamArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("cloud-patterns:streaming:DeliveryStream", name, None, opts)
        self.args = args
        child = pulumi.ResourceOptions(parent=self)
        invoke = pulumi.InvokeOutputOptions(parent=self)
        account = aws.get_caller_identity_output(opts=invoke).account_id
        region = aws.get_region_output(opts=invoke).region

        self.key = aws.kms.Key(f"{name}-key", description=f"{name}: records in Firehose and in S3",
                               enable_key_rotation=True, deletion_window_in_days=30, opts=child) \
            if args.customer_managed_key else None
        if self.key is not None:
            aws.kms.Alias(f"{name}-key", name=f"alias/{name}", target_key_id=self.key.key_id, opts=child)
        key_arn = self.key.arn if self.key is not None else None
        self.bucket = private_bucket(f"{name}-records", self, force_destroy=args.force_destroy, kms_key_arn=key_arn)
        self.log_group = log_group(f"{name}-delivery-errors", args.log_retention_days, self,
                                   log_group_name=f"/aws/kinesisfirehose/{name}")
        self.log_stream = aws.cloudwatch.LogStream(f"{name}-delivery-errors", name=LOG_STREAM,
                                                   log_group_name=self.log_group.name, opts=child)
        self.processor = None if args.processor is None else LambdaFunction(f"{name}-transform", dataclasses.replace(
            args.processor, log_retention_days=args.log_retention_days, alarm_topic_arn=args.alarm_topic_arn),
            opts=child)
        self.database = self.table = None
        if args.record_format == "parquet":
            self.database, self.table = hourly_parquet_table(
                name, self, re.sub(r"\W", "_", name).lower(), args.table_name, args.columns,
                pulumi.Output.concat("s3://", self.bucket.bucket, "/", args.prefix))

        self.role = iam.service_role(f"{name}-firehose", "firehose.amazonaws.com",
                                     iam.policy_document(self._statements(args, region, account), self), self,
                                     f"Delivers {name} to S3")
        self.stream = aws.kinesis.FirehoseDeliveryStream(
            name, name=name, destination="extended_s3",
            kinesis_source_configuration=None if args.direct_put else
            aws.kinesis.FirehoseDeliveryStreamKinesisSourceConfigurationArgs(
                kinesis_stream_arn=args.source_stream_arn, role_arn=self.role.arn),
            # Firehose encrypts only Direct PUT data itself; a Kinesis source is encrypted by its own stream.
            server_side_encryption=aws.kinesis.FirehoseDeliveryStreamServerSideEncryptionArgs(
                enabled=True, key_type="CUSTOMER_MANAGED_CMK" if key_arn else "AWS_OWNED_CMK", key_arn=key_arn)
            if args.direct_put else None,
            extended_s3_configuration=self._destination(args, key_arn), opts=pulumi.ResourceOptions(
                parent=self, depends_on=[*self.role.permissions]))
        self.producer_policy = aws.iam.Policy(
            f"{name}-producer", description=f"Put records into {name} (attach to whoever produces)",
            policy=iam.policy_document([iam.statement(["firehose:PutRecord", "firehose:PutRecordBatch"],
                                                      [self.stream.arn], sid="PutRecords")], self),
            opts=child) if args.direct_put else None
        self.alarms = self._alarms(name, args)
        self.register_outputs({"stream_name": self.stream.name, "stream_arn": self.stream.arn,
                               "bucket": self.bucket.bucket, "role_arn": self.role.arn})

    def _statements(self, args: DeliveryStreamArgs, region, account) -> list[iam.Statement]:
        objects = [pulumi.Output.concat(self.bucket.arn, "/", p, "*") for p in (args.prefix, args.error_prefix)]
        statements = [
            iam.statement(["s3:GetBucketLocation", "s3:ListBucket", "s3:ListBucketMultipartUploads"],
                          [self.bucket.arn], sid="FindTheBucket"),
            iam.statement(["s3:AbortMultipartUpload", "s3:GetObject", "s3:PutObject"], objects, sid="WriteRecords"),
            iam.statement(["logs:PutLogEvents"], [pulumi.Output.concat(self.log_group.arn, ":log-stream:",
                                                                       LOG_STREAM)], sid="LogDeliveryErrors")]
        if self.processor is not None:
            statements.append(iam.statement(["lambda:InvokeFunction", "lambda:GetFunctionConfiguration"],
                                            [self.processor.function.arn], sid="InvokeTheTransform"))
        if not args.direct_put:
            statements.append(iam.statement(["kinesis:DescribeStream", "kinesis:GetShardIterator",
                                             "kinesis:GetRecords", "kinesis:ListShards"], [args.source_stream_arn],
                                            sid="ReadTheSourceStream"))
        if self.key is not None:
            statements.append(iam.statement(["kms:GenerateDataKey", "kms:Decrypt"], [self.key.arn], sid="UseTheKey",
                conditions=[iam.condition("StringEquals", "kms:ViaService",
                                          pulumi.Output.concat("s3.", region, ".amazonaws.com")),
                            iam.condition("StringLike", "kms:EncryptionContext:aws:s3:arn", self.bucket.arn,
                                          pulumi.Output.concat(self.bucket.arn, "/*"))]))
        if self.table is not None:
            catalog = pulumi.Output.concat("arn:aws:glue:", region, ":", account, ":catalog")
            statements.append(iam.statement(["glue:GetTable", "glue:GetTableVersion", "glue:GetTableVersions"],
                                            [catalog, self.database.arn, self.table.arn], sid="ReadTheSchema"))
        return statements

    def _destination(self, args: DeliveryStreamArgs, key_arn):
        processing = None
        if self.processor is not None:
            values = {"NumberOfRetries": args.processor_retries, "BufferSizeInMBs": args.processor_buffer_mb,
                      "BufferIntervalInSeconds": args.processor_buffer_seconds}
            parameters = [{"parameter_name": "LambdaArn", "parameter_value": self.processor.function.arn}]
            parameters += [{"parameter_name": key, "parameter_value": f"{value:g}"} for key, value in values.items()
                           if value != PROCESSOR_DEFAULTS[key]]
            processing = {"enabled": True, "processors": [{"type": "Lambda", "parameters": parameters}]}
        conversion = None
        if self.table is not None:
            conversion = {"enabled": True, "input_format_configuration": {"deserializer": {"open_x_json_ser_de": {}}},
                          "output_format_configuration": {"serializer": {"parquet_ser_de": {"compression": "SNAPPY"}}},
                          "schema_configuration": {"database_name": self.database.name,
                                                   "table_name": self.table.name, "role_arn": self.role.arn}}
        return aws.kinesis.FirehoseDeliveryStreamExtendedS3ConfigurationArgs(
            bucket_arn=self.bucket.arn, role_arn=self.role.arn, prefix=args.prefix + PARTITIONS,
            error_output_prefix=args.error_prefix + "!{firehose:error-output-type}/" + PARTITIONS,
            buffering_size=args.buffer_mb, buffering_interval=args.buffer_seconds,
            compression_format=args.compression, kms_key_arn=key_arn,
            cloudwatch_logging_options={"enabled": True, "log_group_name": self.log_group.name,
                                        "log_stream_name": self.log_stream.name},
            processing_configuration=processing, data_format_conversion_configuration=conversion)

    def _alarms(self, name: str, args: DeliveryStreamArgs) -> list[aws.cloudwatch.MetricAlarm]:
        if args.alarm_topic_arn is None:
            return []
        dimensions = {"DeliveryStreamName": self.stream.name}

        def alarm(suffix: str, metric: str, description: str, **kwargs) -> aws.cloudwatch.MetricAlarm:
            return alarms.metric_alarm(f"{name}-{suffix}", self, args.alarm_topic_arn, namespace="AWS/Firehose",
                                       metric=metric, dimensions=dimensions, period_seconds=300,
                                       description=f"{name}: {description}", **kwargs)

        made = [alarm("freshness", "DeliveryToS3.DataFreshness", f"records wait more than "
                      f"{args.freshness_alarm_seconds} s for delivery", statistic="Maximum",
                      threshold=args.freshness_alarm_seconds),
                alarm("delivery", "DeliveryToS3.Success", "S3 deliveries failed (Firehose retries, then writes "
                      f"to {args.error_prefix})", statistic="Minimum", threshold=1, comparison="LessThanThreshold")]
        if self.processor is not None:
            made.append(alarm("processing", "ExecuteProcessing.Success", "transform invocations failed",
                              statistic="Minimum", threshold=1, comparison="LessThanThreshold"))
            made += self.processor.alarms
        if self.table is not None:
            made.append(alarm("conversion", "FailedConversion.Records", "records did not convert to Parquet"))
        if args.direct_put:
            made.append(alarm("throttled", "ThrottledRecords", "Direct PUT records were throttled (raise the "
                              "stream's quota, or slow producers down)"))
        return made
