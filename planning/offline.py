"""The offline plan: every stack of an environment evaluated with the Pulumi SDK's own mock engine.

No CLI, no provider plugins, no credentials, no network. Each stack runs its real program in dependency
order; what the program registers is recorded as the engine would receive it (type token, name, parent,
camelCase inputs, secrets masked), and each stack's outputs are fed to its downstream ``StackReference``s.
"""
from __future__ import annotations

import multiprocessing
import os
import pickle
import threading
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any

import pulumi
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import rpc
from pulumi.runtime.config import set_all_config
from pulumi.runtime.settings import set_root_resource
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

import programs
from planning.mocks import ProviderMocks, SecretValue
from planning.project import PROJECT, Environment, StackSpec

SECRET = "[secret]"


@dataclass
class PlannedResource:
    urn: str
    type: str
    name: str
    parent: str | None
    inputs: dict[str, Any]
    custom: bool
    provider: str | None = None
    """The explicit provider (``<urn>::<id>``) the resource was made through; None: the stack's default one."""

    def to_json(self) -> dict:
        return {"urn": self.urn, "type": self.type, "name": self.name, "parent": self.parent, "inputs": self.inputs,
                "custom": self.custom, **({"provider": self.provider} if self.provider else {})}


@dataclass
class StackPlan:
    spec: StackSpec
    resources: list[PlannedResource] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)
    """Output values; secret ones wrapped in SecretValue."""

    def to_json(self) -> dict:
        return {"name": self.spec.name, "program": self.spec.program, "depends_on": self.spec.depends_on,
                "resources": [r.to_json() for r in self.resources],
                "outputs": {k: SECRET if isinstance(v, SecretValue) else v for k, v in self.outputs.items()}}

    def of_type(self, type_token: str) -> list[PlannedResource]:
        return [r for r in self.resources if r.type == type_token]


def _mask_secrets(value: Any) -> Any:
    if rpc.is_rpc_secret(value):
        return SECRET
    if isinstance(value, dict):
        return {k: _mask_secrets(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_mask_secrets(v) for v in value]
    if isinstance(value, pulumi.asset.Archive | pulumi.asset.Asset):
        return _describe_asset(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)  # the wire format has only doubles
    return value


def _unwrap_secrets(value: Any) -> Any:
    value = rpc.unwrap_rpc_secret(value)
    if isinstance(value, dict):
        return {k: _unwrap_secrets(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_unwrap_secrets(v) for v in value]
    return value


def _describe_asset(value: Any) -> dict:
    if isinstance(value, pulumi.FileArchive | pulumi.FileAsset):
        path = os.path.relpath(value.path, os.getcwd()) if os.path.isabs(value.path) else value.path
        return {"kind": type(value).__name__, "path": path}
    if isinstance(value, pulumi.AssetArchive):
        return {"kind": "AssetArchive", "assets": {k: _describe_asset(v) for k, v in value.assets.items()}}
    if isinstance(value, pulumi.StringAsset):
        return {"kind": "StringAsset", "text": value.text}
    return {"kind": type(value).__name__}


class RecordingMonitor(pulumi_mocks.MockMonitor):
    """The SDK's mock monitor, also recording each registration as the engine receives it."""

    def __init__(self, mocks: ProviderMocks):
        super().__init__(mocks)
        self.recorded: list[PlannedResource] = []

    def make_urn(self, parent: str, type_: str, name: str) -> str:
        # The engine leaves the root Stack out of its children's URNs; the SDK's mock monitor does not.
        if parent and parent.split("::")[2] == "pulumi:pulumi:Stack":
            parent = ""
        return super().make_urn(parent, type_, name)

    def _record(self, request, custom: bool) -> None:
        inputs = rpc.deserialize_properties(request.object if hasattr(request, "object") else request.properties)
        self.recorded.append(PlannedResource(
            urn=self.make_urn(request.parent, request.type, request.name), type=request.type, name=request.name,
            parent=request.parent or None, inputs=_mask_secrets(inputs), custom=custom,
            provider=getattr(request, "provider", "") or None))

    def RegisterResource(self, request):
        if request.type != "pulumi:pulumi:Stack":
            self._record(request, bool(request.custom))
        return super().RegisterResource(request)

    def ReadResource(self, request):
        self._record(request, True)
        return super().ReadResource(request)


def evaluate_stack(spec: StackSpec, upstream_outputs: dict[str, dict[str, Any]],
                   monitor: RecordingMonitor | None = None, mocks: ProviderMocks | None = None,
                   main: Callable[[], None] | None = None) -> StackPlan:
    """Runs one stack's program under the mock engine; raises what the program raises.

    Pass a ``monitor`` to inspect what was registered even when the program fails, and ``main`` to run
    other code than the stack's program (tests of single components)."""
    values, secret_keys = spec.engine_config()
    gcp = {k.split(":", 1)[1]: v for k, v in values.items() if k.startswith("gcp:")}
    mocks = mocks or ProviderMocks(region=spec.region, stack_outputs=upstream_outputs,
                                   gcp_project=gcp.get("project", "cloud-patterns-dev"),
                                   gcp_region=gcp.get("region", "us-central1"))
    monitor = monitor or RecordingMonitor(mocks)
    monitor.mocks = mocks
    set_root_resource(None)  # a fresh root Stack resource for every stack
    set_all_config(values, secret_keys)
    pulumi.runtime.set_mocks(mocks, project=PROJECT, stack=spec.name, preview=False, monitor=monitor,
                             organization="organization")
    root = pulumi.runtime.settings.get_root_resource()
    _sync_await(run_pulumi_func(main or (lambda: programs.run(spec.program))))
    plan = StackPlan(spec, resources=tree_order(monitor.recorded))
    for name, value in root.outputs.items():
        output = pulumi.Output.from_input(value)
        resolved = _unwrap_secrets(_sync_await(output.future()))
        plan.outputs[name] = SecretValue(resolved) if _sync_await(output.is_secret()) else resolved
    return plan


def tree_order(resources: list[PlannedResource]) -> list[PlannedResource]:
    """Parents before their children, siblings by URN: the same order on every run (registration order is not,
    since the SDK registers resources concurrently)."""
    children: dict[str | None, list[PlannedResource]] = {}
    urns = {r.urn for r in resources}
    for resource in resources:
        children.setdefault(resource.parent if resource.parent in urns else None, []).append(resource)
    ordered: list[PlannedResource] = []
    pending = sorted(children.get(None, []), key=lambda r: r.urn, reverse=True)
    while pending:
        resource = pending.pop()
        ordered.append(resource)
        pending += sorted(children.get(resource.urn, []), key=lambda r: r.urn, reverse=True)
    return ordered


PLAN_WORKERS_VARIABLE = "PLAN_WORKERS"
"""Processes that evaluate independent stacks at once (default 1: in this process). Measured with
``benchmarks/plan_speed.py`` on 2 cores: 15 stacks and 450 resources plan in about 2.3 s one by one and no
faster in 2 processes (a stack takes 0.1-0.5 s, about what starting and feeding a worker costs), so parallel
planning is for environments that outgrow the 10 s target, not the default."""


def plan_environment(environment: Environment, selected: list[str] | None = None,
                     workers: int | None = None) -> list[StackPlan]:
    """Plans ``selected`` stacks (all when None) and, to feed their stack references, their upstream stacks.

    A stack starts as soon as its upstream stacks are planned; independent stacks run in parallel processes
    (each with its own mock engine). Returns the plans of the
    selected stacks, in dependency order, whatever order they finished in."""
    selected = selected or list(environment.stacks)
    names = environment.dependencies(selected)
    workers = workers or int(os.environ.get(PLAN_WORKERS_VARIABLE) or 1)
    if workers <= 1 or len(names) <= 1 or "forkserver" not in multiprocessing.get_all_start_methods():
        plans: dict[str, StackPlan] = {}
        for name in names:
            spec = environment.stacks[name]
            plans[name] = evaluate_stack(spec, {u: plans[u].outputs for u in spec.depends_on})
    else:
        plans = _plan_in_processes(environment, names, workers)
    return [plans[name] for name in names if name in selected]


def _plan_in_processes(environment: Environment, names: list[str], workers: int) -> dict[str, StackPlan]:
    plans: dict[str, StackPlan] = {}
    pending = list(names)
    running: dict[Future, str] = {}
    with ProcessPoolExecutor(max_workers=min(workers, len(names)),
                             mp_context=_context()) as pool:
        while pending or running:
            for name in [n for n in pending if all(u in plans for u in environment.stacks[n].depends_on)]:
                spec = environment.stacks[name]
                running[pool.submit(_evaluate_in_child, spec, {u: plans[u].outputs for u in spec.depends_on})] = name
                pending.remove(name)
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                name = running.pop(future)
                failure, plan = future.result()
                if failure is not None:
                    for other in running:
                        other.cancel()
                    raise failure
                plans[name] = plan
    return plans


def _context() -> multiprocessing.context.BaseContext:
    """Forked workers, which start with everything this process imported, when this process runs no other thread;
    otherwise (a test runner's or a live view's threads: forking then can deadlock the child on a lock some thread
    held) a fork server that preloads the programs' modules."""
    if threading.active_count() == 1:
        return multiprocessing.get_context("fork")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["planning.offline", "programs", *[f"programs.{m}" for m in _program_modules()]])
    return context


def _program_modules() -> list[str]:
    return [p.replace("-", "_") for p in programs.available()]


def _evaluate_in_child(spec: StackSpec, upstream_outputs: dict[str, dict[str, Any]]
                       ) -> tuple[BaseException | None, StackPlan | None]:
    """Runs in a worker process: the program's own error comes back as itself where it can be pickled."""
    try:
        return None, evaluate_stack(spec, upstream_outputs)
    except Exception as error:  # noqa: BLE001 - handed to the parent, which raises it
        try:
            pickle.dumps(error)
            return error, None
        except Exception:  # noqa: BLE001
            return RuntimeError(f"{type(error).__name__}: {error}"), None


MOCK_NOTE = ("planned offline with the Pulumi SDK's mock engine: ids, ARNs, the account (123456789012) and DNS names "
             "are mock values, not read from or sent to any cloud")


def plan_document(environment: Environment, plans: list[StackPlan]) -> dict:
    """The plan as ``plan --offline --json`` prints it; ``"mocks": true`` says its values come from the mocks."""
    return {"environment": environment.name, "mocks": True, "note": MOCK_NOTE, "stacks": [p.to_json() for p in plans]}
