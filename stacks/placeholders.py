"""Placeholder values the shipped stack files carry, found so the offline plan can warn before a real deployment.

The stack files plan offline as they are, but some of their values stand for what only the user knows: the
example account ``123456789012`` in certificate ARNs, ``example.com`` names and e-mail addresses, the example
GCP projects, the all-zero Alexa skill id, the example hosted zone. ``find`` lists each one still present, by
file and config key, in the files' order (the same list on every run).
"""
from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from planning.project import Environment, StackSpec

PLACEHOLDERS: tuple[tuple[str, re.Pattern], ...] = (
    ("the example AWS account", re.compile(r"(?<!\d)123456789012(?!\d)")),
    ("the example domain", re.compile(r"(?:^|[@./])example\.com$", re.I)),
    ("an example GCP project", re.compile(r"^cloud-patterns-(?:dev|prod)$")),
    ("the example Alexa skill id", re.compile(r"^amzn1\.ask\.skill\.0{8}-0{4}-0{4}-0{4}-0{12}$")),
    ("the example hosted zone", re.compile(r"^Z0123456789EXAMPLE$")),
)
"""(what it stands for, the pattern a value matches); ``https://race-data.example.com`` and
``ops@example.com`` count, ``example.community`` does not."""


@dataclass(frozen=True)
class Placeholder:
    stack: str
    file: str
    key: str
    """The config key as ``pulumi config`` spells it, with the path inside an object: ``cloud-patterns:alerts.
    emails[0]``."""
    value: str
    what: str

    def to_json(self) -> dict:
        return {"stack": self.stack, "file": self.file, "key": self.key, "value": self.value, "what": self.what}

    def __str__(self) -> str:
        return f"{self.file}: {self.key} = {self.value} ({self.what})"


def matches(value: Any) -> str | None:
    """What ``value`` stands for when it is a placeholder; None for a real value."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    for url in re.findall(r"^[a-z]+://([^/:?#]+)", text):
        text = url  # a URL's host
    return next((what for what, pattern in PLACEHOLDERS if pattern.search(text)), None)


def _walk(key: str, value: Any) -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict) and set(value) != {"secure"}:
        for name, item in value.items():
            yield from _walk(f"{key}.{name}", item)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _walk(f"{key}[{index}]", item)
    else:
        yield key, value


def in_stack(spec: StackSpec) -> list[Placeholder]:
    found = []
    for key, value in spec.config.items():
        for path, item in _walk(key, value):
            what = matches(item)
            if what:
                found.append(Placeholder(spec.name, spec.path.name, path, str(item), what))
    return found


def find(environment: Environment, names: list[str] | None = None) -> list[Placeholder]:
    """Every placeholder value in the stack files of ``names`` (all stacks when None), in dependency order."""
    return [p for name in (names or list(environment.stacks)) for p in in_stack(environment.stacks[name])]


def warning(count: int) -> str:
    return (f"{count} placeholder value{'' if count == 1 else 's'} in the stack files: replace "
            f"{'it' if count == 1 else 'them'} with your own before deploying (`python -m stacks init <env>` writes "
            "a new environment's files; see docs/deploying.md)")
