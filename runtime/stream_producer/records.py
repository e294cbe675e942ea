"""Where the producer's records come from: a JSON Lines file, or generated demo events.

Records are sent as they are, without a delimiter: the stream's transform validates each one and adds the
newline. A line too large for Firehose is rejected here, with its line number, instead of failing its batch.
"""
from __future__ import annotations

import json
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

from runtime.stream_transform import contract

EVENT_TYPES = ("page_view", "click", "purchase", "heartbeat")
PAGES = ("/", "/search", "/product/42", "/cart", "/checkout")
START = datetime(2025, 1, 1, tzinfo=timezone.utc)


@dataclass
class Rejected:
    """Lines that cannot be sent (larger than Firehose takes): line number -> size in bytes."""

    lines: dict[int, int] = field(default_factory=dict)


def count_lines(path: Path) -> int:
    with path.open("rb") as lines:
        return sum(1 for line in lines if line.strip())


def file_records(path: Path, rejected: Rejected,
                 max_bytes: int = contract.FIREHOSE_MAX_RECORD_BYTES) -> Iterator[bytes]:
    """Each non-blank line of ``path`` without its line ending; lines above ``max_bytes`` go to ``rejected``."""
    with path.open("rb") as lines:
        for number, line in enumerate(lines, start=1):
            record = line.rstrip(b"\r\n")
            if not record.strip():
                continue
            if len(record) > max_bytes:
                rejected.lines[number] = len(record)
                continue
            yield record


def generated_records(count: int, seed: int = 0) -> Iterator[bytes]:
    """``count`` demo events that fit ``contract.DEFAULT_COLUMNS``; the same seed gives the same events."""
    rng = random.Random(seed)
    for index in range(count):
        event_type = rng.choice(EVENT_TYPES)
        event = {
            "event_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            "event_type": event_type,
            "occurred_at": (START + timedelta(milliseconds=index * 250)).isoformat().replace("+00:00", "Z"),
            "user_id": rng.randrange(1, 10**9),
            "page": rng.choice(PAGES),
            "duration_ms": rng.randrange(0, 60_000),
            "amount": round(rng.uniform(1, 500), 2) if event_type == "purchase" else None,
            "consent": rng.random() < 0.8,
        }
        yield json.dumps(event, separators=(",", ":")).encode()
