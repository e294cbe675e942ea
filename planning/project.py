"""The project's stacks, read from the same ``Pulumi.<env>-<stack>.yaml`` files that ``pulumi up -s`` uses.

A stack's upstream stacks are its ``cloud-patterns:upstream`` config (``{alias: <env>-<stack>}``); the
dependency graph of an environment is derived from those, and checked (missing stacks, cycles, unknown
programs, cross-environment references) before anything runs.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from graphlib import CycleError, TopologicalSorter
from pathlib import Path
from typing import Any

import yaml

import programs

PROJECT = "cloud-patterns"
PROJECT_DIR = Path(__file__).resolve().parent.parent
STACK_FILE = re.compile(r"^Pulumi\.(?P<env>[a-z0-9]+)-(?P<short>[a-z0-9-]+)\.yaml$")


class ProjectError(Exception):
    """The stacks' configuration cannot be run as a whole (nothing has been started)."""


@dataclass(frozen=True)
class StackSpec:
    name: str
    """Full stack name, ``<env>-<stack>``."""
    environment: str
    short_name: str
    program: str
    upstream: dict[str, str]
    """Alias the program uses -> upstream stack name."""
    config: dict[str, Any] = field(repr=False)
    """The stack file's config, keys namespaced as in the file (``aws:region``)."""
    path: Path = field(repr=False)

    @property
    def depends_on(self) -> list[str]:
        return sorted(set(self.upstream.values()))

    @property
    def region(self) -> str:
        return str(self.config.get("aws:region", "us-east-1"))

    def engine_config(self) -> tuple[dict[str, str], list[str]]:
        """Config as the engine hands it to a program (objects JSON-encoded) and the secret keys.

        Secure values cannot be decrypted offline; they become a placeholder, still marked secret."""
        values, secret_keys = {}, []
        for key, value in self.config.items():
            if isinstance(value, dict) and set(value) == {"secure"}:
                values[key] = "offline-plan-secret-placeholder"
                secret_keys.append(key)
            elif isinstance(value, (dict, list)):
                values[key] = json.dumps(value)
            elif isinstance(value, bool):
                values[key] = "true" if value else "false"
            else:
                values[key] = str(value)
        return values, secret_keys


@dataclass(frozen=True)
class Environment:
    name: str
    stacks: dict[str, StackSpec]
    """By full name, in dependency order (upstream first)."""

    def resolve(self, selections: list[str] | None) -> list[str]:
        """Full names for ``network`` or ``dev-network`` style selections; all stacks when none."""
        if not selections:
            return list(self.stacks)
        names = []
        for selection in selections:
            name = selection if selection in self.stacks else f"{self.name}-{selection}"
            if name not in self.stacks:
                raise ProjectError(f"--stack {selection}: no such stack in {self.name}; "
                                   f"stacks: {', '.join(s.short_name for s in self.stacks.values())}")
            names.append(name)
        return [n for n in self.stacks if n in names]

    def dependencies(self, names: list[str]) -> list[str]:
        """``names`` and everything they depend on, transitively, in dependency order."""
        wanted = set(names)
        for name in reversed(list(self.stacks)):
            if name in wanted:
                wanted.update(self.stacks[name].depends_on)
        return [n for n in self.stacks if n in wanted]

    def dependents(self, names: list[str]) -> list[str]:
        """``names`` and every stack that depends on them, transitively, in dependency order."""
        wanted = set(names)
        for name, spec in self.stacks.items():
            if wanted.intersection(spec.depends_on):
                wanted.add(name)
        return [n for n in self.stacks if n in wanted]


def environments(project_dir: Path | None = None) -> list[str]:
    project_dir = project_dir or PROJECT_DIR
    return sorted({m["env"] for p in project_dir.glob("Pulumi.*.yaml") if (m := STACK_FILE.match(p.name))})


def load_environment(environment: str, project_dir: Path | None = None) -> Environment:
    project_dir = project_dir or PROJECT_DIR
    specs = {}
    for path in sorted(project_dir.glob(f"Pulumi.{environment}-*.yaml")):
        match = STACK_FILE.match(path.name)
        if not match or match["env"] != environment:
            continue
        specs[f"{environment}-{match['short']}"] = _read_stack(path, environment, match["short"])
    if not specs:
        raise ProjectError(f"environment {environment!r} has no stacks (no Pulumi.{environment}-*.yaml); "
                           f"environments: {', '.join(environments(project_dir)) or 'none'}")
    for spec in specs.values():
        for alias, upstream in spec.upstream.items():
            if upstream not in specs:
                raise ProjectError(f"{spec.name}: {PROJECT}:upstream.{alias} names {upstream!r}, which is not a "
                                   f"stack of {environment} (stacks: {', '.join(specs)})")
    try:
        order = list(TopologicalSorter({n: s.depends_on for n, s in sorted(specs.items())}).static_order())
    except CycleError as error:
        raise ProjectError(f"dependency cycle between stacks: {' -> '.join(error.args[1])}") from None
    return Environment(environment, {name: specs[name] for name in order})


def _read_stack(path: Path, environment: str, short_name: str) -> StackSpec:
    name = f"{environment}-{short_name}"
    try:
        document = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as error:
        raise ProjectError(f"{path.name}: not valid YAML: {error}") from None
    config = document.get("config") or {}
    program = config.get(f"{PROJECT}:program")
    if program not in programs.available():
        raise ProjectError(f"{path.name}: {PROJECT}:program is {program!r}; allowed: "
                           f"{', '.join(programs.available())}")
    declared_env = config.get(f"{PROJECT}:environment")
    if declared_env != environment:
        raise ProjectError(f"{path.name}: {PROJECT}:environment is {declared_env!r}; it must be {environment!r}, "
                           f"the prefix of the stack name")
    upstream = config.get(f"{PROJECT}:upstream") or {}
    if not isinstance(upstream, dict) or not all(isinstance(v, str) for v in upstream.values()):
        raise ProjectError(f"{path.name}: {PROJECT}:upstream must map an alias to a stack name, "
                           f"e.g. {{network: {environment}-network}}")
    for alias, upstream_name in upstream.items():
        if not upstream_name.startswith(f"{environment}-"):
            raise ProjectError(f"{path.name}: {PROJECT}:upstream.{alias} is {upstream_name!r}; a stack may only "
                               f"depend on stacks of its own environment ({environment}-*)")
    return StackSpec(name=name, environment=environment, short_name=short_name, program=program,
                     upstream=dict(upstream), config=config, path=path)
