"""Sending records to a Firehose delivery stream (Direct PUT) in batches, retrying only what failed.

``PutRecordBatch`` takes at most 500 records and 4 MiB a call, and may accept part of a batch: ``FailedPutCount``
says how many were refused and each refused record's entry carries an ``ErrorCode`` (usually
``ServiceUnavailableException`` when the stream's throughput limit is hit). Only those records are sent again,
after a backoff with full jitter, so a record the stream reported accepted is never sent again. A whole call
that fails with a retryable error, or whose answer is lost (a timeout), is retried the same way: in the second
case the stream may have kept it, so Firehose delivery stays at-least-once. Other errors (no such stream,
access denied) stop the run at once. Records still refused after ``max_attempts`` are returned, so nothing
is dropped silently.
"""
from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from botocore.exceptions import BotoCoreError, ClientError

MAX_BATCH_RECORDS = 500
MAX_BATCH_BYTES = 4 * 1024 * 1024
RETRYABLE_ERRORS = ("ServiceUnavailableException", "ThrottlingException", "InternalFailure", "InternalServerError",
                    "RequestTimeout", "RequestTimeoutException")


class ProducerError(RuntimeError):
    """The stream refused the run as a whole (e.g. it does not exist, or the caller may not write to it)."""


@dataclass
class Report:
    sent: int = 0
    """Records the stream accepted."""
    retried: int = 0
    """Record sends that were repeats of refused records."""
    failed: list[bytes] = field(default_factory=list)
    """Records still refused after every attempt."""
    calls: int = 0
    seconds: float = 0.0

    @property
    def records_per_second(self) -> float:
        return self.sent / self.seconds if self.seconds else 0.0


def batches(records: Iterable[bytes], max_records: int = MAX_BATCH_RECORDS,
            max_bytes: int = MAX_BATCH_BYTES) -> Iterator[list[bytes]]:
    """Consecutive batches within both limits (each record must fit a batch on its own)."""
    batch: list[bytes] = []
    size = 0
    for record in records:
        if batch and (len(batch) == max_records or size + len(record) > max_bytes):
            yield batch
            batch, size = [], 0
        batch.append(record)
        size += len(record)
    if batch:
        yield batch


class Producer:
    def __init__(self, client, stream: str, *, max_attempts: int = 5, base_delay: float = 0.1,
                 max_delay: float = 5.0, rate: float | None = None, batch_records: int = MAX_BATCH_RECORDS,
                 sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.monotonic,
                 jitter: Callable[[], float] = random.random,
                 on_progress: Callable[[int, int, int], None] | None = None):
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if not 1 <= batch_records <= MAX_BATCH_RECORDS:
            raise ValueError(f"batch_records must be from 1 to {MAX_BATCH_RECORDS}")
        self.client, self.stream = client, stream
        self.max_attempts, self.base_delay, self.max_delay = max_attempts, base_delay, max_delay
        self.rate, self.batch_records = rate, batch_records
        self.sleep, self.clock, self.jitter = sleep, clock, jitter
        self.on_progress = on_progress or (lambda sent, retried, failed: None)
        self._next_send = 0.0

    def send(self, records: Iterable[bytes]) -> Report:
        report = Report()
        started = self.clock()
        try:
            for batch in batches(records, self.batch_records):
                self._send_batch(batch, report)
        finally:
            report.seconds = self.clock() - started
        return report

    def _send_batch(self, batch: list[bytes], report: Report) -> None:
        pending = batch
        for attempt in range(1, self.max_attempts + 1):
            if attempt > 1:
                report.retried += len(pending)
                self.on_progress(0, len(pending), 0)
                self.sleep(self.jitter() * min(self.max_delay, self.base_delay * 2 ** (attempt - 2)))
            refused = self._put(pending, report)
            accepted = len(pending) - len(refused)
            report.sent += accepted
            self.on_progress(accepted, 0, 0)
            if not refused:
                return
            pending = refused
        report.failed += pending
        self.on_progress(0, 0, len(pending))

    def _put(self, records: list[bytes], report: Report) -> list[bytes]:
        """Sends once; answers the records the stream refused (all of them when the call failed and may be
        retried)."""
        self._pace(len(records))
        report.calls += 1
        try:
            answer = self.client.put_record_batch(DeliveryStreamName=self.stream,
                                                  Records=[{"Data": record} for record in records])
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            if code in RETRYABLE_ERRORS:
                return records
            raise ProducerError(f"{self.stream}: {code}: {error.response.get('Error', {}).get('Message', '')}") \
                from None
        except BotoCoreError:  # connection reset, read timeout: nothing says the records arrived
            return records
        responses = answer.get("RequestResponses") or []
        if len(responses) != len(records):
            raise ProducerError(f"{self.stream}: {len(responses)} answers for {len(records)} records")
        if not answer.get("FailedPutCount"):
            return []
        return [record for record, response in zip(records, responses) if response.get("ErrorCode")]

    def _pace(self, count: int) -> None:
        """At most ``rate`` records a second, averaged from the start of the run."""
        if not self.rate:
            return
        now = self.clock()
        if self._next_send > now:
            self.sleep(self._next_send - now)
        self._next_send = max(self._next_send, now) + count / self.rate
