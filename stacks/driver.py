"""The driver as a library: each command of ``python -m stacks`` is a function here.

    from stacks import driver

    summary = driver.up("dev", stacks=["tom-thumb"], with_deps=True, parallel=4)
    for outcome in summary.outcomes:
        print(outcome.stack, outcome.status.value, outcome.error or "")
    outputs = driver.outputs("dev", stacks=["network"]).outcome("dev-network").result.outputs

``run`` (and ``up``, ``preview``, ``refresh``, ``destroy``, ``outputs``) return a ``RunSummary``; they raise
``ProjectError`` (bad stack graph or selection, CLI or passphrase missing, destroy refused) before anything
runs. Pass ``engine=`` to use another engine (``stacks.simulated.SimulatedEngine`` runs without a cloud) and
``listener=`` to receive the events as they happen. Called from the main thread, Ctrl-C cancels cleanly.
"""
from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from stacks.orchestrator import Emit, Engine, Operation, Orchestrator, RunSummary, select
from planning.project import Environment, load_environment

T = TypeVar("T")
SIMULATE_VARIABLE = "STACKS_SIMULATE"


def environment_of(environment: str | Environment, project_dir: Path | None = None) -> Environment:
    return environment if isinstance(environment, Environment) else load_environment(environment, project_dir)


def default_engine(project_dir: Path | None = None, environment: str | None = None) -> Engine:
    """The Automation API engine for ``environment``'s stacks (its secrets: ``stacks.engine``); the simulated one
    when ``STACKS_SIMULATE`` names its settings file."""
    simulation = os.environ.get(SIMULATE_VARIABLE)
    if simulation:
        from stacks.simulated import SimulatedEngine
        return SimulatedEngine.from_file(Path(simulation))
    from stacks.engine import EngineSettings, PulumiEngine
    return PulumiEngine(EngineSettings.for_project(project_dir, environment=environment))


def run(environment: str | Environment, operation: Operation | str, stacks: list[str] | None = None, *,
        with_deps: bool = False, with_dependents: bool = False, parallel: int = 4, diff: bool = False,
        engine: Engine | None = None, listener: Emit | None = None, project_dir: Path | None = None,
        on_interrupt: Callable[[int], None] | None = None) -> RunSummary:
    """Runs ``operation`` over the selected stacks of ``environment`` (all of them when ``stacks`` is None)."""
    env = environment_of(environment, project_dir)
    names = select(env, stacks, with_deps, with_dependents)
    orchestrator = Orchestrator(engine or default_engine(project_dir, env.name), parallel, listener)
    return run_interruptibly(lambda: orchestrator.run(env, Operation(operation), names, diff), orchestrator,
                             on_interrupt)


def up(environment: str | Environment, stacks: list[str] | None = None, **options) -> RunSummary:
    return run(environment, Operation.UP, stacks, **options)


def preview(environment: str | Environment, stacks: list[str] | None = None, **options) -> RunSummary:
    return run(environment, Operation.PREVIEW, stacks, **options)


def refresh(environment: str | Environment, stacks: list[str] | None = None, **options) -> RunSummary:
    return run(environment, Operation.REFRESH, stacks, **options)


def destroy(environment: str | Environment, stacks: list[str] | None = None, **options) -> RunSummary:
    return run(environment, Operation.DESTROY, stacks, **options)


def outputs(environment: str | Environment, stacks: list[str] | None = None, **options) -> RunSummary:
    return run(environment, Operation.OUTPUTS, stacks, **options)


def run_interruptibly(work: Callable[[], T], orchestrator: Orchestrator,
                      on_interrupt: Callable[[int], None] | None = None) -> T:
    """Runs ``work`` in a thread while the main thread watches for Ctrl-C and SIGTERM: the first cancels the
    running stacks cleanly (``orchestrator.cancel()``), the next ones stop them at once. Returns when they did.

    During the run SIGINT only records that it came (no KeyboardInterrupt that could land anywhere, e.g.
    inside a lock); the cancel happens here, outside the signal handler, so it may take the locks it needs."""
    if threading.current_thread() is not threading.main_thread():
        return work()
    interrupts: list[int] = []
    # SIGTERM (a CI job cancelled, a container stopped) is handled as Ctrl-C: a run is never left unsupervised.
    previous = {number: signal.signal(number, lambda signum, frame: interrupts.append(signum))
                for number in (signal.SIGINT, signal.SIGTERM)}
    try:
        result: dict = {}
        done = threading.Event()

        def target() -> None:
            try:
                result["value"] = work()
            except BaseException as error:  # re-raised in the caller's thread
                result["error"] = error
            finally:
                done.set()

        threading.Thread(target=target, name="orchestrator", daemon=True).start()
        handled = 0
        while not done.wait(0.05):
            while handled < len(interrupts):
                handled += 1
                orchestrator.cancel(force=handled > 1)
                if on_interrupt is not None:
                    on_interrupt(handled)
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
    if "error" in result:
        raise result["error"]
    return result["value"]
