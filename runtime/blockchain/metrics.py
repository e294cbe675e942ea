"""The node's metrics in CloudWatch embedded metric format (EMF): one JSON log line per interval, which
CloudWatch Logs turns into metrics of namespace ``contract.METRICS_NAMESPACE`` (no agent, no API calls).

Counted between flushes and written at once, so a burst of 1,000 transactions a second costs one log line a
minute, not 1,000: Blocks (the chain's length), MiningSuccesses, MiningFailures, TimeToMine (ms, one value per
block mined), Transactions and TransactionsPerSecond (accepted by this node), TimeToResolve (ms, per consensus
round), ChainReplacements.
"""
from __future__ import annotations

import json
import sys
import threading
import time
from typing import TextIO

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.metrics.provider.cloudwatch_emf.cloudwatch import AmazonCloudWatchEMFProvider

MAX_VALUES = 99
"""EMF takes at most 100 values of one metric per line (powertools prints a line by itself at 100); later samples of an interval are dropped."""


class Metrics:
    def __init__(self, namespace: str, service: str, interval: float, stream: TextIO | None = None):
        self.namespace, self.service, self.interval = namespace, service, interval
        self.stream = stream or sys.stdout
        self._lock = threading.Lock()
        self._counts: dict[str, int] = {}
        self._timings: dict[str, list[float]] = {}
        self._blocks = 1
        self._since = time.monotonic()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def count(self, name: str, value: int = 1) -> None:
        with self._lock:
            self._counts[name] = self._counts.get(name, 0) + value

    def timing(self, name: str, milliseconds: float) -> None:
        with self._lock:
            values = self._timings.setdefault(name, [])
            if len(values) < MAX_VALUES:
                values.append(round(milliseconds, 3))

    def chain_length(self, blocks: int) -> None:
        with self._lock:
            self._blocks = blocks

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="metrics", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.flush()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.flush()

    def flush(self) -> None:
        with self._lock:
            counts, timings, blocks = self._counts, self._timings, self._blocks
            elapsed = max(time.monotonic() - self._since, 1e-3)
            self._counts, self._timings, self._since = {}, {}, time.monotonic()
        emf = AmazonCloudWatchEMFProvider(namespace=self.namespace, service=self.service)
        emf.add_metric("Blocks", MetricUnit.Count, blocks)
        for name in ("MiningSuccesses", "MiningFailures", "Transactions", "ChainReplacements"):
            emf.add_metric(name, MetricUnit.Count, counts.get(name, 0))
        emf.add_metric("TransactionsPerSecond", MetricUnit.CountPerSecond,
                       round(counts.get("Transactions", 0) / elapsed, 3))
        for name, values in sorted(timings.items()):
            for value in values:
                emf.add_metric(name, MetricUnit.Milliseconds, value)
        line = json.dumps(emf.serialize_metric_set(), separators=(",", ":")) + "\n"
        with self._lock:
            self.stream.write(line)  # one write: the line never interleaves with the access log
            self.stream.flush()
