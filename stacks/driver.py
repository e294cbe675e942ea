"""The driver as a library: each cloud command of ``python -m stacks`` (``up``, ``preview``, ``refresh``,
``destroy``, ``outputs``) is a function here; the offline ones are ``planning.offline.plan_environment``
(``plan --offline``), ``stacks.cost.estimate`` (``cost``) and ``stacks.graph`` (``graph``). docs/driver.md
is the reference.

    from stacks import driver

    summary = driver.up("dev", stacks=["tom-thumb"], with_deps=True, parallel=4)
    for outcome in summary.outcomes:
        print(outcome.stack, outcome.status.value, outcome.error or "")
    outputs = driver.outputs("dev", stacks=["network"]).outcome("dev-network").result.outputs
    print(outputs["vpc_id"].value)

Every function takes the same options as ``run`` (below) and returns a ``RunSummary``: one ``StackOutcome``
per selected stack (``status``: succeeded, failed, skipped or cancelled; ``error``, ``reason``, ``result`` with
its ``changes``, ``resources`` and, for ``outputs``, ``outputs``: name -> ``StackOutput(value, secret)``) and
``exit_code`` (0 all succeeded, 1 something failed or was skipped, 130 cancelled), as the command line exits.
A stack that fails does not raise: it is an outcome, and its dependents are skipped.

Raised before anything runs (every one a ``planning.project.ProjectError``, whose message says what to fix):

- ``ProjectError``: the stack files cannot be run as a whole (no ``Pulumi.<env>-*.yaml``, invalid YAML, an
  unknown program, an upstream stack that does not exist or belongs to another environment, a cycle), or a
  ``stacks`` selection names no stack of the environment;
- ``stacks.engine.CliNotFound``: the Pulumi CLI is not installed (the default engine needs it);
- ``stacks.engine.SecretsNotConfigured``: no passphrase for the stacks' secrets (``PULUMI_CONFIG_PASSPHRASE``,
  ``PULUMI_CONFIG_PASSPHRASE_FILE`` or ``PULUMI_CONFIG_PASSPHRASE_<ENV>``; not needed when
  ``PULUMI_SECRETS_PROVIDER_<ENV>`` names another provider);
- ``stacks.orchestrator.DestroyRefused`` (``destroy``): a deployed stack depends on one selected and is not
  selected itself.

``ValueError`` for a ``parallel`` below 1 or an ``operation`` that is not one of the above. With
``STACKS_SIMULATE=<settings.json>`` in the environment the default engine is ``stacks.simulated.SimulatedEngine``
(no cloud, no CLI: a dry run whose outputs are the offline plan's).
"""
from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from planning.project import Environment, load_environment
from stacks.orchestrator import Emit, Engine, Operation, Orchestrator, RunSummary, select

T = TypeVar("T")
SIMULATE_VARIABLE = "STACKS_SIMULATE"


def environment_of(environment: str | Environment, project_dir: Path | None = None) -> Environment:
    return environment if isinstance(environment, Environment) else load_environment(environment, project_dir)


def default_engine(project_dir: Path | None = None, environment: str | None = None) -> Engine:
    """The Automation API engine for ``environment``'s stacks (its secrets: ``stacks.engine``); the simulated one
    when ``STACKS_SIMULATE`` names its settings file.

    Raises ``CliNotFound`` and ``SecretsNotConfigured`` (the Automation API engine only)."""
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
    """Runs ``operation`` over the selected stacks of ``environment`` (all of them when ``stacks`` is None).

    - ``environment``: its name (``"dev"``: the ``Pulumi.dev-*.yaml`` files) or a loaded ``Environment``.
    - ``operation``: an ``Operation`` or its value: ``up``, ``preview``, ``refresh``, ``destroy``, ``outputs``.
    - ``stacks``: short (``network``) or full (``dev-network``) names; None: every stack of the environment.
    - ``with_deps``: also the stacks the selected ones read (upstream); ``with_dependents``: also the stacks that
      read them (downstream). As ``--with-deps`` and ``--with-dependents``.
    - ``parallel``: at most this many stacks at once (independent stacks only; upstream always first, for
      ``destroy`` dependents first).
    - ``diff``: ``preview`` only: each result's ``diff`` holds the engine's property-level diff text.
    - ``engine``: what runs each stack; default ``default_engine`` (the Automation API, or the simulated engine
      under ``STACKS_SIMULATE``). Any object with ``run``, ``cancel`` and ``deployed`` (``stacks.orchestrator.
      Engine``), e.g. ``stacks.simulated.SimulatedEngine()``.
    - ``listener``: called with every event as it happens (``StackStarted``, ``ResourceEvent``, ``Diagnostic``,
      ``PolicyViolation``, ``StackFinished``), one at a time.
    - ``project_dir``: the directory of ``Pulumi.yaml`` and the stack files; default this project.
    - ``on_interrupt``: called with 1, 2, … for each Ctrl-C or SIGTERM (the first cancels cleanly, the next stop
      at once); only when called from the main thread, which then watches for them.

    ``destroy`` does not ask for confirmation (the command line does). Raises what the module's docstring
    lists, before anything runs."""
    env = environment_of(environment, project_dir)
    names = select(env, stacks, with_deps, with_dependents)
    orchestrator = Orchestrator(engine or default_engine(project_dir, env.name), parallel, listener)
    return run_interruptibly(lambda: orchestrator.run(env, Operation(operation), names, diff), orchestrator,
                             on_interrupt)


def up(environment: str | Environment, stacks: list[str] | None = None, **options) -> RunSummary:
    """Creates or updates the stacks, upstream first (``python -m stacks up``). ``options``: those of ``run``."""
    return run(environment, Operation.UP, stacks, **options)


def preview(environment: str | Environment, stacks: list[str] | None = None, **options) -> RunSummary:
    """What ``up`` would change, with the deployed state; changes nothing (``preview``; ``diff=True`` adds each
    stack's diff text). ``options``: those of ``run``."""
    return run(environment, Operation.PREVIEW, stacks, **options)


def refresh(environment: str | Environment, stacks: list[str] | None = None, **options) -> RunSummary:
    """Brings each stack's state in line with the cloud (``refresh``). ``options``: those of ``run``."""
    return run(environment, Operation.REFRESH, stacks, **options)


def destroy(environment: str | Environment, stacks: list[str] | None = None, **options) -> RunSummary:
    """Deletes the stacks' resources, dependents first, without asking (``destroy --yes``); raises
    ``DestroyRefused`` while a deployed dependent is not selected. ``options``: those of ``run``."""
    return run(environment, Operation.DESTROY, stacks, **options)


def outputs(environment: str | Environment, stacks: list[str] | None = None, **options) -> RunSummary:
    """Reads each stack's outputs (``outputs``): ``outcome(name).result.outputs`` maps a name to a
    ``StackOutput(value, secret)``; a stack never deployed is a failed outcome. ``options``: those of ``run``."""
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
