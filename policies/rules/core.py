"""The model every rule module builds on: resources, findings, rules and their registry, a stack's relations,
and the small helpers over engine-shaped values (JSON strings, unknowns, tags, policy documents)."""
from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

MANDATORY = "mandatory"
ADVISORY = "advisory"
SECRET = "[secret]"
"""How the offline plan shows a secret value."""


class _Unknown:
    def __repr__(self) -> str:
        return "<unknown during preview>"


UNKNOWN: Any = _Unknown()
"""A value the engine does not know yet (an output of a resource still to be created)."""


def known(value: Any) -> bool:
    return value is not UNKNOWN


# ---------------------------------------------------------------------------------------------------
# The model: resources, findings, rules.
@dataclass(frozen=True, eq=False)
class Resource:
    type: str
    name: str
    props: Mapping[str, Any]
    urn: str = ""
    parent: str | None = None
    dependencies: Mapping[str, Sequence[str]] = field(default_factory=dict)
    """Property -> URNs of the resources its value was computed from (the engine's property dependencies;
    empty offline, where every value is known)."""

    @property
    def label(self) -> str:
        return f"{self.type} {self.name}"


@dataclass(frozen=True)
class Finding:
    resource: Resource
    message: str


ResourceCheck = Callable[[str, Mapping[str, Any]], Iterable[str]]
StackCheck = Callable[["Stack"], Iterable[Finding]]


@dataclass(frozen=True)
class Rule:
    name: str
    description: str
    enforcement: str
    types: tuple[str, ...] = ()
    """Type tokens a resource rule applies to; a token ending in "/" stands for a whole module."""
    check_resource: ResourceCheck | None = None
    check_stack: StackCheck | None = None

    @property
    def scope(self) -> str:
        return "resource" if self.check_resource else "stack"

    @property
    def module(self) -> str:
        """The module that defines the rule (``policies.rules.s3``): ``RULES`` is ordered by it."""
        return (self.check_resource or self.check_stack).__module__

    def applies_to(self, type_: str) -> bool:
        return any(type_ == t or (t.endswith("/") and type_.startswith(t)) for t in self.types)

    def findings(self, resources: Sequence[Resource], stack: "Stack") -> list[Finding]:
        """Runs the rule: a resource rule over ``resources`` (inputs), a stack rule over ``stack`` (outputs)."""
        if self.check_stack:
            return list(self.check_stack(stack))
        return [Finding(r, message) for r in resources if self.applies_to(r.type)
                for message in self.check_resource(r.type, r.props)]


RULES: list[Rule] = []


def resource_rule(name: str, description: str, *types: str, enforcement: str = MANDATORY):
    def register(check: ResourceCheck) -> ResourceCheck:
        RULES.append(Rule(name, description, enforcement, types, check_resource=check))
        return check
    return register


def stack_rule(name: str, description: str, enforcement: str = MANDATORY):
    def register(check: StackCheck) -> StackCheck:
        RULES.append(Rule(name, description, enforcement, check_stack=check))
        return check
    return register


class Stack:
    """A stack's resources, with the relations between them resolved by id, ARN or name, or, for values
    the engine does not know yet, by its property dependencies."""

    IDENTIFIERS = ("id", "arn", "name", "bucket")

    def __init__(self, resources: Iterable[Resource]):
        self.resources = list(resources)
        self.by_urn = {r.urn: r for r in self.resources if r.urn}
        self._by_identifier: dict[str, list[Resource]] = {}
        for r in self.resources:
            for key in self.IDENTIFIERS:
                value = r.props.get(key)
                if isinstance(value, str) and value and r not in self._by_identifier.get(value, []):
                    self._by_identifier.setdefault(value, []).append(r)

    def of_type(self, *types: str) -> list[Resource]:
        return [r for r in self.resources if r.type in types]

    def targets(self, source: Resource, prop: str, value: Any, types: Sequence[str]) -> list[Resource]:
        """Resources of ``types`` that ``value`` (found under the top-level property ``prop`` of ``source``)
        refers to."""
        found: list[Resource] = []
        for item in _as_list(value):
            if isinstance(item, str):
                found += [r for r in self._by_identifier.get(item, []) if r.type in types and r not in found]
        if not found:
            found = [r for urn in source.dependencies.get(prop, ()) if (r := self.by_urn.get(urn)) is not None
                     and r.type in types]
        return found

    def referring_to(self, target: Resource, types: Sequence[str], prop: str) -> list[Resource]:
        """Resources of ``types`` whose ``prop`` refers to ``target``."""
        return [r for r in self.of_type(*types) if target in self.targets(r, prop, r.props.get(prop), (target.type,))]

    def unresolved(self, types: Sequence[str], prop: str) -> bool:
        """Whether some resource of ``types`` refers, by ``prop``, to a resource nobody can tell yet (an unknown
        value, and no property dependencies from an older engine): a missing relation is then not proven."""
        return any(not known(r.props.get(prop)) and not r.dependencies.get(prop) for r in self.of_type(*types))


# ---------------------------------------------------------------------------------------------------
# Value helpers
def _as_list(value: Any) -> list:
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not known(value):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _true(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() == "true")


def _json(value: Any) -> Any:
    """A JSON-string property parsed (UNKNOWN or None when it cannot be)."""
    if not known(value) or value is None:
        return value
    if isinstance(value, (dict, list)):
        return value
    try:
        return json.loads(value)
    except (TypeError, ValueError):
        return None


def _tags(props: Mapping[str, Any]) -> Mapping[str, Any]:
    tags = props.get("tags") or props.get("tagsAll") or {}
    return tags if isinstance(tags, Mapping) else {}


def _find(value: Any, key: str) -> list:
    """Every value under ``key`` at any depth of a nested structure."""
    found = []
    if isinstance(value, Mapping):
        for k, v in value.items():
            found += [v] if k == key else []
            found += _find(v, key)
    elif isinstance(value, (list, tuple)):
        for v in value:
            found += _find(v, key)
    return found


def _statements(document: Any) -> list[Mapping]:
    """The statements of a parsed policy document (identity or resource policy)."""
    if not isinstance(document, Mapping):
        return []
    return [s for s in _as_list(document.get("Statement")) if isinstance(s, Mapping)]


def rule(name: str) -> Rule:
    return next(r for r in RULES if r.name == name)
