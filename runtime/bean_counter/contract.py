"""What the Bean Counter's runtime and its program (``programs/bean_counter.py``) share, written once.

Standard library only: the program imports it without the runtime's requirements.
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

DOCKERFILE = "runtime/bean_counter/Dockerfile"
PORT = 8080
"""What the server listens on unless told otherwise (``--port``); the task passes the network's app_port."""
HEALTH_PATH = "/healthz"

ENV_BUCKET = "BUCKET"
"""The bucket ``GET /countme/<key>`` reads from."""
ENV_MAX_BYTES = "BEAN_COUNTER_MAX_BYTES"
ENV_MAX_PIXELS = "BEAN_COUNTER_MAX_PIXELS"
ENV_DECODE_BUDGET_MB = "BEAN_COUNTER_DECODE_BUDGET_MB"
ENV_WORKERS = "WEB_CONCURRENCY"

DEFAULT_MAX_BYTES = 20 * 1024 * 1024
"""A phone JPEG is 2-8 MB; a 12 MP PNG can reach about 20 MB."""
DEFAULT_MAX_PIXELS = 50_000_000
"""A 48 MP phone photo fits."""
DEFAULT_DECODE_BUDGET_MB = 256
"""Memory one decode may take at its peak: twice the decoded samples (width x height x channels x bytes per
sample, from the header, at the reduced scale a JPEG is decoded at) plus their 8-bit BGR copy. Larger images
are refused (413) before a pixel is decoded."""
WORKER_BASE_MB = 200
"""A worker process with its libraries loaded and a count's working set besides the decode: 140 MB measured
after a 12 MP phone photo, with room to spare (docs/bean-counter.md)."""
MAX_WORKERS = 8
DECODE_SLOTS = 1
"""Decodes (and counts) at once per worker: each holds up to the decode budget, and a core gains nothing
from two."""
DECODE_WAITING = 3
"""Requests that may wait for the slot; one more answers 503 at once (Retry-After: 1)."""
THREADS_PER_WORKER = DECODE_SLOTS + DECODE_WAITING + 2
"""Two threads always free for health checks and the page, however many photos arrive."""


def memory_needed_mb(workers: int, decode_budget_mb: int = DEFAULT_DECODE_BUDGET_MB) -> int:
    """Task memory that ``workers`` processes need at their worst, each in the middle of a decode."""
    return workers * (WORKER_BASE_MB + decode_budget_mb)


def command(port: int, workers: int) -> list[str]:
    """The container's arguments (after its ENTRYPOINT ``python -m runtime.bean_counter``)."""
    return ["--host", "0.0.0.0", "--port", str(port), "--workers", str(workers)]


def health_check(port: int) -> list[str]:
    """The container's own health check (the slim image has no curl)."""
    return ["CMD", "python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen("
            f"'http://127.0.0.1:{port}{HEALTH_PATH}', timeout=4).status != 200)"]


@dataclass(frozen=True)
class Settings:
    bucket: str | None = None
    max_bytes: int = DEFAULT_MAX_BYTES
    max_pixels: int = DEFAULT_MAX_PIXELS
    decode_budget_mb: int = DEFAULT_DECODE_BUDGET_MB

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> Settings:
        return cls(bucket=env.get(ENV_BUCKET) or None,
                   max_bytes=_positive_int(env, ENV_MAX_BYTES, DEFAULT_MAX_BYTES),
                   max_pixels=_positive_int(env, ENV_MAX_PIXELS, DEFAULT_MAX_PIXELS),
                   decode_budget_mb=_positive_int(env, ENV_DECODE_BUDGET_MB, DEFAULT_DECODE_BUDGET_MB))


def _positive_int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    if not raw.isdigit() or int(raw) <= 0:
        raise ValueError(f"{name} must be a positive integer, got {raw!r}")
    return int(raw)
