"""Declared arguments: each field of a component's ``Args`` says, once, its default, the values it allows and
what it means. Validation and the documentation's settings tables both read that one declaration.

    @dataclass(frozen=True)
    class NetworkArgs(Args):
        az_count: int = setting(2, Whole(2, 6), "Availability zones to spread every tier over.")
        vpc_id: pulumi.Input[str] = wiring("The VPC (from the network stack).")

- ``setting(default, rule, doc)``: a value a stack's config may set. ``Args.__post_init__`` checks it against
  its rule (type and range) and refuses it with an ``InvalidArgument`` that names the key and what is allowed.
- ``required(rule, doc)``: a setting without a default.
- ``wiring(doc)``: a value the program passes (an upstream stack's output, another component's ARN); config
  never sets it and no rule checks it (it is usually an ``Output``).

Relations between fields (a minimum below a maximum, sizes that fit a task) go in ``check()``, which runs after
every field passed its own rule. Rules are small objects with ``check(key, value)`` and ``allowed`` (the text
of error messages and docs); ``wrong_values`` gives values each rule refuses, for the tests that feed every
setting of every program a value of the wrong type.
"""
from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import MISSING, dataclass
from typing import Any

from service_limits import LOG_RETENTION_DAYS

SETTING, WIRING = "setting", "wiring"


class InvalidArgument(ValueError):
    """An argument (config key) has a value the component cannot deploy."""

    def __init__(self, key: str, value: Any, allowed: str):
        self.key = key
        self.value = value
        self.allowed = allowed
        super().__init__(f"{key}: {value!r} is not allowed; allowed: {allowed}")

    def with_prefix(self, prefix: str) -> "InvalidArgument":
        return InvalidArgument(f"{prefix}{self.key}", self.value, self.allowed)


class Rule:
    """What values a setting allows."""

    allowed: str = "a value"

    def check(self, key: str, value: Any) -> None:
        raise NotImplementedError

    def refuse(self, key: str, value: Any) -> None:
        raise InvalidArgument(key, value, self.allowed)

    @property
    def wrong_values(self) -> tuple[Any, ...]:
        """Values this rule refuses (at least one of the wrong type, all as config could spell them), for the
        generic tests."""
        return ({"unexpected": "mapping"},)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass(frozen=True)
class Whole(Rule):
    low: int
    high: int
    unit: str = ""
    """Said after the range, e.g. "(gunicorn worker processes per task)"."""

    @property
    def allowed(self) -> str:  # type: ignore[override]
        return f"a whole number from {self.low} to {self.high}{' ' + self.unit if self.unit else ''}"

    def check(self, key: str, value: Any) -> None:
        if not _is_int(value) or not self.low <= value <= self.high:
            self.refuse(key, value)

    @property
    def wrong_values(self) -> tuple[Any, ...]:
        return (self.low + 0.5, str(self.low), True, self.high + 1)


@dataclass(frozen=True)
class Number(Rule):
    low: float
    high: float
    unit: str = ""

    @property
    def allowed(self) -> str:  # type: ignore[override]
        return f"a number from {self.low:g} to {self.high:g}{' ' + self.unit if self.unit else ''}"

    def check(self, key: str, value: Any) -> None:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not self.low <= value <= self.high:
            self.refuse(key, value)

    @property
    def wrong_values(self) -> tuple[Any, ...]:
        return (str(self.low), True, self.high * 2 + 1)


class OneOf(Rule):
    def __init__(self, *values: Any, described: str = ""):
        self.values = tuple(values)
        self.described = described

    @property
    def allowed(self) -> str:  # type: ignore[override]
        return self.described or "one of " + ", ".join(_show(v) for v in self.values)

    def check(self, key: str, value: Any) -> None:
        # ``True == 1``: a boolean never stands in for a number, nor a number for a boolean.
        if not any(value == v and type(value) is type(v) for v in self.values):
            self.refuse(key, value)

    @property
    def wrong_values(self) -> tuple[Any, ...]:
        return ("not-one-of-them", [self.values[0]])


class Boolean(Rule):
    allowed = "true or false"

    def check(self, key: str, value: Any) -> None:
        if not isinstance(value, bool):
            self.refuse(key, value)

    @property
    def wrong_values(self) -> tuple[Any, ...]:
        return ("yes", 1)


@dataclass(frozen=True)
class Text(Rule):
    pattern: str | None = None
    """A regular expression the whole value must match; None: any non-empty text."""
    described: str = "a non-empty text"
    max_length: int | None = None

    @property
    def allowed(self) -> str:  # type: ignore[override]
        return self.described

    def check(self, key: str, value: Any) -> None:
        if (not isinstance(value, str) or not value.strip()
                or (self.max_length is not None and len(value) > self.max_length)
                or (self.pattern is not None and not re.fullmatch(self.pattern, value))):
            self.refuse(key, value)

    @property
    def wrong_values(self) -> tuple[Any, ...]:
        return (12, ["text"], "")


class Port(Whole):
    def __init__(self) -> None:
        super().__init__(1, 65535)

    @property
    def allowed(self) -> str:  # type: ignore[override]
        return "a TCP port from 1 to 65535"


class Retention(OneOf):
    """CloudWatch Logs retention: only the periods the service accepts."""

    def __init__(self) -> None:
        super().__init__(*LOG_RETENTION_DAYS, described="one of " + ", ".join(map(str, LOG_RETENTION_DAYS))
                         + " (days; the periods CloudWatch Logs accepts)")

    @property
    def wrong_values(self) -> tuple[Any, ...]:
        return (10, "30", 30.5)


@dataclass(frozen=True)
class ListOf(Rule):
    item: Rule
    min_items: int = 0
    max_items: int | None = None
    unique: bool = True

    @property
    def allowed(self) -> str:  # type: ignore[override]
        size = f"{self.min_items} or more" if self.max_items is None else f"{self.min_items} to {self.max_items}"
        return f"a list of {size} items{', each ' + self.item.allowed if self.item.allowed else ''}" + \
            (", without repeats" if self.unique else "")

    def check(self, key: str, value: Any) -> None:
        if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Iterable):
            self.refuse(key, value)
        items = list(value)
        if len(items) < self.min_items or (self.max_items is not None and len(items) > self.max_items):
            self.refuse(key, items)
        for item in items:
            self.item.check(key, item)
        if self.unique and len({_hashable(i) for i in items}) != len(items):
            raise InvalidArgument(key, items, "no repeated item")

    @property
    def wrong_values(self) -> tuple[Any, ...]:
        return ("a-single-text", 3)


@dataclass(frozen=True)
class MappingOf(Rule):
    value: Rule
    keys: Rule | None = None

    @property
    def allowed(self) -> str:  # type: ignore[override]
        keys = f" whose keys are {self.keys.allowed}" if self.keys else ""
        return f"a mapping{keys} whose values are {self.value.allowed}"

    def check(self, key: str, value: Any) -> None:
        if not isinstance(value, Mapping):
            self.refuse(key, value)
        for name, item in value.items():
            if self.keys is not None:
                self.keys.check(key, name)
            self.value.check(f"{key}.{name}", item)

    @property
    def wrong_values(self) -> tuple[Any, ...]:
        return ("text", [1])


@dataclass(frozen=True)
class Maybe(Rule):
    """The rule's values, or null (unset)."""

    rule: Rule

    @property
    def allowed(self) -> str:  # type: ignore[override]
        return f"{self.rule.allowed}, or null"

    def check(self, key: str, value: Any) -> None:
        if value is not None:
            self.rule.check(key, value)

    @property
    def wrong_values(self) -> tuple[Any, ...]:
        return self.rule.wrong_values


@dataclass(frozen=True)
class Custom(Rule):
    """A rule by function: ``test(value)`` is true for allowed values."""

    test: Callable[[Any], bool]
    described: str
    wrong: tuple[Any, ...] = ({"unexpected": "mapping"},)

    @property
    def allowed(self) -> str:  # type: ignore[override]
        return self.described

    def check(self, key: str, value: Any) -> None:
        try:
            ok = self.test(value)
        except (TypeError, ValueError):
            ok = False
        if not ok:
            self.refuse(key, value)

    @property
    def wrong_values(self) -> tuple[Any, ...]:
        return self.wrong


def _hashable(value: Any) -> Any:
    return repr(value) if isinstance(value, (list, dict, set)) else value


def _show(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


# ---------------------------------------------------------------------------------------------------
# Declarations

def setting(default: Any, rule: Rule, doc: str) -> Any:
    """A field config may set; lists and mappings as defaults are copied for each instance."""
    metadata = {"kind": SETTING, "rule": rule, "doc": doc}
    if isinstance(default, (list, dict, set)):
        return dataclasses.field(default_factory=lambda: type(default)(default), metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


def required(rule: Rule, doc: str) -> Any:
    """A field config must set."""
    return dataclasses.field(metadata={"kind": SETTING, "rule": rule, "doc": doc})


def like(args_type: type, name: str, default: Any = MISSING, doc: str | None = None) -> Any:
    """The declaration of ``args_type.<name>`` again (rule, doc and default, unless given), for a component that
    passes the value on to the building block that declares it."""
    source = args_type.__dataclass_fields__[name]
    doc = source.metadata["doc"] if doc is None else doc
    if default is MISSING:
        default = source.default_factory() if source.default_factory is not MISSING else source.default
    if source.metadata["kind"] == WIRING:
        return wiring(doc, default=default)
    if default is MISSING:
        return required(source.metadata["rule"], doc)
    return setting(default, source.metadata["rule"], doc)


def wiring(doc: str, default: Any = MISSING) -> Any:
    """A field the program passes; never read from config."""
    metadata = {"kind": WIRING, "doc": doc}
    if isinstance(default, (list, dict, set)):
        return dataclasses.field(default_factory=lambda: type(default)(default), metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


class Args:
    """Base of every component's and program's arguments: checks each setting's rule, then ``check()``."""

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            rule = f.metadata.get("rule")
            if rule is not None:
                rule.check(f.name, getattr(self, f.name))
        self.check()

    def check(self) -> None:
        """Relations between fields; every field has passed its own rule."""


@dataclass(frozen=True)
class SettingDoc:
    name: str
    default: str
    """As YAML would spell it; ``required`` when there is none."""
    allowed: str
    doc: str


def settings(args_type: type, exclude: Sequence[str] = ()) -> list[SettingDoc]:
    """The settings config may set on ``args_type``, in declaration order (what the docs' tables show)."""
    rows = []
    for f in dataclasses.fields(args_type):
        if f.metadata.get("kind") != SETTING or f.name in exclude:
            continue
        if f.default is not MISSING:
            default = yaml_text(f.default)
        elif f.default_factory is not MISSING:
            default = yaml_text(f.default_factory())
        else:
            default = "required"
        rows.append(SettingDoc(f.name, default, f.metadata["rule"].allowed, f.metadata["doc"]))
    return rows


def setting_names(args_type: type) -> list[str]:
    return [f.name for f in dataclasses.fields(args_type) if f.metadata.get("kind") == SETTING]


def wiring_names(args_type: type) -> list[str]:
    return [f.name for f in dataclasses.fields(args_type) if f.metadata.get("kind") == WIRING]


def yaml_text(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(yaml_text(v) for v in value) + "]"
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{k}: {yaml_text(v)}" for k, v in value.items()) + "}"
    return _show(value)
