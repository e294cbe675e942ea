"""Checks a log line against CloudWatch's embedded metric format specification (the JSON schema of its document
structure, and the rules the schema cannot say: every referenced dimension and metric is a member of the root,
dimension values are strings, metric values numbers or arrays of at most 100 numbers)."""

from __future__ import annotations

import json

import jsonschema

UNITS = ["Seconds", "Microseconds", "Milliseconds", "Bytes", "Kilobytes", "Megabytes", "Gigabytes", "Terabytes",
         "Bits", "Kilobits", "Megabits", "Gigabits", "Terabits", "Percent", "Count", "Bytes/Second",
         "Kilobytes/Second", "Megabytes/Second", "Gigabytes/Second", "Terabytes/Second", "Bits/Second",
         "Kilobits/Second", "Megabits/Second", "Gigabits/Second", "Terabits/Second", "Count/Second", "None"]

SCHEMA = {
    "type": "object",
    "required": ["_aws"],
    "properties": {"_aws": {
        "type": "object",
        "required": ["Timestamp", "CloudWatchMetrics"],
        "properties": {
            "Timestamp": {"type": "integer", "minimum": 0},
            "CloudWatchMetrics": {"type": "array", "minItems": 1, "items": {
                "type": "object",
                "required": ["Namespace", "Dimensions", "Metrics"],
                "additionalProperties": False,
                "properties": {
                    "Namespace": {"type": "string", "minLength": 1, "maxLength": 1024, "pattern": r"^[^:].*$"},
                    "Dimensions": {"type": "array", "items": {"type": "array", "maxItems": 30, "items": {
                        "type": "string", "minLength": 1, "maxLength": 250}}},
                    "Metrics": {"type": "array", "maxItems": 100, "items": {
                        "type": "object", "required": ["Name"], "additionalProperties": False,
                        "properties": {"Name": {"type": "string", "minLength": 1, "maxLength": 1024},
                                       "Unit": {"enum": UNITS}, "StorageResolution": {"enum": [1, 60]}}}},
                }}},
        }}},
}


def parse(line: str) -> dict:
    """The EMF document of one log line; AssertionError (with the reason) when it is not valid EMF."""
    document = json.loads(line)
    try:
        jsonschema.validate(document, SCHEMA)
    except jsonschema.ValidationError as error:
        raise AssertionError(f"not EMF: {error.message}") from None
    for directive in document["_aws"]["CloudWatchMetrics"]:
        for dimension in {d for dimension_set in directive["Dimensions"] for d in dimension_set}:
            value = document.get(dimension)
            assert isinstance(value, str) and 0 < len(value) <= 1024, f"dimension {dimension}: {value!r}"
        for metric in directive["Metrics"]:
            value = document.get(metric["Name"])
            values = value if isinstance(value, list) else [value]
            assert 0 < len(values) <= 100, f"metric {metric['Name']}: {len(values)} values"
            assert all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values), \
                f"metric {metric['Name']}: {value!r}"
    return document
