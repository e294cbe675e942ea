"""Real blockchain nodes (``python -m runtime.blockchain``, gunicorn) on 127.0.0.1 and ephemeral ports."""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parents[2]
DIFFICULTY = 2
"""Low, so tests mine in milliseconds; the rules are the same at any difficulty."""


@dataclass
class RunningNode:
    name: str
    process: subprocess.Popen
    url: str = ""
    log: list[str] = field(default_factory=list)
    listening: threading.Event = field(default_factory=threading.Event)

    def get(self, path: str, **kwargs) -> requests.Response:
        return requests.get(f"{self.url}{path}", timeout=kwargs.pop("timeout", 30), **kwargs)

    def post(self, path: str, body, **kwargs) -> requests.Response:
        return requests.post(f"{self.url}{path}", json=body, timeout=kwargs.pop("timeout", 30), **kwargs)

    def chain(self) -> list[dict]:
        return self.get("/chain").json()["chain"]

    def health(self) -> tuple[int, dict]:
        response = self.get("/healthz", timeout=5)
        return response.status_code, response.json()

    def metrics(self) -> list[dict]:
        """The EMF lines the node printed so far."""
        return [json.loads(line) for line in list(self.log) if line.startswith('{"_aws"')]

    def stop(self) -> None:
        stop_all([self])


def stop_all(nodes: Iterable[RunningNode]) -> None:
    """SIGTERM to every node at once (a graceful stop writes the last checkpoint), then wait for each."""
    running = [n for n in nodes if n.process.poll() is None]
    for node in running:
        node.process.send_signal(signal.SIGTERM)
    for node in running:  # each lingers 2 s for its peers' kept-alive connections (gunicorn's graceful stop)
        try:
            node.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            node.process.kill()
            node.process.wait()


def start(name: str, peers: Iterable[str] = (), env: dict[str, str] | None = None) -> RunningNode:
    """Starts a node; returns once it listens (it may still be syncing: see ``wait_healthy``)."""
    environment = {**os.environ, "BLOCKCHAIN_DIFFICULTY": str(DIFFICULTY), "BLOCKCHAIN_SERVICE": name,
                   "BLOCKCHAIN_METRICS_INTERVAL_SECONDS": "0.5", "BLOCKCHAIN_CHECKPOINT_INTERVAL_SECONDS": "0.2",
                   **(env or {})}
    command = [sys.executable, "-m", "runtime.blockchain", "--host", "127.0.0.1", "--port", "0"]
    if peers:
        command += ["--peers", ",".join(peers)]
    process = subprocess.Popen(command, cwd=REPO, env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True)
    node = RunningNode(name, process)

    def read_log():
        for line in process.stdout:
            node.log.append(line)
            found = re.search(r"Listening at: (http://127\.0\.0\.1:\d+)", line)
            if found:
                node.url = found.group(1)
                node.listening.set()

    threading.Thread(target=read_log, daemon=True).start()
    return node


def wait_listening(*nodes: RunningNode) -> None:
    for node in nodes:
        assert node.listening.wait(60), f"{node.name} did not start:\n" + "".join(node.log)


def wait_healthy(node: RunningNode, timeout: float = 60) -> dict:
    """The body of the node's first 200 from /healthz (polled as a load balancer would, but faster)."""
    return wait_for(lambda: _healthy(node), timeout, f"{node.name} never became healthy")


def _healthy(node: RunningNode) -> dict | None:
    try:
        status, body = node.health()
    except requests.RequestException:
        return None
    return body if status == 200 else None


def wait_for(check: Callable[[], object], timeout: float = 30, message: str = "condition not met"):
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, message
        time.sleep(0.05)
