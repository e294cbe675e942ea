"""Work done in rounds by one background thread for any number of requests (mining, consensus).

A request made while no round runs is served by the next round; one made while a round runs is served by
the round after it, so what the requester saw (its transactions, its peers) is always part of the work that
answers it. Any number of requests made meanwhile share that one round: a burst of 1,000 ``/chain/mine``
calls mines a block or two, not 1,000, and never queues unboundedly.
"""
from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

log = logging.getLogger("blockchain.rounds")
KEEP_RESULTS = 256


class Rounds:
    def __init__(self, name: str, work: Callable[[], dict]):
        self.name, self._work = name, work
        self._condition = threading.Condition()
        self._requested = self._done = 0
        self._running = self._stopping = False
        self._results: OrderedDict[int, dict] = OrderedDict()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        with self._condition:
            self._stopping = True
            self._condition.notify_all()
        self._thread.join(timeout=5)

    def request(self) -> int:
        """The round that will serve this request."""
        with self._condition:
            target = self._done + (2 if self._running else 1)
            self._requested = max(self._requested, target)
            self._condition.notify_all()
            return target

    def wait(self, round_number: int, timeout: float) -> dict | None:
        """The round's result, or None if it has not finished within ``timeout`` seconds."""
        with self._condition:
            self._condition.wait_for(lambda: self._done >= round_number or self._stopping, timeout)
            return self._results.get(round_number) if self._done >= round_number else None

    def status(self, round_number: int) -> dict | None:
        """``{"status": "queued"|"running"}``, the result of a finished round, or None for an unknown round."""
        with self._condition:
            if round_number <= self._done:
                return self._results.get(round_number, {"status": "forgotten"})
            if round_number == self._done + 1 and self._running:
                return {"status": "running"}
            return {"status": "queued"} if round_number <= self._requested else None

    def _run(self) -> None:
        while True:
            with self._condition:
                self._condition.wait_for(lambda: self._requested > self._done or self._stopping)
                if self._stopping:
                    return
                self._running = True
            try:
                result: dict[str, Any] = self._work()
            except Exception:  # a bug must not stop the thread: the next request gets a new round
                log.exception("%s round failed", self.name)
                result = {"status": "failed", "reason": "internal error"}
            with self._condition:
                self._done += 1
                self._running = False
                self._results[self._done] = result
                while len(self._results) > KEEP_RESULTS:
                    self._results.popitem(last=False)
                self._condition.notify_all()
