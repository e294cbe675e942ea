"""The seed's ``awsjwtauth`` metrics as CloudWatch embedded metric format (EMF) lines on stdout.

The seed sent statsd counters and timers prefixed ``awsjwtauth`` (``info.auth_user``, ``error.*``,
``get_pub_key``, ``cache.keys.hits``/``misses``); here the same names live in the CloudWatch namespace
``awsjwtauth``, and CloudWatch Logs turns the lines into metrics (awslogs ships stdout; no agent, no API call).

A request only increments a counter under a lock. A daemon thread flushes once per interval: one document
with the service-level metrics (dimension ``service``) and one per refusal reason (``service``, ``reason``),
so nothing is formatted or written on the request path and the number of metrics stays bounded.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable

from runtime.auth_sidecar import contract

NAMESPACE = contract.METRICS_NAMESPACE
SUCCESSES = contract.METRIC_ALLOWED
ERRORS = contract.METRIC_REFUSED  # dimensioned by reason
RESTARTS = contract.METRIC_RESTARTS
KEY_FETCH_MS = contract.METRIC_KEY_FETCH_MS
KEY_CACHE_HITS = contract.METRIC_KEY_CACHE_HITS
KEY_CACHE_MISSES = contract.METRIC_KEY_CACHE_MISSES
COUNTS = (SUCCESSES, RESTARTS, KEY_CACHE_HITS, KEY_CACHE_MISSES)
MAX_VALUES = 100  # EMF: at most 100 values of one metric in a document


def _stdout(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


class Metrics:
    """Counts since the last flush. ``write`` takes one JSON line; ``clock`` gives seconds since the epoch."""

    def __init__(self, service: str, write: Callable[[str], None] = _stdout, clock: Callable[[], float] = time.time):
        self.service = service
        self._write = write
        self._clock = clock
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter({RESTARTS: 1})  # a new process is a (re)start
        self._errors: Counter[str] = Counter()
        self._fetch_ms: list[float] = []
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None

    def success(self) -> None:
        with self._lock:
            self._counts[SUCCESSES] += 1

    def error(self, reason: str) -> None:
        with self._lock:
            self._errors[reason] += 1

    def key_cache(self, hit: bool) -> None:
        with self._lock:
            self._counts[KEY_CACHE_HITS if hit else KEY_CACHE_MISSES] += 1

    def key_fetch(self, milliseconds: float) -> None:
        with self._lock:
            if len(self._fetch_ms) < MAX_VALUES:
                self._fetch_ms.append(round(milliseconds, 3))

    def flush(self) -> list[dict]:
        """Writes what was counted since the last flush (and resets it); returns the documents written."""
        with self._lock:
            counts, errors, fetch_ms = self._counts, self._errors, self._fetch_ms
            self._counts, self._errors, self._fetch_ms = Counter(), Counter(), []
        timings = {KEY_FETCH_MS: fetch_ms} if fetch_ms else {}
        documents = [self._document({name: counts[name] for name in COUNTS}, timings)]
        documents += [self._document({ERRORS: n}, {}, **{contract.REASON_DIMENSION: reason})
                      for reason, n in sorted(errors.items())]
        for document in documents:
            self._write(json.dumps(document, separators=(",", ":")))
        return documents

    def _document(self, counts: dict[str, int], timings: dict[str, list[float]], **dimensions: str) -> dict:
        keys = [contract.SERVICE_DIMENSION, *dimensions]
        metrics = [{"Name": n, "Unit": "Count"} for n in counts]
        metrics += [{"Name": n, "Unit": "Milliseconds"} for n in timings]
        return {"_aws": {"Timestamp": int(self._clock() * 1000),
                         "CloudWatchMetrics": [{"Namespace": NAMESPACE, "Dimensions": [keys], "Metrics": metrics}]},
                contract.SERVICE_DIMENSION: self.service, **dimensions, **counts, **timings}

    def start(self, interval_seconds: float) -> None:
        """Flushes every ``interval_seconds`` in a daemon thread until ``stop``."""

        def run() -> None:
            while not self._stopped.wait(interval_seconds):
                self.flush()

        self._thread = threading.Thread(target=run, name="metrics", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stops the flushing thread and writes what is left (at shutdown)."""
        self._stopped.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.flush()
