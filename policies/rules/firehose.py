"""Kinesis Data Firehose: Direct PUT delivery streams encrypt what they buffer; S3 destinations log delivery
errors (without it, a failing delivery is seen only as data that never arrives)."""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from policies.rules.core import ADVISORY, _true, known, resource_rule

DELIVERY_STREAM = "aws:kinesis/firehoseDeliveryStream:FirehoseDeliveryStream"
SOURCES = ("kinesisSourceConfiguration", "mskSourceConfiguration")
"""A stream with one of these reads another service, which encrypts its own data; Firehose refuses SSE then."""


@resource_rule("firehose-encrypted", "Direct PUT Firehose delivery streams have server-side encryption enabled",
               DELIVERY_STREAM)
def firehose_encrypted(type_: str, props: Mapping[str, Any]) -> Iterable[str]:
    if any(props.get(source) for source in SOURCES):
        return
    encryption = props.get("serverSideEncryption")
    if known(encryption) and not (isinstance(encryption, Mapping) and _true(encryption.get("enabled"))):
        yield "records are buffered unencrypted: set server_side_encryption (AWS_OWNED_CMK or a customer key)"


@resource_rule("firehose-delivery-error-logging", "Firehose S3 destinations log delivery errors to CloudWatch",
               DELIVERY_STREAM, enforcement=ADVISORY)
def firehose_delivery_error_logging(type_: str, props: Mapping[str, Any]) -> Iterable[str]:
    destination = props.get("extendedS3Configuration")
    if not isinstance(destination, Mapping):
        return
    logging = destination.get("cloudwatchLoggingOptions")
    if known(logging) and not (isinstance(logging, Mapping) and _true(logging.get("enabled"))):
        yield "delivery errors are not logged: enable cloudwatch_logging_options with a log group and stream"
