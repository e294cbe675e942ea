"""What every program needs: typed config sections, upstream stacks, and clear config errors."""
from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import pulumi
from pulumi.runtime.sync_await import _sync_await  # how the SDK's own synchronous invokes wait

from components.args import (
    SETTING,
    InvalidArgument,
    SettingDoc,
    setting_names,
    settings,
    wiring_names,
)

PROJECT = "cloud-patterns"
T = TypeVar("T")


class ConfigError(pulumi.RunError):
    """Invalid stack config; raised before any resource is registered. Printed without a traceback."""


def config() -> pulumi.Config:
    return pulumi.Config(PROJECT)


def environment() -> str:
    return config().require("environment")


@contextmanager
def settings_of(section_name: str) -> Iterator[None]:
    """Reports an invalid argument as the config key ``cloud-patterns:<section_name>.<key>`` it came from."""
    try:
        yield
    except InvalidArgument as error:
        raise ConfigError(f"{PROJECT}:{section_name}.{error}") from None


def section(name: str) -> dict[str, Any]:
    """The config object ``cloud-patterns:<name>`` (empty when unset)."""
    raw = config().get_object(name) or {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{PROJECT}:{name}: expected a mapping of settings, got {raw!r}")
    return dict(raw)


@dataclass(frozen=True)
class Section:
    """The config object ``cloud-patterns:<name>`` and the Args it builds.

    Config may set every setting of ``args`` except those the program decides (``fixed``: what it passes to
    ``load`` besides the wiring), plus the program's own settings (``own``: an Args type of its own, read with
    ``own_settings()``). Unknown keys and invalid values are refused naming the full key and what is allowed,
    before any resource is registered. The docs' settings tables are generated from the same declaration."""

    name: str
    args: type
    fixed: tuple[str, ...] = ()
    own: type | None = None

    @property
    def settable(self) -> list[str]:
        names = [n for n in setting_names(self.args) if n not in self.fixed]
        return names + (setting_names(self.own) if self.own else [])

    def raw(self) -> dict[str, Any]:
        values = section(self.name)
        unknown = sorted(set(values) - set(self.settable))
        if unknown:
            raise ConfigError(f"{PROJECT}:{self.name}.{unknown[0]}: unknown setting; allowed: "
                              f"{', '.join(sorted(self.settable))}")
        return values

    def load(self, **passed: Any) -> Any:
        """The component's Args from config, with the program's wiring and fixed choices in ``passed``."""
        not_passable = sorted(set(passed) - set(wiring_names(self.args)) - set(self.fixed))
        if not_passable:  # a programming error, not a config one
            raise TypeError(f"{self.args.__name__}: {', '.join(not_passable)} are neither wiring nor fixed")
        own = setting_names(self.own) if self.own else []
        values = {k: v for k, v in self.raw().items() if k not in own}
        self._require(self.args, {**values, **passed})
        with settings_of(self.name):
            return self.args(**{**values, **passed})

    def own_settings(self) -> Any:
        """The program's own settings from the same config object."""
        assert self.own is not None, f"section {self.name} declares no own settings"
        values = {k: v for k, v in self.raw().items() if k in setting_names(self.own)}
        self._require(self.own, values)
        with settings_of(self.name):
            return self.own(**values)

    def _require(self, args_type: type, values: dict[str, Any]) -> None:
        """A required setting that config leaves out is refused like a wrong one, naming its key."""
        for f in dataclasses.fields(args_type):
            if (f.metadata.get("kind") == SETTING and f.name not in values
                    and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING):
                raise ConfigError(f"{PROJECT}:{self.name}.{f.name}: missing; it must be set to "
                                  f"{f.metadata['rule'].allowed}")

    def docs(self) -> list[SettingDoc]:
        rows = settings(self.args, exclude=self.fixed)
        return rows + (settings(self.own) if self.own else [])


def load_args(section_name: str, args_type: type[T], *, settings: dict[str, Any] | None = None,
              program_keys: tuple[str, ...] = (), fixed: tuple[str, ...] = (), **overrides: Any) -> T:
    """Builds a component's Args dataclass from the config object ``cloud-patterns:<section_name>``.

    Unknown keys and invalid values are rejected naming the full config key and the allowed values.
    ``overrides`` supplies the wiring (values from upstream stacks or chosen by the program), ``fixed`` names
    fields the program keeps at their defaults: neither may be set in config. ``settings`` passes the section
    when the program has already taken out its own ``program_keys`` (listed as allowed too).
    """
    raw = section(section_name) if settings is None else settings
    fields = {f.name for f in dataclasses.fields(args_type) if f.init}  # type: ignore[arg-type]
    settable = fields - set(overrides) - set(fixed)
    unknown = sorted(set(raw) - settable)
    if unknown:
        raise ConfigError(f"{PROJECT}:{section_name}.{unknown[0]}: unknown setting; allowed: "
                          f"{', '.join(sorted(settable | set(program_keys)))}")
    with settings_of(section_name):
        return args_type(**{**raw, **overrides})


def upstream_stacks() -> dict[str, str]:
    """Every upstream stack this one declares, alias -> stack name, in the order its stack file lists them."""
    return dict(config().get_object("upstream") or {})


def upstream(alias: str) -> pulumi.StackReference:
    """The stack this one declares as ``cloud-patterns:upstream.<alias>`` (e.g. ``network: dev-network``)."""
    stacks = config().get_object("upstream") or {}
    if alias not in stacks:
        raise ConfigError(f"{PROJECT}:upstream.{alias}: missing; this program reads the {alias} stack, so "
                          f"the stack config must name it (e.g. upstream: {{{alias}: <env>-{alias}}})")
    organization = config().get("organization") or pulumi.get_organization()
    return pulumi.StackReference(f"{alias}-stack", stack_name=f"{organization}/{PROJECT}/{stacks[alias]}")


def upstream_value(stack: pulumi.StackReference, name: str) -> Any:
    """An output of an upstream stack as a plain value, read before any resource is registered so that config
    can be checked against it; None while the engine does not know it yet."""
    details = _sync_await(stack.get_output_details(name))
    return details.value if details.value is not None else details.secret_value


def require_app_port(network: pulumi.StackReference, section_name: str, key: str, port: int) -> None:
    """Refuses ``port`` (the config key ``<section_name>.<key>``) unless it is the network's ``app_port``: the only
    port the network's app security group admits from the load balancers."""
    app_port = upstream_value(network, "app_port")
    if app_port is not None and int(app_port) != port:
        raise ConfigError(f"{PROJECT}:{section_name}.{key}: {port!r} is not allowed; allowed: {int(app_port)}, the "
                          f"network's app_port (the only port its app security group admits)")


@dataclass(frozen=True)
class TaskPlacement:
    """Where a stack's tasks run, as the network stack decided (its outputs ``task_subnet_ids`` and
    ``task_assign_public_ip``), and the app security group that admits only the load balancers."""

    subnet_ids: pulumi.Output[list[str]]
    assign_public_ip: pulumi.Output[bool]
    security_group_id: pulumi.Output[str]


def task_placement(network: pulumi.StackReference) -> TaskPlacement:
    return TaskPlacement(subnet_ids=network.require_output("task_subnet_ids"),
                         assign_public_ip=network.require_output("task_assign_public_ip"),
                         security_group_id=network.require_output("app_security_group_id"))
