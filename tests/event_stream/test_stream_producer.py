"""The producer against moto's Firehose delivering to moto's S3, with the real transform applied in between.

moto's Firehose writes each PutRecordBatch to S3 but runs no processor, so ``processing_firehose`` (see
``firehose_support``) puts the real transform handler where Firehose's Lambda processor sits: between the
stream accepting records and S3. Everything else is the real path: boto3 → moto's Firehose API → S3 objects.
moto also writes the prefix's ``!{timestamp:…}`` expressions literally, so objects are listed by ``events/``.
"""
from __future__ import annotations

import json

import boto3
import pytest
from moto import mock_aws
from moto.firehose.models import FirehoseBackend
from typer.testing import CliRunner

from runtime.stream_producer import producer as producer_module
from runtime.stream_producer.__main__ import app
from runtime.stream_producer.producer import MAX_BATCH_BYTES, Producer, ProducerError, batches
from runtime.stream_producer.records import Rejected, file_records, generated_records
from runtime.stream_transform import transform
from tests.event_stream.firehose_support import processing_firehose, settings

REGION, STREAM, BUCKET = "us-east-1", "test-event-stream", "test-event-stream-records"
PREFIX = "events/year=!{timestamp:yyyy}/month=!{timestamp:MM}/day=!{timestamp:dd}/hour=!{timestamp:HH}/"


def handler(event: dict) -> dict:
    return transform.transform(event["records"], settings()).response()


@pytest.fixture
def aws(monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        monkeypatch.setattr(FirehoseBackend, "put_s3_records",
                            processing_firehose(FirehoseBackend.put_s3_records, handler))
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket=BUCKET)
        firehose = boto3.client("firehose", region_name=REGION)
        firehose.create_delivery_stream(
            DeliveryStreamName=STREAM, DeliveryStreamType="DirectPut",
            ExtendedS3DestinationConfiguration={
                "RoleARN": "arn:aws:iam::123456789012:role/firehose", "BucketARN": f"arn:aws:s3:::{BUCKET}",
                "Prefix": PREFIX, "ErrorOutputPrefix": "errors/"})
        yield firehose, s3


def lines_under(s3, prefix: str) -> list[bytes]:
    found = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix):
        for item in page.get("Contents", []):
            body = s3.get_object(Bucket=BUCKET, Key=item["Key"])["Body"].read()
            assert body.endswith(b"\n")
            found += body.split(b"\n")[:-1]
    return found


def refuse_everything(self, delivery_stream_name, records):
    return {"FailedPutCount": len(records),
            "RequestResponses": [{"ErrorCode": "ServiceUnavailableException"}] * len(records)}


def no_sleep(seconds: float) -> None:
    pass


def test_batches_keep_to_500_records_and_4_mib():
    assert [len(b) for b in batches([b"x"] * 1201)] == [500, 500, 201]
    big = [b"y" * 1_000_000] * 9
    assert [len(b) for b in batches(big)] == [4, 4, 1]
    assert all(sum(map(len, b)) <= MAX_BATCH_BYTES for b in batches(big))
    assert [len(b) for b in batches([b"z"] * 7, max_records=3)] == [3, 3, 1]


def test_n_records_in_n_lines_out(aws):
    firehose, s3 = aws
    records = list(generated_records(1234, seed=7))
    report = Producer(firehose, STREAM, sleep=no_sleep).send(records)
    assert (report.sent, report.retried, report.failed, report.calls) == (1234, 0, [], 3)
    heartbeats = sum(json.loads(r)["event_type"] == "heartbeat" for r in records)
    lines = lines_under(s3, "events/")
    assert sorted(lines) == sorted(r for r in records if json.loads(r)["event_type"] != "heartbeat")
    assert len(lines) == 1234 - heartbeats and heartbeats > 0  # the stack's drop rule: heartbeats dropped
    assert lines_under(s3, "errors/") == []


def test_invalid_lines_of_a_file_land_under_the_error_prefix(aws, tmp_path):
    firehose, s3 = aws
    good = list(generated_records(20))
    path = tmp_path / "records.jsonl"
    path.write_bytes(b"\n".join([*good[:10], b"{not json", b"", *good[10:], b"x" * 1_100_000]) + b"\n")
    rejected = Rejected()
    report = Producer(firehose, STREAM, sleep=no_sleep).send(file_records(path, rejected))
    assert report.sent == 21 and rejected.lines == {23: 1_100_000}
    [error] = lines_under(s3, "errors/processing-failed/")
    assert json.loads(error)["errorCode"] == "Lambda.ProcessingFailed"
    kept = [r for r in good if json.loads(r)["event_type"] != "heartbeat"]
    assert sorted(lines_under(s3, "events/")) == sorted(kept)


def test_only_the_records_firehose_refused_are_sent_again(aws, monkeypatch):
    """A partial failure (FailedPutCount > 0): the refused records, and only they, are retried; S3 ends up with
    every record exactly once."""
    firehose, s3 = aws
    original = FirehoseBackend.put_record_batch
    calls = []

    def refusing(self, delivery_stream_name, records):
        calls.append(len(records))
        if len(records) < 400:  # the retries go through
            return original(self, delivery_stream_name, records)
        refused = set(range(0, len(records), 3))  # every third record of each first attempt is throttled
        original(self, delivery_stream_name, [r for i, r in enumerate(records) if i not in refused])
        return {"FailedPutCount": len(refused), "Encrypted": False, "RequestResponses": [
            {"ErrorCode": "ServiceUnavailableException", "ErrorMessage": "Slow down."} if i in refused
            else {"RecordId": f"ok-{i}"} for i in range(len(records))]}

    monkeypatch.setattr(FirehoseBackend, "put_record_batch", refusing)
    records = [json.dumps({"event_id": f"e-{i}", "event_type": "click", "occurred_at": "2025-01-01T00:00:00Z"},
                          separators=(",", ":")).encode() for i in range(900)]
    delays = []
    report = Producer(firehose, STREAM, sleep=delays.append, jitter=lambda: 1.0).send(records)
    assert calls[:4] == [500, 167, 400, 134]  # batch 1, its refused third; batch 2, its refused third
    assert (report.sent, report.retried, report.failed) == (900, 301, [])
    assert delays == [0.1, 0.1]
    assert sorted(lines_under(s3, "events/")) == sorted(records)


def test_records_refused_every_time_are_returned_not_lost(aws, monkeypatch):
    firehose, _ = aws
    monkeypatch.setattr(FirehoseBackend, "put_record_batch", refuse_everything)
    delays = []
    records = [b'{"n": 1}', b'{"n": 2}']
    report = Producer(firehose, STREAM, max_attempts=4, sleep=delays.append, jitter=lambda: 1.0).send(records)
    assert (report.sent, report.failed, report.retried, report.calls) == (0, records, 6, 4)
    assert delays == [0.1, 0.2, 0.4]  # exponential backoff (full jitter at its top here)


def test_a_stream_that_does_not_exist_stops_the_run(aws):
    firehose, _ = aws
    with pytest.raises(ProducerError, match="no-such-stream: ResourceNotFoundException"):
        Producer(firehose, "no-such-stream", sleep=no_sleep).send([b"{}"])


def test_the_rate_is_kept_on_average(aws):
    firehose, _ = aws
    now = [0.0]
    waited = []

    def sleep(seconds):
        waited.append(seconds)
        now[0] += seconds

    report = Producer(firehose, STREAM, rate=100, batch_records=50, sleep=sleep, clock=lambda: now[0]).send(
        generated_records(300))
    assert report.calls == 6 and sum(waited) == pytest.approx(2.5)  # 300 records at 100/s: 3 s, less the last 0.5
    assert report.seconds == pytest.approx(2.5)


def test_the_command_line_sends_and_reports(aws, tmp_path, monkeypatch):
    monkeypatch.setattr(producer_module.time, "sleep", no_sleep)
    _, s3 = aws
    result = CliRunner().invoke(app, ["--stream", STREAM, "--generate", "--count", "750", "--region", REGION])
    assert result.exit_code == 0, result.output
    assert "sent" in result.stdout and "750" in result.stdout and "PutRecordBatch calls" in result.stdout
    assert len(lines_under(s3, "events/")) == sum(json.loads(r)["event_type"] != "heartbeat"
                                                  for r in generated_records(750))
    path = tmp_path / "big.jsonl"
    path.write_bytes(b'{"a": 1}\n' + b"x" * 1_100_000 + b"\n")
    result = CliRunner().invoke(app, ["--stream", STREAM, "--file", str(path)])
    assert result.exit_code == 1 and "line 2 (1,100,000 bytes)" in result.stdout
    assert CliRunner().invoke(app, ["--stream", STREAM, "--generate", "--file", str(path)]).exit_code == 2
    assert CliRunner().invoke(app, ["--stream", STREAM]).exit_code == 2
    missing = CliRunner().invoke(app, ["--stream", "nope", "--generate", "--count", "1"])
    assert missing.exit_code == 2 and "ResourceNotFoundException" in missing.output


def test_records_the_stream_keeps_refusing_go_to_the_failed_file(aws, tmp_path, monkeypatch):
    monkeypatch.setattr(producer_module.time, "sleep", no_sleep)
    monkeypatch.setattr(FirehoseBackend, "put_record_batch", refuse_everything)
    failed = tmp_path / "failed.jsonl"
    result = CliRunner().invoke(app, ["--stream", STREAM, "--generate", "--count", "3", "--max-attempts", "2",
                                      "--failed-out", str(failed)])
    assert result.exit_code == 1
    assert failed.read_bytes().splitlines() == list(generated_records(3))
