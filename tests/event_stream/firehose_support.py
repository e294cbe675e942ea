"""Firehose-shaped processor events, and a Firehose stand-in for moto: it runs the transform between the stream
and S3 the way Firehose's Lambda processor does (moto's Firehose writes records to S3 but runs no processor)."""
from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable, Iterable

from runtime.stream_transform import contract, transform

STREAM_ARN = "arn:aws:firehose:us-east-1:123456789012:deliverystream/test-event-stream"


def record_id(index: int) -> str:
    """Ids shaped like Firehose's (a 56-digit sequence number and a counter)."""
    return f"4954698668313554428650745793632162567570019247115678515{index:07d}"


def event(payloads: Iterable[bytes | str]) -> dict:
    """A processor invocation event; ``str`` payloads are passed as the data field as they are (not base64)."""
    records = []
    for index, payload in enumerate(payloads):
        data = payload if isinstance(payload, str) else base64.b64encode(payload).decode()
        records.append({"recordId": record_id(index), "approximateArrivalTimestamp": 1735689600000 + index,
                        "data": data})
    return {"invocationId": "00540a87-5050-496a-84e4-e7d92bbaf5e2", "deliveryStreamArn": STREAM_ARN,
            "region": "us-east-1", "records": records}


def settings(**changes) -> contract.Settings:
    values = dict(columns=contract.DEFAULT_COLUMNS, required=contract.DEFAULT_REQUIRED, allow_unknown_fields=True,
                  drop_when={"event_type": ("heartbeat",)}, max_record_bytes=65536)
    return contract.Settings(**{**values, **changes})


def decoded(entry: dict) -> bytes:
    return base64.b64decode(entry["data"])


def processing_firehose(put_s3_records: Callable, handler: Callable[[dict], dict], error_prefix: str = "errors/"):
    """A replacement for moto's ``FirehoseBackend.put_s3_records`` that first runs ``handler`` on the batch as
    Firehose's processor would: ``Ok`` records go on to the destination (moto writes them to S3), failed ones to
    the error prefix as Firehose's error records, dropped ones nowhere."""
    def put(self, delivery_stream_name, version_id, s3_destination, records):
        answer = handler(event(r["Data"] for r in records))
        assert [e["recordId"] for e in answer["records"]] == [record_id(i) for i in range(len(records))]
        kept = [{"Data": decoded(e)} for e in answer["records"] if e["result"] == "Ok"]
        failed = [(records[i]["Data"], e) for i, e in enumerate(answer["records"]) if e["result"] == transform.FAILED]
        if kept:
            put_s3_records(self, delivery_stream_name, version_id, s3_destination, kept)
        if failed:
            lines = [json.dumps({"attemptsMade": 1, "arrivalTimestamp": int(time.time() * 1000),
                                 "errorCode": "Lambda.ProcessingFailed", "rawData": base64.b64encode(data).decode(),
                                 "lambdaArn": "arn:aws:lambda:us-east-1:123456789012:function:transform"}) + "\n"
                     for data, _ in failed]
            put_s3_records(self, delivery_stream_name, version_id,
                           {**s3_destination, "Prefix": f"{error_prefix}processing-failed/"},
                           [{"Data": line.encode()} for line in lines])
        return [{"RecordId": f"moto-{i}"} for i in range(len(records))]
    return put
