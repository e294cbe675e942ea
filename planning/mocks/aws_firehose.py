"""Mock shapes: Kinesis Data Firehose delivery streams (and Kinesis data streams, their other source)."""
from __future__ import annotations

from planning.mocks import ProviderMocks, autoname, shape


@shape("aws:kinesis/firehoseDeliveryStream:FirehoseDeliveryStream")
def _delivery_stream(m: ProviderMocks, name: str, inputs: dict) -> tuple[str, dict]:
    stream = autoname(name, inputs)
    arn = m.arn("firehose", f"deliverystream/{stream}")
    return arn, {"name": stream, "arn": arn, "versionId": "1", "destinationId": "destinationId-000000000001"}


@shape("aws:kinesis/stream:Stream")
def _stream(m: ProviderMocks, name: str, inputs: dict) -> tuple[str, dict]:
    stream = autoname(name, inputs)
    arn = m.arn("kinesis", f"stream/{stream}")
    return arn, {"name": stream, "arn": arn}
