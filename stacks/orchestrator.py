"""Runs one operation over a set of stacks along their dependency graph, with any engine.

The engine (``stacks.engine.PulumiEngine`` on the Automation API, or ``stacks.simulated.SimulatedEngine``)
runs one stack; this module decides which stack runs when:

- upstream stacks first (``destroy``: dependents first), independent stacks in parallel, at most
  ``parallel`` at a time, the stacks with the longest chain of dependents first;
- a stack that fails marks everything downstream of it skipped, while stacks that do not depend on it
  carry on; the summary names the stacks that succeeded, failed (with the engine's error), were skipped
  (with the reason) or cancelled;
- ``cancel()`` (Ctrl-C) starts nothing new and asks the engine to cancel the running stacks cleanly, then
  waits for them to wind down, so no stack is left mid-update or locked;
- ``destroy`` refuses, before anything runs, to destroy a stack whose deployed dependents are not
  destroyed with it.

Running an operation again resumes: an engine brings each stack to its desired state, so stacks that are
already there report no changes.
"""
from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from enum import Enum
from typing import Any, Protocol

from stacks.changes import ACTIONS, ResourceChange, StackChanges
from planning.project import Environment, ProjectError, StackSpec


class Operation(str, Enum):
    UP = "up"
    PREVIEW = "preview"
    REFRESH = "refresh"
    DESTROY = "destroy"
    OUTPUTS = "outputs"

    @property
    def dependents_first(self) -> bool:
        return self is Operation.DESTROY

    @property
    def ordered(self) -> bool:
        """Reading outputs needs no order: every selected stack is read, whatever happens to the others."""
        return self is not Operation.OUTPUTS


class Status(str, Enum):
    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    SKIPPED = "skipped"
    CANCELLED = "cancelled"


class StackFailed(Exception):
    """The engine's error for one stack (a readable message, not a traceback)."""


class StackCancelled(Exception):
    """The stack's operation stopped because it was cancelled."""


class DestroyRefused(ProjectError):
    """Destroying the selection would orphan deployed dependents."""


# ----- what engines receive and return ------------------------------------------------------------
@dataclass(frozen=True)
class StackRequest:
    operation: Operation
    spec: StackSpec
    diff: bool = False
    """preview: also return the engine's rich diff text."""


@dataclass(frozen=True)
class StackOutput:
    value: Any
    secret: bool = False


@dataclass
class StackResult:
    changes: dict[str, int] = field(default_factory=dict)
    """The engine's count of steps per operation (create, update, same, …)."""
    resources: list[ResourceChange] = field(default_factory=list)
    """Resources created, updated, replaced or deleted (to be, for a preview), by name."""
    outputs: dict[str, StackOutput] | None = None
    diff: str | None = None
    note: str | None = None

    @property
    def changed(self) -> bool:
        return bool(self.resources) or any(n for op, n in self.changes.items() if op not in ("same", "read"))


# ----- events, for progress views and --json ------------------------------------------------------
@dataclass(frozen=True)
class StackStarted:
    stack: str
    operation: str
    kind = "stack-started"


@dataclass(frozen=True)
class ResourceEvent:
    stack: str
    phase: str
    """started, done or failed."""
    op: str
    type: str
    name: str
    urn: str
    kind = "resource"


@dataclass(frozen=True)
class Diagnostic:
    stack: str
    severity: str
    message: str
    urn: str | None = None
    kind = "diagnostic"


@dataclass(frozen=True)
class PolicyViolation:
    stack: str
    policy_pack: str
    policy: str
    enforcement: str
    message: str
    urn: str | None = None
    kind = "policy-violation"


@dataclass(frozen=True)
class StackFinished:
    outcome: StackOutcome
    kind = "stack-finished"

    @property
    def stack(self) -> str:
        return self.outcome.stack


DriverEvent = StackStarted | ResourceEvent | Diagnostic | PolicyViolation | StackFinished
Emit = Callable[[DriverEvent], None]


def event_json(event: DriverEvent, show_secrets: bool = False) -> dict:
    if isinstance(event, StackFinished):
        return {"event": event.kind, **event.outcome.to_json(show_secrets)}
    return {"event": event.kind, **asdict(event)}


class Engine(Protocol):
    def run(self, request: StackRequest, emit: Emit) -> StackResult:
        """Runs one stack's operation; raises StackFailed or StackCancelled. Called from worker threads."""

    def cancel(self, stack: str, force: bool = False) -> None:
        """Asks a running (or about to run) stack to stop cleanly; ``force`` stops it at once. Never blocks."""

    def deployed(self, stacks: list[str]) -> set[str]:
        """Which of ``stacks`` exist with resources in the backend."""


# ----- outcomes -----------------------------------------------------------------------------------
@dataclass
class StackOutcome:
    stack: str
    status: Status = Status.PENDING
    result: StackResult | None = None
    error: str | None = None
    reason: str | None = None
    """Why a stack was skipped or cancelled."""
    duration: float = 0.0

    @property
    def changed(self) -> bool:
        return self.result is not None and self.result.changed

    def to_json(self, show_secrets: bool = False) -> dict:
        document: dict[str, Any] = {"stack": self.stack, "status": self.status.value,
                                    "duration_seconds": round(self.duration, 3)}
        if self.error:
            document["error"] = self.error
        if self.reason:
            document["reason"] = self.reason
        if self.result is not None:
            document["changes"] = self.result.changes
            document["resources"] = [r.to_json() for r in self.result.resources]
            if self.result.note:
                document["note"] = self.result.note
            if self.result.outputs is not None:
                document["outputs"] = {k: v.value if show_secrets or not v.secret else "[secret]"
                                       for k, v in self.result.outputs.items()}
        return document


@dataclass
class RunSummary:
    environment: str
    operation: Operation
    outcomes: list[StackOutcome]
    duration: float = 0.0

    def named(self, status: Status) -> list[str]:
        return [o.stack for o in self.outcomes if o.status is status]

    def outcome(self, stack: str) -> StackOutcome:
        return next(o for o in self.outcomes if o.stack == stack)

    @property
    def ok(self) -> bool:
        return all(o.status is Status.SUCCEEDED for o in self.outcomes)

    @property
    def exit_code(self) -> int:
        if self.ok:
            return 0
        return 130 if self.named(Status.CANCELLED) else 1

    def stack_changes(self) -> list[StackChanges]:
        """Per stack, what the run changed (or, for a preview, would change): for summaries."""
        return [StackChanges(o.stack, list(o.result.resources) if o.result else [], o.status.value,
                             o.error or o.reason, o.result.note if o.result else None)
                for o in self.outcomes]

    def totals(self) -> dict[str, int]:
        """Resources created, updated, replaced and deleted (to be, for a preview) over all stacks."""
        resources = [r for o in self.outcomes if o.result for r in o.result.resources]
        return {action: sum(r.action == action for r in resources) for action in ACTIONS}

    def to_json(self, show_secrets: bool = False) -> dict:
        return {"event": "summary", "environment": self.environment, "operation": self.operation.value,
                "ok": self.ok, "exit_code": self.exit_code, "duration_seconds": round(self.duration, 3),
                **{status.value: self.named(status) for status in
                   (Status.SUCCEEDED, Status.FAILED, Status.SKIPPED, Status.CANCELLED)},
                "totals": self.totals(),
                "stacks": [o.to_json(show_secrets) for o in self.outcomes]}


# ----- selection and checks -----------------------------------------------------------------------
def select(environment: Environment, selections: list[str] | None = None, with_deps: bool = False,
           with_dependents: bool = False) -> list[str]:
    """Full stack names for ``--stack`` selections (all stacks when none), in dependency order.

    ``with_dependents`` adds every stack downstream of the selection; ``with_deps`` every stack upstream
    of it (and of the dependents added)."""
    names = environment.resolve(selections)
    if with_dependents:
        names = environment.dependents(names)
    if with_deps:
        names = environment.dependencies(names)
    return names


def check_destroy(environment: Environment, names: list[str], deployed: set[str]) -> None:
    """Refuses to destroy a stack while a deployed stack that depends on it is not destroyed with it."""
    problems = []
    for name in names:
        left = [d for d in environment.dependents([name]) if d != name and d not in names and d in deployed]
        if left:
            problems.append(f"{name} (still deployed: {', '.join(left)})")
    if problems:
        raise DestroyRefused(
            f"refusing to destroy {'; '.join(problems)}: stacks that depend on it read its outputs. Select "
            f"them too (--with-dependents) or destroy them first.")


def critical_path(environment: Environment, names: list[str], durations: dict[str, float]) -> float:
    """The longest chain of ``durations`` through the graph: the least wall time any schedule can take."""
    finish: dict[str, float] = {}
    for name in names:  # dependency order
        upstream = [finish[u] for u in environment.stacks[name].depends_on if u in finish]
        finish[name] = max(upstream, default=0.0) + durations[name]
    return max(finish.values(), default=0.0)


# ----- the runner ---------------------------------------------------------------------------------
_WAKE = object()


class Orchestrator:
    """Runs operations over stacks with ``engine``, at most ``parallel`` stacks at a time.

    ``listener`` receives every event (stack started/finished, resource operations, diagnostics), one at
    a time. ``cancel()`` may be called from any thread; once cancelled, an orchestrator starts no stack."""

    def __init__(self, engine: Engine, parallel: int = 4, listener: Emit | None = None):
        if parallel < 1:
            raise ValueError(f"parallel must be at least 1, not {parallel}")
        self.engine = engine
        self.parallel = parallel
        self._listener = listener
        self._listener_lock = threading.Lock()
        self._state_lock = threading.Lock()
        self._cancel_requested = threading.Event()
        self._running: set[str] = set()
        self._wakeups: queue.Queue = queue.Queue()

    # -- public --
    def run(self, environment: Environment, operation: Operation, names: list[str],
            diff: bool = False) -> RunSummary:
        unknown = [n for n in names if n not in environment.stacks]
        if unknown:
            raise ProjectError(f"not stacks of {environment.name}: {', '.join(unknown)}")
        names = [n for n in environment.stacks if n in names]
        if operation is Operation.DESTROY:
            check_destroy(environment, names, self.engine.deployed(environment.dependents(names)))
        started = time.monotonic()
        outcomes = self._run_graph(environment, operation, names, diff)
        return RunSummary(environment.name, operation, [outcomes[n] for n in names], time.monotonic() - started)

    def cancel(self, force: bool = False) -> None:
        """Starts no further stack and asks the engine to stop the running ones (at once if ``force``)."""
        self._cancel_requested.set()
        with self._state_lock:
            running = list(self._running)
        for name in running:
            self.engine.cancel(name, force=force)
        self._wakeups.put(_WAKE)

    @property
    def cancelled(self) -> bool:
        return self._cancel_requested.is_set()

    # -- internals --
    def _emit(self, event: DriverEvent) -> None:
        if self._listener is not None:
            with self._listener_lock:
                self._listener(event)

    def _prerequisites(self, environment: Environment, operation: Operation, names: list[str]) -> dict[str, set]:
        if not operation.ordered:
            return {n: set() for n in names}
        selected = set(names)
        upstream = {n: set(environment.stacks[n].depends_on) & selected for n in names}
        if not operation.dependents_first:
            return upstream
        return {n: {d for d in names if n in upstream[d]} for n in names}

    @staticmethod
    def _heights(order: list[str], prerequisites: dict[str, set]) -> dict[str, int]:
        """Length of the longest chain of stacks waiting on each stack: schedule the tallest first."""
        height = {n: 1 for n in order}
        for name in reversed(order):
            for prerequisite in prerequisites[name]:
                height[prerequisite] = max(height[prerequisite], height[name] + 1)
        return height

    def _run_graph(self, environment: Environment, operation: Operation, names: list[str],
                   diff: bool) -> dict[str, StackOutcome]:
        order = list(reversed(names)) if operation.dependents_first else list(names)
        prerequisites = self._prerequisites(environment, operation, names)
        height = self._heights(order, prerequisites)
        outcomes = {n: StackOutcome(n) for n in names}
        pending = list(order)
        finished = self._wakeups

        def work(name: str) -> None:
            """Runs one stack in a worker thread; its outcome is recorded by the scheduling loop."""
            outcome = StackOutcome(name, Status.FAILED)
            began = time.monotonic()
            try:
                outcome.result = self.engine.run(StackRequest(operation, environment.stacks[name], diff), self._emit)
                outcome.status = Status.SUCCEEDED
            except StackCancelled as cancelled:
                outcome.status, outcome.reason = Status.CANCELLED, str(cancelled) or "cancelled while running"
            except StackFailed as failure:
                outcome.error = str(failure)
            except Exception as error:  # an engine's bug must not bring down the other stacks
                outcome.error = f"{type(error).__name__}: {error}"
            if outcome.status is Status.FAILED and self.cancelled:
                outcome.status, outcome.reason = Status.CANCELLED, f"cancelled ({outcome.error})"
            outcome.duration = time.monotonic() - began
            finished.put(outcome)

        with ThreadPoolExecutor(max_workers=self.parallel, thread_name_prefix="stack") as pool:
            while pending or self._running:
                self._settle_blocked(pending, prerequisites, outcomes)
                ready = sorted((n for n in pending if all(outcomes[p].status is Status.SUCCEEDED
                                                          for p in prerequisites[n])),
                               key=lambda n: (-height[n], order.index(n)))
                for name in ready[:max(0, self.parallel - len(self._running))]:
                    pending.remove(name)
                    outcomes[name].status = Status.RUNNING
                    with self._state_lock:
                        self._running.add(name)
                    self._emit(StackStarted(name, operation.value))
                    if self.cancelled:  # cancel() may have missed a stack that started just now
                        self.engine.cancel(name)
                    pool.submit(work, name)
                if not self._running:
                    if pending:  # cannot happen with an acyclic graph; never spin
                        raise RuntimeError(f"stacks can neither run nor be skipped: {pending}")
                    break
                item = finished.get()
                if item is _WAKE:
                    continue
                outcomes[item.stack] = item
                with self._state_lock:
                    self._running.discard(item.stack)
                self._emit(StackFinished(item))
        return outcomes

    def _settle_blocked(self, pending: list[str], prerequisites: dict[str, set],
                        outcomes: dict[str, StackOutcome]) -> None:
        """Marks pending stacks that will not run: all of them after a cancel, else those whose prerequisites
        failed, were skipped or were cancelled. ``pending`` is in run order, so a skip cascades in one pass."""
        for name in list(pending):
            outcome = outcomes[name]
            if self.cancelled:
                outcome.status, outcome.reason = Status.CANCELLED, "not started: the run was cancelled"
            else:
                blocked = [p for p in sorted(prerequisites[name])
                           if outcomes[p].status in (Status.FAILED, Status.SKIPPED, Status.CANCELLED)]
                if not blocked:
                    continue
                outcome.status = Status.SKIPPED
                outcome.reason = "; ".join(f"{p} {outcomes[p].status.value}" for p in blocked)
            pending.remove(name)
            self._emit(StackFinished(outcome))
