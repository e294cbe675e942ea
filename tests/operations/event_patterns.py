"""EventBridge's event-pattern matching for the operators this project's patterns use, arrays included.

Moto's EventBridge flattens nested objects but not arrays of objects, so a pattern on ``detail.containers`` (an
array in every ECS task event) never matches there. EventBridge matches as its engine, event-ruler, does:

- a field's conditions are a list; the field matches when any condition matches any of its values, where a
  value that is an array of scalars offers each element (``exists`` asks whether the field is there at all);
- a sub-pattern over an array of objects matches when one element matches all of its fields (fields of one
  element are never combined with another's);
- a missing object is an empty one: only ``exists: false`` conditions match inside it;
- ``$or`` holds when one of its sub-patterns does; every other field of the pattern must match too;
- numbers compare as numbers, never equal to strings or booleans.

Operators: exact values, ``prefix``, ``suffix``, ``equals-ignore-case``, ``anything-but`` (a value, a list, or
``prefix``/``suffix``), ``numeric``, ``exists``. Any other raises, so a new pattern is never judged by guesswork.
``tests/operations/test_event_patterns.py`` checks this module against moto on every case moto can decide.
"""
from __future__ import annotations

import operator
from collections.abc import Mapping
from typing import Any

MISSING = object()
COMPARE = {"<": operator.lt, "<=": operator.le, "=": operator.eq, ">=": operator.ge, ">": operator.gt}


def matches(pattern: Mapping[str, Any], event: Mapping[str, Any]) -> bool:
    return _fields(pattern, event)


def _fields(pattern: Mapping[str, Any], node: Any) -> bool:
    if isinstance(node, list):
        return any(_fields(pattern, item) for item in node if isinstance(item, Mapping))
    if not isinstance(node, Mapping):
        return False
    for key, expected in pattern.items():
        if key == "$or":
            if not any(_fields(alternative, node) for alternative in expected):
                return False
        elif isinstance(expected, Mapping):
            if not _fields(expected, node.get(key, {})):
                return False
        elif not _leaf(expected, node.get(key, MISSING)):
            return False
    return True


def _leaf(conditions: list, value: Any) -> bool:
    if value is MISSING or isinstance(value, Mapping):
        values: list = []
    elif isinstance(value, list):
        values = [v for v in _flatten(value) if not isinstance(v, Mapping)]
    else:
        values = [value]
    return any(_condition(condition, values, present=value is not MISSING) for condition in conditions)


def _flatten(items: list) -> list:
    return [v for item in items for v in (_flatten(item) if isinstance(item, list) else [item])]


def _condition(condition: Any, values: list, present: bool) -> bool:
    if not isinstance(condition, Mapping):
        return any(_equal(condition, v) for v in values)
    [(name, argument)] = condition.items()
    if name == "exists":
        return present == argument
    if name == "anything-but":
        return any(_anything_but(argument, v) for v in values)
    return any(_operator(name, argument, v) for v in values)


def _equal(expected: Any, value: Any) -> bool:
    if _number(expected) or _number(value):
        return _number(expected) and _number(value) and expected == value
    return type(expected) is type(value) and expected == value


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _anything_but(argument: Any, value: Any) -> bool:
    if isinstance(argument, Mapping):
        [(name, inner)] = argument.items()
        if name not in ("prefix", "suffix", "equals-ignore-case"):
            raise NotImplementedError(f"anything-but {name}: not an operator this project's patterns use")
        return isinstance(value, str) and not _operator(name, inner, value)
    excluded = argument if isinstance(argument, list) else [argument]
    return not any(_equal(e, value) for e in excluded)


def _operator(name: str, argument: Any, value: Any) -> bool:
    if name in ("prefix", "suffix"):
        if isinstance(argument, Mapping):  # {"prefix": {"equals-ignore-case": "x"}}
            argument, value = argument["equals-ignore-case"].lower(), value.lower() if isinstance(value, str) else value
        return isinstance(value, str) and (value.startswith if name == "prefix" else value.endswith)(argument)
    if name == "equals-ignore-case":
        return isinstance(value, str) and value.lower() == str(argument).lower()
    if name == "numeric":
        pairs = list(zip(argument[::2], argument[1::2]))
        return _number(value) and all(COMPARE[op](value, bound) for op, bound in pairs)
    raise NotImplementedError(f"{name}: not an operator this project's patterns use")
