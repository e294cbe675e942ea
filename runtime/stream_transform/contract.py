"""What the stream transform and the event-stream program share: environment names, limits, the record schema.

Standard library only. The schema is a flat mapping of column name to type, in the Glue/Hive type names, so the
one declaration both validates each record in the transform and, with Parquet conversion, becomes the columns of
the Glue table Firehose converts against. ``settings_problem`` is the check both sides run: the program refuses
bad config with it before anything is registered, and the transform refuses to start on a bad environment.
"""
from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

SOURCE_DIR = "runtime/stream_transform"
HANDLER = "handler.handler"

ENV_COLUMNS = "RECORD_COLUMNS"
"""JSON object: column name -> type."""
ENV_REQUIRED = "REQUIRED_FIELDS"
"""Comma-separated column names that every record must carry, not null."""
ENV_ALLOW_UNKNOWN = "ALLOW_UNKNOWN_FIELDS"
"""true: fields outside the columns pass (Parquet conversion ignores them); false: such a record fails."""
ENV_DROP_WHEN = "DROP_WHEN"
"""JSON object: column name -> list of values; a valid record whose field holds one of them is dropped."""
ENV_MAX_RECORD_BYTES = "MAX_RECORD_BYTES"

COLUMN_TYPES = ("string", "int", "bigint", "double", "boolean", "timestamp", "date")
"""Glue/Hive type names the transform can check a JSON value against."""
COLUMN_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,127}$")
"""Lower case: Glue stores column names in lower case, and the OpenX JSON SerDe matches keys to them."""

FIREHOSE_MAX_RECORD_BYTES = 1_024_000
"""Firehose refuses records above 1,000 KiB (before base64)."""
LAMBDA_RESPONSE_MAX_BYTES = 6 * 1024 * 1024
"""A synchronous Lambda invocation answers at most 6 MB."""
LAMBDA_ENVIRONMENT_MAX_BYTES = 4096
"""All of a function's environment variables together."""

# The demo schema (clickstream-style events) that ``python -m runtime.stream_producer --generate`` makes.
DEFAULT_COLUMNS: dict[str, str] = {
    "event_id": "string", "event_type": "string", "occurred_at": "timestamp", "user_id": "bigint",
    "page": "string", "duration_ms": "int", "amount": "double", "consent": "boolean",
}
DEFAULT_REQUIRED: tuple[str, ...] = ("event_id", "event_type", "occurred_at")
DEFAULT_DROP_WHEN: dict[str, list[Any]] = {}


def _scalar(value: Any) -> bool:
    return isinstance(value, (str, int, float)) or value is None


def settings_problem(columns: Mapping[str, str], required: Sequence[str], drop_when: Mapping[str, Sequence[Any]],
                     max_record_bytes: int) -> tuple[str, Any, str] | None:
    """``(key, value, allowed)`` for the first setting that is wrong, or None when all are right."""
    if not isinstance(columns, Mapping) or not columns:
        return "columns", columns, "a mapping of at least one column name to its type"
    for name, kind in columns.items():
        if not isinstance(name, str) or not COLUMN_NAME.match(name):
            return "columns", name, "column names of lower-case letters, digits and _ (at most 128)"
        if kind not in COLUMN_TYPES:
            return f"columns.{name}", kind, "one of " + ", ".join(COLUMN_TYPES)
    for name in required:
        if name not in columns:
            return "required", name, "names of columns (" + ", ".join(columns) + ")"
    for name, values in drop_when.items():
        if name not in columns:
            return "drop_when", name, "names of columns (" + ", ".join(columns) + ")"
        if isinstance(values, (str, bytes)) or not isinstance(values, Sequence) or not values \
                or not all(_scalar(v) for v in values):
            return f"drop_when.{name}", values, "a non-empty list of values (texts, numbers, true/false, null)"
    if isinstance(max_record_bytes, bool) or not isinstance(max_record_bytes, int) \
            or not 1 <= max_record_bytes <= FIREHOSE_MAX_RECORD_BYTES:
        return "max_record_bytes", max_record_bytes, f"a whole number from 1 to {FIREHOSE_MAX_RECORD_BYTES}"
    return None


@dataclass(frozen=True)
class Settings:
    columns: Mapping[str, str]
    required: tuple[str, ...]
    allow_unknown_fields: bool
    drop_when: Mapping[str, tuple[Any, ...]]
    max_record_bytes: int

    def environment(self) -> dict[str, str]:
        """The function's environment variables (what ``from_env`` reads back)."""
        return {ENV_COLUMNS: json.dumps(dict(self.columns), separators=(",", ":")),
                ENV_REQUIRED: ",".join(self.required),
                ENV_ALLOW_UNKNOWN: "true" if self.allow_unknown_fields else "false",
                ENV_DROP_WHEN: json.dumps({k: list(v) for k, v in self.drop_when.items()}, separators=(",", ":")),
                ENV_MAX_RECORD_BYTES: str(self.max_record_bytes)}

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> "Settings":
        """Raises ``ValueError`` naming the variable when the environment is not a usable configuration."""
        try:
            columns = json.loads(environ.get(ENV_COLUMNS) or json.dumps(DEFAULT_COLUMNS))
            drop_when = json.loads(environ.get(ENV_DROP_WHEN) or "{}")
        except json.JSONDecodeError as error:
            raise ValueError(f"{ENV_COLUMNS} and {ENV_DROP_WHEN} must be JSON objects: {error}") from None
        required_text = environ.get(ENV_REQUIRED)
        required = tuple(n for n in required_text.split(",") if n) if required_text is not None else DEFAULT_REQUIRED
        allow = environ.get(ENV_ALLOW_UNKNOWN, "true").lower()
        if allow not in ("true", "false"):
            raise ValueError(f"{ENV_ALLOW_UNKNOWN} must be true or false, not {allow!r}")
        try:
            max_bytes = int(environ.get(ENV_MAX_RECORD_BYTES) or FIREHOSE_MAX_RECORD_BYTES)
        except ValueError:
            raise ValueError(f"{ENV_MAX_RECORD_BYTES} must be a whole number") from None
        if not isinstance(drop_when, dict):
            raise ValueError(f"{ENV_DROP_WHEN} must be a JSON object")
        problem = settings_problem(columns, required, drop_when, max_bytes)
        if problem:
            key, value, allowed = problem
            raise ValueError(f"{key}: {value!r} is not allowed; allowed: {allowed}")
        return cls(dict(columns), required, allow == "true", {k: tuple(v) for k, v in drop_when.items()}, max_bytes)
