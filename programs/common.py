"""What every program needs: typed config sections, upstream stacks, and clear config errors."""
from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import pulumi

from components.validation import InvalidArgument

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


def upstream(alias: str) -> pulumi.StackReference:
    """The stack this one declares as ``cloud-patterns:upstream.<alias>`` (e.g. ``network: dev-network``)."""
    stacks = config().get_object("upstream") or {}
    if alias not in stacks:
        raise ConfigError(f"{PROJECT}:upstream.{alias}: missing; this program reads the {alias} stack, so "
                          f"the stack config must name it (e.g. upstream: {{{alias}: <env>-{alias}}})")
    organization = config().get("organization") or pulumi.get_organization()
    return pulumi.StackReference(f"{alias}-stack", stack_name=f"{organization}/{PROJECT}/{stacks[alias]}")


@dataclass(frozen=True)
class TaskPlacement:
    """Where a stack's tasks run, as the network stack decides: without NAT, public subnets with public IPs
    (the app security group still admits only the load balancer); otherwise private subnets."""

    subnet_ids: pulumi.Output[list[str]]
    assign_public_ip: pulumi.Output[bool]
    security_group_id: pulumi.Output[str]


def task_placement(network: pulumi.StackReference) -> TaskPlacement:
    nat_strategy = network.require_output("nat_strategy")
    subnet_ids = pulumi.Output.all(nat_strategy, network.require_output("public_subnet_ids"),
                                   network.require_output("private_subnet_ids")).apply(
        lambda values: values[1] if values[0] == "none" else values[2])
    return TaskPlacement(subnet_ids=subnet_ids, assign_public_ip=nat_strategy.apply(lambda nat: nat == "none"),
                         security_group_id=network.require_output("app_security_group_id"))
