"""Argument validation shared by every component.

Components validate their ``Args`` when constructed, before any resource is registered. An
``InvalidArgument`` names the argument (which programs map 1:1 to a config key) and the values
that would have been accepted, so a bad config is rejected with an error that says how to fix it.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from service_limits import FARGATE_SIZES, LOG_RETENTION_DAYS


class InvalidArgument(ValueError):
    """An argument (config key) has a value the component cannot deploy."""

    def __init__(self, key: str, value: Any, allowed: str):
        self.key = key
        self.value = value
        self.allowed = allowed
        super().__init__(f"{key}: {value!r} is not allowed; allowed: {allowed}")

    def with_prefix(self, prefix: str) -> "InvalidArgument":
        return InvalidArgument(f"{prefix}{self.key}", self.value, self.allowed)


def one_of(key: str, value: Any, allowed: Iterable[Any]) -> None:
    allowed = list(allowed)
    if value not in allowed:
        raise InvalidArgument(key, value, "one of " + ", ".join(str(a) for a in allowed))


def all_of(key: str, values: Iterable[Any], allowed: Iterable[Any]) -> None:
    allowed = list(allowed)
    for value in values:
        if value not in allowed:
            raise InvalidArgument(key, value, "any of " + ", ".join(str(a) for a in allowed))


def in_range(key: str, value: Any, low: float, high: float) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
        raise InvalidArgument(key, value, f"a number from {low} to {high}")


def whole_number(key: str, value: Any, low: int, high: int, what: str = "") -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InvalidArgument(key, value, f"a whole number from {low} to {high}{' ' + what if what else ''}")


def port(key: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 65535:
        raise InvalidArgument(key, value, "a TCP port from 1 to 65535")


def log_retention(key: str, value: Any) -> None:
    one_of(key, value, LOG_RETENTION_DAYS)


def fargate_size(cpu_key: str, cpu: Any, memory_key: str, memory: Any) -> None:
    one_of(cpu_key, cpu, FARGATE_SIZES)
    allowed = FARGATE_SIZES[cpu]
    if memory not in allowed:
        raise InvalidArgument(
            memory_key, memory, f"for {cpu} cpu units, {allowed[0]}-{allowed[-1]} MiB in steps of "
            f"{allowed[1] - allowed[0]} MiB" if len(allowed) > 3 else ", ".join(map(str, allowed)))
