"""An engine that simulates stacks: known durations, chosen failures, no cloud and no Pulumi CLI.

It is the injected engine of the orchestration tests and of ``benchmarks/driver_bench.py``, and lets the
command line and the library be tried end to end (progress view, ``--json``, Ctrl-C, exit codes, outputs)
without credentials: ``STACKS_SIMULATE=sim.json python -m stacks up dev`` where ``sim.json`` holds any of
``{"durations": {"dev-network": 2}, "default_duration": 1, "failures": {"dev-x": "boom"}, "resources": 3,
"state_file": ".sim-state.json"}`` (``{}`` is enough; a relative ``state_file`` is next to ``sim.json``).

Each simulated stack holds ``resources`` resources. ``up`` creates them, or updates them when the stack's
config changed since it was deployed, or reports them unchanged; ``destroy`` deletes them. Deployed
stacks (and their config fingerprints) are kept in memory, and in ``state_file`` when one is given.

``outputs`` of a deployed stack are its offline plan's outputs (``OfflineOutputs``): the stack's real program
under the mock engine, fed its upstream stacks' outputs, so they have the real names and shapes
(``vpc_id = "vpc-…"``, secrets marked secret) with mock values.
"""
from __future__ import annotations

import asyncio
import hashlib
import json
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from planning.mocks import SecretValue
from planning.offline import evaluate_stack
from planning.project import StackSpec, load_environment
from stacks.changes import ResourceChange
from stacks.orchestrator import (
    Emit,
    Operation,
    ResourceEvent,
    StackCancelled,
    StackFailed,
    StackOutput,
    StackRequest,
    StackResult,
)

RESOURCE_TYPE = "simulated:index:Resource"


def fingerprint(config: dict) -> str:
    return hashlib.sha256(json.dumps(config, sort_keys=True, default=str).encode()).hexdigest()[:16]


class OfflineOutputs:
    """A stack's outputs as its offline plan gives them; each stack is planned once per instance, after the
    stacks it reads. Raises ``StackFailed`` with the program's message when the program refuses its config."""

    _engine_lock = threading.Lock()
    """The SDK's mock engine is one per process: one stack at a time."""

    def __init__(self) -> None:
        self._outputs: dict[str, dict[str, Any]] = {}

    def __call__(self, spec: StackSpec) -> dict[str, StackOutput]:
        environment = load_environment(spec.environment, spec.path.parent)
        with self._engine_lock:
            for name in environment.dependencies([spec.name]):
                if name not in self._outputs:
                    upstream = environment.stacks[name]
                    self._outputs[name] = _planned_outputs(upstream, {u: self._outputs[u]
                                                                      for u in upstream.depends_on})
        return {key: StackOutput(value.value, secret=True) if isinstance(value, SecretValue) else StackOutput(value)
                for key, value in self._outputs[spec.name].items()}


def _planned_outputs(spec: StackSpec, upstream: dict[str, dict[str, Any]]) -> dict[str, Any]:
    # Engines run in the orchestrator's worker threads, which have no event loop of their own.
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        return evaluate_stack(spec, upstream).outputs
    except Exception as error:  # the program's own error (e.g. invalid config), as the real engine reports it
        raise StackFailed(f"{spec.name}: the offline plan failed: {type(error).__name__}: {error}") from None
    finally:
        asyncio.set_event_loop(None)
        loop.close()


class SimulatedEngine:
    def __init__(self, durations: dict[str, float] | None = None, default_duration: float = 0.05,
                 failures: dict[str, str] | None = None, resources: int = 3, state_file: Path | None = None,
                 outputs: Callable[[StackSpec], dict[str, StackOutput]] | None = None):
        """``durations`` (stack -> seconds, else ``default_duration``) is how long each run takes; ``failures``
        (stack -> message) the stacks that fail; ``outputs`` what ``outputs`` returns for a deployed stack (by
        default its offline plan's outputs, ``OfflineOutputs``)."""
        self.durations = dict(durations or {})
        self.default_duration = default_duration
        self.failures = dict(failures or {})
        """Stack -> error message: the stack fails (after its duration) until removed from here."""
        self.resources = resources
        self.outputs = outputs or OfflineOutputs()
        self.state_file = Path(state_file) if state_file else None
        self.state: dict[str, str] = json.loads(self.state_file.read_text()) \
            if self.state_file and self.state_file.exists() else {}
        """Deployed stack -> fingerprint of the config it was deployed with."""
        self.started: list[tuple[str, str]] = []
        """(operation, stack) in the order the runs started."""
        self.intervals: dict[str, tuple[float, float]] = {}
        """Stack -> (start, end) on time.monotonic() of its last run."""
        self.active: set[str] = set()
        self.max_active = 0
        self.cancel_calls: list[tuple[str, bool]] = []
        self._cancels: dict[str, threading.Event] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_file(cls, path: Path) -> SimulatedEngine:
        settings = json.loads(Path(path).read_text())
        state_file = settings.get("state_file")
        if state_file and not Path(state_file).is_absolute():
            state_file = Path(path).parent / state_file
        return cls(settings.get("durations"), settings.get("default_duration", 0.05), settings.get("failures"),
                   settings.get("resources", 3), state_file)

    # -- the Engine protocol --
    def run(self, request: StackRequest, emit: Emit) -> StackResult:
        name = request.spec.name
        with self._lock:
            cancel = self._cancels.setdefault(name, threading.Event())
            self.started.append((request.operation.value, name))
            self.active.add(name)
            self.max_active = max(self.max_active, len(self.active))
        began = time.monotonic()
        try:
            changes = self._changes(request)
            for change in changes:
                emit(ResourceEvent(name, "started", change.action, change.type, change.name, change.urn))
            if cancel.wait(self.durations.get(name, self.default_duration)):
                raise StackCancelled("cancelled while running; the simulated update stopped cleanly")
            if name in self.failures:
                raise StackFailed(self.failures[name])
            for change in changes:
                emit(ResourceEvent(name, "done", change.action, change.type, change.name, change.urn))
            return self._apply(request, changes)
        finally:
            with self._lock:
                self.active.discard(name)
                self.intervals[name] = (began, time.monotonic())
                self._cancels.pop(name, None)

    def cancel(self, stack: str, force: bool = False) -> None:
        with self._lock:
            self.cancel_calls.append((stack, force))
            self._cancels.setdefault(stack, threading.Event()).set()

    def deployed(self, stacks: list[str]) -> set[str]:
        with self._lock:
            return {s for s in stacks if s in self.state}

    # -- the simulated stacks --
    def _changes(self, request: StackRequest) -> list[ResourceChange]:
        spec, operation = request.spec, request.operation
        deployed = self.state.get(spec.name)
        if operation in (Operation.UP, Operation.PREVIEW):
            action = "create" if deployed is None else "update" if deployed != fingerprint(spec.config) else None
        elif operation is Operation.DESTROY:
            action = "delete" if deployed is not None else None
        else:
            action = None
        if action is None:
            return []
        return [ResourceChange(action, RESOURCE_TYPE, f"{spec.short_name}-{i}",
                               f"urn:pulumi:{spec.name}::cloud-patterns::{RESOURCE_TYPE}::{spec.short_name}-{i}",
                               ("settings",) if action == "update" else ())
                for i in range(1, self.resources + 1)]

    def _apply(self, request: StackRequest, changes: list[ResourceChange]) -> StackResult:
        spec, operation = request.spec, request.operation
        counts = {"same": self.resources - len(changes)} if spec.name in self.state else {}
        for change in changes:
            counts[change.action] = counts.get(change.action, 0) + 1
        if operation is Operation.OUTPUTS or operation is Operation.REFRESH:
            if spec.name not in self.state:
                raise StackFailed(f"{spec.name} is not deployed: run up first")
            if operation is Operation.REFRESH:
                return StackResult({"same": self.resources})
            return StackResult({"same": self.resources}, outputs=self.outputs(spec))
        with self._lock:
            if operation is Operation.UP:
                self.state[spec.name] = fingerprint(spec.config)
            elif operation is Operation.DESTROY:
                self.state.pop(spec.name, None)
            if self.state_file and operation in (Operation.UP, Operation.DESTROY):
                self.state_file.write_text(json.dumps(self.state, indent=2))
        note = "not deployed: nothing to destroy" if operation is Operation.DESTROY and not changes else None
        return StackResult({k: v for k, v in counts.items() if v}, list(changes), note=note)
