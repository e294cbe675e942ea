"""Shared fixtures: run a program under the SDK's mock engine, the way the offline plan does."""
from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from planning.offline import RecordingMonitor, StackPlan, evaluate_stack, plan_environment
from planning.project import PROJECT, StackSpec, load_environment


@functools.cache
def planned(environment: str) -> tuple[StackPlan, ...]:
    """The offline plans of every stack of ``dev`` or ``prod``, planned once per test process (read-only)."""
    return tuple(plan_environment(load_environment(environment)))


def make_spec(program: str, config: dict[str, Any] | None = None, *, environment: str = "test",
              short_name: str | None = None, upstream: dict[str, str] | None = None,
              region: str = "us-east-1") -> StackSpec:
    short_name = short_name or program
    full_config = {"aws:region": region, f"{PROJECT}:program": program, f"{PROJECT}:environment": environment,
                   **({f"{PROJECT}:upstream": upstream} if upstream else {})}
    for key, value in (config or {}).items():
        full_config[key if ":" in key else f"{PROJECT}:{key}"] = value
    return StackSpec(name=f"{environment}-{short_name}", environment=environment, short_name=short_name,
                     program=program, upstream=upstream or {}, config=full_config, path=Path("."))


def run_program(program: str, config: dict[str, Any] | None = None, *, upstream_outputs: dict | None = None,
                monitor: RecordingMonitor | None = None, mocks=None, **spec_kwargs) -> StackPlan:
    """Evaluates ``programs/<program>.py`` with ``config`` (keys without namespace are the project's)."""
    return evaluate_stack(make_spec(program, config, **spec_kwargs), upstream_outputs or {}, monitor, mocks)


@pytest.fixture(scope="session")
def network_outputs() -> dict[str, dict]:
    """The outputs of a planned dev-style network stack, keyed as upstream stacks are (``test-network``)."""
    plan = run_program("network", {"network": {"nat_strategy": "none"}})
    return {"test-network": plan.outputs}


def run_components(main, config: dict[str, Any] | None = None, **kwargs) -> StackPlan:
    """Runs ``main`` (code that builds components) under the mock engine, as a stack of a test program."""
    return evaluate_stack(make_spec("network", config, short_name="components"), kwargs.pop("upstream_outputs", {}),
                          kwargs.pop("monitor", None), kwargs.pop("mocks", None), main=main)


@contextmanager
def moto_server() -> Iterator[str]:
    """moto in server mode on 127.0.0.1 and an ephemeral port; yields its endpoint URL."""
    from moto.server import ThreadedMotoServer  # here: most tests never need it

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()
