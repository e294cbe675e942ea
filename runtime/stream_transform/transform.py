"""The record transform Firehose runs on each buffered batch: validate, delimit, drop, account for every record.

For each input record the answer holds exactly one entry with its ``recordId``, in the input's order:

- ``Ok``: the record decoded to a JSON object that fits the schema; its data is re-serialised on one line
  (compact, key order kept) with the newline delimiter Firehose itself never adds.
- ``Dropped``: valid, but a ``drop_when`` rule matches (e.g. heartbeats); Firehose discards it on purpose.
- ``ProcessingFailed``: not base64, larger than ``max_record_bytes``, not UTF-8 JSON, not an object, not
  fitting the schema, or its transformed data would push the answer past Lambda's 6 MB. Firehose writes the
  original record to the error prefix (``processing-failed/``), so nothing is lost and it can be replayed.

Failed and dropped entries carry empty data: Firehose keeps the original itself. Space for every record's entry
is reserved before any data is added, so the answer always fits, however the batch is made up.
"""
from __future__ import annotations

import base64
import binascii
import json
import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

if __package__:
    from . import contract
else:  # in the Lambda package this directory's files are at the root
    import contract

OK, DROPPED, FAILED = "Ok", "Dropped", "ProcessingFailed"
INT_RANGES = {"int": (-2**31, 2**31 - 1), "bigint": (-2**63, 2**63 - 1)}
ENVELOPE = len(json.dumps({"records": []})) - 2  # entry_size counts a ", " that the first entry has not
# The text forms Firehose's OpenX JSON SerDe reads as timestamps (UTC): 2025-01-31T12:00:00[.fraction][Z].
TIMESTAMP = re.compile(r"(\d{4}-\d{2}-\d{2})[T ](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?Z?")


class RecordError(ValueError):
    """Why one record failed; the reason is logged (never the record's data)."""


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")  # json.loads would accept NaN and Infinity, which no reader does


# One answer entry is {"recordId": <id as JSON>, "result": "<result>", "data": "<base64>"} followed by ", " in the
# list: result and base64 need no escaping, so its size is this much plus the lengths of the three values.
ENTRY = len(json.dumps({"recordId": "", "result": "", "data": ""})) - len('""') + len(", ")
DECODER = json.JSONDecoder(parse_constant=_no_constant)
LINE = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


def entry_size(record_id: str, result: str, data: str) -> int:
    """Bytes of one answer entry as ``json.dumps`` writes it, with its separator in the list."""
    return ENTRY + len(json.dumps(record_id)) + len(result) + len(data)


@dataclass
class Outcome:
    records: list[dict[str, str]] = field(default_factory=list)
    counts: Counter = field(default_factory=Counter)
    reasons: Counter = field(default_factory=Counter)

    def response(self) -> dict[str, list[dict[str, str]]]:
        return {"records": self.records}


def transform(records: Iterable[Mapping[str, Any]], settings: contract.Settings,
              limit: int = contract.LAMBDA_RESPONSE_MAX_BYTES) -> Outcome:
    records = list(records)
    outcome = Outcome()
    # Every entry fits with empty data (its worst case); what is left may carry transformed data.
    ids = [str(r.get("recordId", "")) for r in records]
    budget = limit - ENVELOPE - sum(entry_size(record_id, FAILED, "") for record_id in ids)
    drop = {name: {_match_key(v) for v in values} for name, values in settings.drop_when.items()}
    for record, record_id in zip(records, ids):
        try:
            document = _decode(record.get("data"), settings.max_record_bytes)
            _check(document, settings)
            if any(_match_key(document.get(name)) in keys for name, keys in drop.items() if name in document):
                result, data = DROPPED, ""
            else:
                result, data = OK, base64.b64encode((LINE(document) + "\n").encode()).decode()
                extra = len(data) + len(OK) - len(FAILED)  # over the entry reserved for it
                if extra > budget:
                    raise RecordError("answer would exceed the Lambda response limit")
                budget -= extra
        except RecordError as error:
            result, data = FAILED, ""
            outcome.reasons[str(error).split(":")[0]] += 1
        outcome.records.append({"recordId": record_id, "result": result, "data": data})
        outcome.counts[result] += 1
    return outcome


def _decode(data: Any, max_bytes: int) -> dict:
    if not isinstance(data, str):
        raise RecordError("no data")
    try:
        raw = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise RecordError("not base64") from None
    if len(raw) > max_bytes:
        raise RecordError("oversize")
    try:
        document = DECODER.decode(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise RecordError("not UTF-8 JSON") from None
    if not isinstance(document, dict):
        raise RecordError("not a JSON object")
    return document


def _check(document: dict, settings: contract.Settings) -> None:
    for name in settings.required:
        if document.get(name) is None:
            raise RecordError(f"missing required field: {name}")
    for name, value in document.items():
        kind = settings.columns.get(name)
        if kind is None:
            if not settings.allow_unknown_fields:
                raise RecordError(f"unknown field: {name}")
        elif value is not None and not _fits(kind, value):
            raise RecordError(f"wrong type: {name} is not {kind}")


def _fits(kind: str, value: Any) -> bool:
    if kind == "string":
        return isinstance(value, str)
    if kind == "boolean":
        return isinstance(value, bool)
    if isinstance(value, bool):
        return False
    if kind in INT_RANGES:
        low, high = INT_RANGES[kind]
        return isinstance(value, int) and low <= value <= high
    if kind == "double":
        return isinstance(value, (int, float)) and math.isfinite(value)
    if kind == "timestamp":  # epoch milliseconds, or text as TIMESTAMP
        return isinstance(value, int) or (isinstance(value, str) and _timestamp(value))
    if kind == "date":
        return isinstance(value, str) and len(value) == 10 and _parses(date.fromisoformat, value)
    return False


def _timestamp(text: str) -> bool:
    match = TIMESTAMP.fullmatch(text)
    if match is None:
        return False
    day, hour, minute, second = match.group(1), *map(int, match.group(2, 3, 4))
    return _parses(date.fromisoformat, day) and hour < 24 and minute < 60 and second < 60


def _parses(parse, text: str) -> bool:
    try:
        parse(text)
        return True
    except ValueError:
        return False


def _match_key(value: Any) -> tuple[str, Any]:
    """Values compared by kind: true never matches 1, 1 matches 1.0."""
    if isinstance(value, bool) or value is None:
        return "literal", value
    if isinstance(value, (int, float)):
        return "number", float(value)
    return "text", value if isinstance(value, str) else json.dumps(value, sort_keys=True)
