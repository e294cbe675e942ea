"""Checks of single values, for code that validates outside a declared ``Args`` field (see ``components.args``).

Each function is a rule of ``components.args`` applied at once; an ``InvalidArgument`` names the argument
(which programs map 1:1 to a config key) and the values that would have been accepted.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from components.args import InvalidArgument, Number, OneOf, Port, Retention, Whole
from service_limits import FARGATE_SIZES

__all__ = ["InvalidArgument", "one_of", "all_of", "in_range", "whole_number", "port", "log_retention",
           "fargate_size"]


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
    Number(low, high).check(key, value)


def whole_number(key: str, value: Any, low: int, high: int, what: str = "") -> None:
    Whole(low, high, what).check(key, value)


def port(key: str, value: Any) -> None:
    Port().check(key, value)


def log_retention(key: str, value: Any) -> None:
    Retention().check(key, value)


def fargate_size(cpu_key: str, cpu: Any, memory_key: str, memory: Any) -> None:
    OneOf(*FARGATE_SIZES).check(cpu_key, cpu)
    allowed = FARGATE_SIZES[cpu]
    if memory not in allowed:
        raise InvalidArgument(
            memory_key, memory, f"for {cpu} cpu units, {allowed[0]}-{allowed[-1]} MiB in steps of "
            f"{allowed[1] - allowed[0]} MiB" if len(allowed) > 3 else ", ".join(map(str, allowed)))
