"""The event-stream stack under the mock engine: least-privilege roles, prefixes, the transform's wiring,
Parquet through Glue, encryption, alarms on the environment's topic, config refused before any resource, cost."""
from __future__ import annotations

import json

import pytest

from planning.mocks import ACCOUNT_ID, ProviderMocks
from planning.offline import RecordingMonitor
from programs.common import ConfigError
from runtime.stream_transform import contract
from stacks.cost import estimate_environment
from tests.conftest import run_program

STREAM = "aws:kinesis/firehoseDeliveryStream:FirehoseDeliveryStream"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
PARTITIONS = "year=!{timestamp:yyyy}/month=!{timestamp:MM}/day=!{timestamp:dd}/hour=!{timestamp:HH}/"
PARQUET = {"buffer_mb": 128, "compression": "UNCOMPRESSED", "record_format": "parquet", "customer_managed_key": True}


@pytest.fixture(scope="module")
def alerts():
    return {"test-alerts": run_program("alerts", {"alerts": {"emails": []}}).outputs}


def plan_with(alerts, stream=None, transform=None, monitor=None):
    config = {"event_stream": stream or {}, "stream_transform": transform or {}}
    return run_program("event-stream", config, upstream={"alerts": "test-alerts"}, upstream_outputs=alerts,
                       short_name="event-stream", monitor=monitor)


@pytest.fixture(scope="module")
def plan(alerts):
    return plan_with(alerts, transform={"drop_when": {"event_type": ["heartbeat"]}})


@pytest.fixture(scope="module")
def parquet(alerts):
    return plan_with(alerts, PARQUET, {"columns": {"id": "string", "at": "timestamp", "n": "bigint"},
                                       "required": ["id"]})


def one(plan, type_token, name=None):
    [resource] = [r for r in plan.of_type(type_token) if name is None or r.name == name]
    return resource


def statements(plan, name):
    return {s["Sid"]: s for s in json.loads(one(plan, ROLE_POLICY, name).inputs["policy"])["Statement"]}


def test_the_stream_writes_hive_partitions_and_keeps_failures_apart(plan):
    stream = one(plan, STREAM).inputs
    s3 = stream["extendedS3Configuration"]
    assert stream["name"] == "test-event-stream" and stream["destination"] == "extended_s3"
    assert s3["prefix"] == "events/" + PARTITIONS
    assert s3["errorOutputPrefix"] == "errors/!{firehose:error-output-type}/" + PARTITIONS
    assert (s3["bufferingSize"], s3["bufferingInterval"], s3["compressionFormat"]) == (5, 300, "GZIP")
    assert s3["bucketArn"] == f"arn:aws:s3:::{plan.outputs['bucket']}"
    assert s3["cloudwatchLoggingOptions"] == {"enabled": True, "logGroupName": "/aws/kinesisfirehose/test-event-stream",
                                              "logStreamName": "DestinationDelivery"}
    assert stream["serverSideEncryption"] == {"enabled": True, "keyType": "AWS_OWNED_CMK"}
    assert "kinesisSourceConfiguration" not in stream and "dataFormatConversionConfiguration" not in s3


def test_the_transform_is_the_processor_with_its_schema_in_its_environment(plan):
    function = one(plan, "aws:lambda/function:Function")
    [processor] = one(plan, STREAM).inputs["extendedS3Configuration"]["processingConfiguration"]["processors"]
    assert processor == {"type": "Lambda", "parameters": [{"parameterName": "LambdaArn", "parameterValue":
                         f"arn:aws:lambda:us-east-1:{ACCOUNT_ID}:function:{plan.outputs['transform_function']}"}]}
    settings = contract.Settings.from_env(function.inputs["environment"]["variables"])
    assert settings.columns == contract.DEFAULT_COLUMNS and settings.drop_when == {"event_type": ("heartbeat",)}
    assert (function.inputs["handler"], function.inputs["timeout"]) == ("handler.handler", 120)
    assert set(function.inputs["code"]["assets"]) == {"__init__.py", "contract.py", "handler.py", "transform.py"}


def test_processor_buffering_is_passed_only_when_not_firehose_s_default(alerts):
    stream = one(plan_with(alerts, {"processor_buffer_mb": 0.5, "processor_retries": 3}), STREAM)
    [processor] = stream.inputs["extendedS3Configuration"]["processingConfiguration"]["processors"]
    assert [p["parameterName"] for p in processor["parameters"]] == ["LambdaArn", "BufferSizeInMBs"]
    assert processor["parameters"][1]["parameterValue"] == "0.5"


def test_firehose_may_write_only_its_prefixes_invoke_only_the_transform_and_log_only_its_stream(plan):
    bucket = f"arn:aws:s3:::{plan.outputs['bucket']}"
    function = f"arn:aws:lambda:us-east-1:{ACCOUNT_ID}:function:{plan.outputs['transform_function']}"
    granted = statements(plan, "test-event-stream-firehose-policy")
    assert {sid: (s["Action"], s["Resource"]) for sid, s in granted.items()} == {
        "FindTheBucket": (["s3:GetBucketLocation", "s3:ListBucket", "s3:ListBucketMultipartUploads"], bucket),
        "WriteRecords": (["s3:AbortMultipartUpload", "s3:GetObject", "s3:PutObject"],
                         [f"{bucket}/events/*", f"{bucket}/errors/*"]),
        "LogDeliveryErrors": ("logs:PutLogEvents", f"arn:aws:logs:us-east-1:{ACCOUNT_ID}:log-group:"
                              "/aws/kinesisfirehose/test-event-stream:log-stream:DestinationDelivery"),
        "InvokeTheTransform": (["lambda:InvokeFunction", "lambda:GetFunctionConfiguration"], function)}


def test_only_firehose_acting_for_this_account_may_assume_the_firehose_role(plan):
    """Firehose's developer guide guards its role with the account as sts:ExternalId (it documents no
    aws:SourceArn for the role it assumes, and a condition on a key it does not send would lock it out)."""
    role = one(plan, "aws:iam/role:Role", "test-event-stream-firehose")
    [trust] = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
    assert trust["Principal"] == {"Service": "firehose.amazonaws.com"}
    assert trust["Condition"] == {"StringEquals": {"sts:ExternalId": ACCOUNT_ID}}


def test_producers_get_a_policy_to_attach_that_allows_putting_records_only(plan):
    policy = json.loads(one(plan, "aws:iam/policy:Policy").inputs["policy"])
    assert policy["Statement"] == [{"Sid": "PutRecords", "Effect": "Allow", "Resource": plan.outputs[
        "delivery_stream_arn"], "Action": ["firehose:PutRecord", "firehose:PutRecordBatch"]}]
    assert plan.outputs["producer_policy_arn"].startswith(f"arn:aws:iam::{ACCOUNT_ID}:policy/")


def test_every_alarm_notifies_the_environment_s_topic(plan, alerts):
    topic = alerts["test-alerts"]["topic_arn"]
    found = {r.name: r.inputs for r in plan.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")}
    assert set(found) == {f"test-event-stream-{n}" for n in ("freshness", "delivery", "processing", "throttled",
                                                             "transform-errors", "transform-throttles")}
    assert all(a["alarmActions"] == [topic] and a["okActions"] == [topic] for a in found.values())
    freshness = found["test-event-stream-freshness"]
    assert (freshness["namespace"], freshness["metricName"], freshness["threshold"]) == (
        "AWS/Firehose", "DeliveryToS3.DataFreshness", 900)
    assert freshness["dimensions"] == {"DeliveryStreamName": "test-event-stream"}
    assert found["test-event-stream-delivery"]["comparisonOperator"] == "LessThanThreshold"
    assert plan.outputs["alarms"] == 6


def test_parquet_converts_through_a_glue_table_of_the_schema(parquet):
    s3 = one(parquet, STREAM).inputs["extendedS3Configuration"]
    conversion = s3["dataFormatConversionConfiguration"]
    assert conversion["schemaConfiguration"] == {"databaseName": "test_event_stream", "tableName": "records",
                                                 "roleArn": s3["roleArn"]}
    assert conversion["outputFormatConfiguration"] == {"serializer": {"parquetSerDe": {"compression": "SNAPPY"}}}
    table = one(parquet, "aws:glue/catalogTable:CatalogTable").inputs
    assert [(c["name"], c["type"]) for c in table["storageDescriptor"]["columns"]] == [
        ("id", "string"), ("at", "timestamp"), ("n", "bigint")]
    assert [k["name"] for k in table["partitionKeys"]] == ["year", "month", "day", "hour"]
    assert table["parameters"]["storage.location.template"] == (
        f"s3://{parquet.outputs['bucket']}/events/year=${{year}}/month=${{month}}/day=${{day}}/hour=${{hour}}/")
    schema = statements(parquet, "test-event-stream-firehose-policy")["ReadTheSchema"]
    assert schema["Resource"] == [f"arn:aws:glue:us-east-1:{ACCOUNT_ID}:catalog",
                                  f"arn:aws:glue:us-east-1:{ACCOUNT_ID}:database/test_event_stream",
                                  f"arn:aws:glue:us-east-1:{ACCOUNT_ID}:table/test_event_stream/records"]
    assert parquet.outputs["glue_table"] == "test_event_stream.records"
    assert "test-event-stream-conversion" in {r.name for r in parquet.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")}


def test_a_customer_managed_key_encrypts_the_stream_the_bucket_and_the_objects(parquet):
    key = one(parquet, "aws:kms/key:Key")
    assert key.inputs["enableKeyRotation"] is True
    key_arn = f"arn:aws:kms:us-east-1:{ACCOUNT_ID}:key/{one(parquet, 'aws:kms/alias:Alias').inputs['targetKeyId']}"
    stream = one(parquet, STREAM).inputs
    assert stream["serverSideEncryption"] == {"enabled": True, "keyType": "CUSTOMER_MANAGED_CMK", "keyArn": key_arn}
    assert stream["extendedS3Configuration"]["kmsKeyArn"] == key_arn
    [rule] = one(parquet, "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
                 ).inputs["rules"]
    assert rule == {"applyServerSideEncryptionByDefault": {"sseAlgorithm": "aws:kms", "kmsMasterKeyId": key_arn},
                    "bucketKeyEnabled": True}
    use = statements(parquet, "test-event-stream-firehose-policy")["UseTheKey"]
    bucket = f"arn:aws:s3:::{parquet.outputs['bucket']}"
    assert (use["Resource"], use["Condition"]) == (key_arn, {
        "StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"},
        "StringLike": {"kms:EncryptionContext:aws:s3:arn": [bucket, f"{bucket}/*"]}})


def test_a_kinesis_source_is_read_and_not_encrypted_by_firehose(alerts):
    source = f"arn:aws:kinesis:us-east-1:{ACCOUNT_ID}:stream/clicks"
    plan = plan_with(alerts, {"source_stream_arn": source})
    stream = one(plan, STREAM).inputs
    assert stream["kinesisSourceConfiguration"]["kinesisStreamArn"] == source
    assert "serverSideEncryption" not in stream and plan.of_type("aws:iam/policy:Policy") == []
    read = statements(plan, "test-event-stream-firehose-policy")["ReadTheSourceStream"]
    assert read["Resource"] == source and "kinesis:GetRecords" in read["Action"]
    assert "test-event-stream-throttled" not in {r.name for r in plan.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")}


@pytest.mark.parametrize("stream, transform, message", [
    ({"record_format": "parquet", "buffer_mb": 128}, {}, "event_stream.compression: 'GZIP' is not allowed; allowed: "
                                                         "UNCOMPRESSED with record_format parquet"),
    ({**PARQUET, "buffer_mb": 5}, {}, "event_stream.buffer_mb: 5 is not allowed; allowed: 64 to 128"),
    ({"prefix": "data/", "error_prefix": "data/errors/"}, {}, "event_stream.error_prefix: 'data/errors/'"),
    ({"buffer_seconds": 900}, {}, "event_stream.freshness_alarm_seconds: 900 is not allowed; allowed: more than"),
    ({"source_stream_arn": "arn:aws:firehose:us-east-1:123456789012:deliverystream/x"}, {},
     "event_stream.source_stream_arn"),
    ({"shards": 2}, {}, "event_stream.shards: unknown setting"),
    ({}, {"required": ["event_id", "nope"]}, "stream_transform.required: 'nope' is not allowed; allowed: names of "
                                             "columns"),
    ({}, {"drop_when": {"kind": ["x"]}}, "stream_transform.drop_when: 'kind'"),
    ({}, {"columns": {"id": "varchar"}}, "stream_transform.columns.id: 'varchar' is not allowed; allowed: one of "
                                         "string, int, bigint"),
    ({}, {"columns": {"Id": "string"}, "required": []}, "stream_transform.columns: 'Id'"),
    ({}, {"columns": {f"column_{i:03d}_with_a_long_name": "string" for i in range(200)}, "required": []},
     "stream_transform.columns: '7888 bytes of settings' is not allowed; allowed: a schema and drop rules that "
     "fit the 4096 bytes"),
])
def test_bad_config_is_refused_naming_the_key_before_any_resource(alerts, stream, transform, message):
    monitor = RecordingMonitor(ProviderMocks())
    with pytest.raises(ConfigError) as error:
        plan_with(alerts, stream, transform, monitor)
    assert f"cloud-patterns:{message}" in str(error.value)
    assert [r for r in monitor.recorded if r.custom and r.type != "pulumi:pulumi:StackReference"] == []


def test_priced_per_gb_ingested_converted_and_transformed(parquet):
    stack = estimate_environment([parquet]).stacks[0]
    per_gb = {line.item: line.price for line in stack.usage if line.usage_key == "firehose_gb"}
    function = one(parquet, "aws:lambda/function:Function")
    # 1,024 invocations per GB at 1 MB buffers, each 256 MB arm64 for 200 ms (the default assumption)
    transform = 1024 * (0.20 / 1e6 + 0.25 * 0.2 * 0.0000133334)
    assert per_gb == pytest.approx({"ingestion": 0.029, "record format conversion": 0.018,
                                    f"transform by {function.name}": transform})
    assert [f.reason for f in stack.free if f.resource == function.name] == [
        "priced per GB ingested by delivery stream test-event-stream (its record transform)"]
    assert stack.not_priced == []
