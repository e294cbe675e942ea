"""The graph runner, with the simulated engine injected: order, parallelism, failures, resume, destroy, cancel."""
from __future__ import annotations

import threading
import time

import pytest

from stacks import driver
from stacks.orchestrator import (DestroyRefused, Operation, Orchestrator, ResourceEvent, StackFinished,
                                 StackOutput, StackStarted, Status, critical_path, select)
from planning.project import ProjectError
from stacks.simulated import SimulatedEngine
from tests.driver.driver_support import make_environment


@pytest.fixture
def env(tmp_path):
    return make_environment(tmp_path)


def started_order(engine: SimulatedEngine) -> list[str]:
    return [name for _, name in engine.started]


def test_up_starts_each_stack_after_its_upstream_and_independent_ones_together(env):
    engine = SimulatedEngine(default_duration=0.15)
    summary = Orchestrator(engine, parallel=6).run(env, Operation.UP, list(env.stacks))

    assert summary.ok and summary.exit_code == 0
    assert summary.named(Status.SUCCEEDED) == list(env.stacks)
    for name, spec in env.stacks.items():
        for upstream in spec.depends_on:
            assert engine.intervals[upstream][1] <= engine.intervals[name][0], f"{name} started before {upstream}"
    # network, data and batch depend on nothing: they ran at the same time
    first_round = {"qa-network", "qa-data", "qa-batch"}
    latest_start = max(engine.intervals[n][0] for n in first_round)
    earliest_end = min(engine.intervals[n][1] for n in first_round)
    assert latest_start < earliest_end
    assert all(o.changed and o.result.changes == {"create": 3} for o in summary.outcomes)


def test_parallelism_is_bounded(tmp_path):
    env = make_environment(tmp_path, {f"s{i}": [] for i in range(6)})
    engine = SimulatedEngine(default_duration=0.05)
    Orchestrator(engine, parallel=2).run(env, Operation.UP, list(env.stacks))
    assert engine.max_active == 2

    engine = SimulatedEngine(default_duration=0.02)
    Orchestrator(engine, parallel=6).run(env, Operation.UP, list(env.stacks))
    assert engine.max_active == 6

    engine = SimulatedEngine(default_duration=0.01)
    Orchestrator(engine, parallel=1).run(env, Operation.UP, list(env.stacks))
    assert engine.max_active == 1
    with pytest.raises(ValueError, match="at least 1"):
        Orchestrator(engine, parallel=0)


def test_the_longest_chain_starts_first(tmp_path):
    env = make_environment(tmp_path, {"a1": [], "a2": [], "a3": [], "c1": [], "c2": ["c1"], "c3": ["c2"]})
    engine = SimulatedEngine(default_duration=0.01)
    Orchestrator(engine, parallel=1).run(env, Operation.UP, list(env.stacks))
    assert list(env.stacks)[0] == "qa-a1"  # dependency order alone would start a short stack first
    # the stack with the longest chain of stacks waiting on it goes first, then the next of the chain
    assert started_order(engine)[:2] == ["qa-c1", "qa-c2"]


def test_a_failure_skips_its_dependents_while_independent_stacks_carry_on(env):
    engine = SimulatedEngine(default_duration=0.05, failures={"qa-data": "creating RDS instance: AccessDenied"})
    events = []
    summary = Orchestrator(engine, parallel=4, listener=events.append).run(env, Operation.UP, list(env.stacks))

    assert summary.named(Status.FAILED) == ["qa-data"]
    assert summary.named(Status.SKIPPED) == ["qa-api", "qa-web"]
    assert set(summary.named(Status.SUCCEEDED)) == {"qa-network", "qa-worker", "qa-batch"}
    assert summary.outcome("qa-data").error == "creating RDS instance: AccessDenied"
    assert summary.outcome("qa-api").reason == "qa-data failed"
    assert summary.outcome("qa-web").reason == "qa-api skipped"
    assert "qa-api" not in started_order(engine) and "qa-web" not in started_order(engine)
    assert summary.exit_code == 1 and not summary.ok
    document = summary.to_json()
    assert document["failed"] == ["qa-data"] and document["skipped"] == ["qa-api", "qa-web"]
    assert document["totals"]["create"] == 9  # network, worker, batch: 3 each
    finished = [e.stack for e in events if isinstance(e, StackFinished)]
    assert sorted(finished) == sorted(env.stacks)  # every stack is reported once, skipped ones included
    assert len([e for e in events if isinstance(e, StackStarted)]) == 4


def test_running_again_resumes_and_stacks_already_up_to_date_report_no_changes(env):
    engine = SimulatedEngine(default_duration=0.01, failures={"qa-data": "quota exceeded"})
    first = Orchestrator(engine, parallel=4).run(env, Operation.UP, list(env.stacks))
    assert first.exit_code == 1

    del engine.failures["qa-data"]  # the cause is fixed
    second = Orchestrator(engine, parallel=4).run(env, Operation.UP, list(env.stacks))
    assert second.ok
    unchanged = {o.stack for o in second.outcomes if not o.changed}
    assert unchanged == {"qa-network", "qa-worker", "qa-batch"}
    assert second.outcome("qa-network").result.changes == {"same": 3}
    assert {o.stack for o in second.outcomes if o.changed} == {"qa-data", "qa-api", "qa-web"}

    third = Orchestrator(engine, parallel=4).run(env, Operation.UP, list(env.stacks))
    assert third.ok and not any(o.changed for o in third.outcomes)
    assert third.totals() == {"create": 0, "update": 0, "replace": 0, "delete": 0}


def test_destroy_runs_dependents_first(env):
    engine = SimulatedEngine(default_duration=0.02)
    Orchestrator(engine, parallel=4).run(env, Operation.UP, list(env.stacks))
    engine.started.clear()

    summary = Orchestrator(engine, parallel=4).run(env, Operation.DESTROY, list(env.stacks))
    assert summary.ok
    for name, spec in env.stacks.items():
        for upstream in spec.depends_on:  # the upstream stack is destroyed after the stack reading it
            assert engine.intervals[name][1] <= engine.intervals[upstream][0]
    assert engine.deployed(list(env.stacks)) == set()
    assert summary.totals()["delete"] == 18


def test_destroy_refuses_while_deployed_dependents_are_not_selected(env):
    engine = SimulatedEngine(default_duration=0.01)
    Orchestrator(engine).run(env, Operation.UP, list(env.stacks))
    engine.started.clear()

    with pytest.raises(DestroyRefused) as refused:
        Orchestrator(engine).run(env, Operation.DESTROY, select(env, ["network"]))
    still_deployed = ", ".join(n for n in env.stacks if n in {"qa-api", "qa-web", "qa-worker"})
    assert f"refusing to destroy qa-network (still deployed: {still_deployed})" in str(refused.value)
    assert "--with-dependents" in str(refused.value)
    assert engine.started == []  # refused before anything ran

    summary = Orchestrator(engine).run(env, Operation.DESTROY, select(env, ["network"], with_dependents=True))
    assert summary.ok
    assert set(summary.named(Status.SUCCEEDED)) == {"qa-network", "qa-api", "qa-web", "qa-worker"}
    assert engine.deployed(list(env.stacks)) == {"qa-data", "qa-batch"}
    # what is left has no deployed dependents any more: destroying data alone is allowed now
    assert Orchestrator(engine).run(env, Operation.DESTROY, ["qa-data"]).ok


def test_a_stack_never_deployed_does_not_block_destroy(env):
    engine = SimulatedEngine(default_duration=0.01)
    Orchestrator(engine).run(env, Operation.UP, ["qa-network"])
    summary = Orchestrator(engine).run(env, Operation.DESTROY, ["qa-network"])
    assert summary.ok and summary.outcome("qa-network").result.resources[0].action == "delete"


def test_cancel_stops_running_stacks_cleanly_and_starts_no_other(env):
    engine = SimulatedEngine(default_duration=30)
    orchestrator = Orchestrator(engine, parallel=2)
    result = {}
    runner = threading.Thread(target=lambda: result.update(summary=orchestrator.run(env, Operation.UP,
                                                                                       list(env.stacks))))
    began = time.monotonic()
    runner.start()
    while len(engine.active) < 2:
        time.sleep(0.01)
    running = set(engine.active)
    orchestrator.cancel()
    runner.join(10)
    assert not runner.is_alive() and time.monotonic() - began < 10

    summary = result["summary"]
    assert set(summary.named(Status.CANCELLED)) == set(env.stacks)
    assert {o.stack for o in summary.outcomes if o.reason == "not started: the run was cancelled"} == \
        set(env.stacks) - running
    assert sorted(engine.cancel_calls) == sorted((name, False) for name in running)
    assert engine.active == set()  # the run returned only once every running update had stopped
    assert started_order(engine) == sorted(running, key=started_order(engine).index)
    assert summary.exit_code == 130


def test_cancel_before_a_stack_starts_reaches_the_engine(env):
    engine = SimulatedEngine(default_duration=30)
    orchestrator = Orchestrator(engine, parallel=6)
    orchestrator.cancel()
    summary = orchestrator.run(env, Operation.UP, list(env.stacks))
    assert set(summary.named(Status.CANCELLED)) == set(env.stacks) and engine.started == []


def test_resource_events_reach_the_listener_in_order_per_stack(env):
    engine = SimulatedEngine(default_duration=0.01, resources=2)
    events = []
    Orchestrator(engine, listener=events.append).run(env, Operation.UP, ["qa-batch"])
    kinds = [(type(e).__name__, getattr(e, "phase", None)) for e in events]
    assert kinds == [("StackStarted", None), ("ResourceEvent", "started"), ("ResourceEvent", "started"),
                     ("ResourceEvent", "done"), ("ResourceEvent", "done"), ("StackFinished", None)]
    assert [e.name for e in events if isinstance(e, ResourceEvent)] == ["batch-1", "batch-2"] * 2


def test_selection_with_dependencies_and_dependents(env):
    assert select(env, ["api"]) == ["qa-api"]
    assert select(env, ["api"], with_deps=True) == [n for n in env.stacks if n in {"qa-network", "qa-data", "qa-api"}]
    assert select(env, ["data"], with_dependents=True) == [n for n in env.stacks if n in {"qa-data", "qa-api", "qa-web"}]
    assert set(select(env, ["data"], with_deps=True, with_dependents=True)) == {
        "qa-data", "qa-api", "qa-web", "qa-network"}  # the dependents' own upstream stacks come too
    with pytest.raises(ProjectError, match="--stack nope: no such stack in qa"):
        select(env, ["nope"])


def test_outputs_are_read_from_every_selected_stack_whatever_the_others_do(env):
    engine = SimulatedEngine(default_duration=0.01, outputs=lambda spec: {
        "stack": StackOutput(spec.name), "token": StackOutput("simulated-secret", secret=True)})
    Orchestrator(engine).run(env, Operation.UP, ["qa-network"])
    summary = driver.outputs(env, ["network", "api"], engine=engine)
    assert summary.outcome("qa-network").result.outputs["stack"].value == "qa-network"
    assert summary.outcome("qa-network").to_json()["outputs"]["token"] == "[secret]"
    assert summary.outcome("qa-api").status is Status.FAILED  # not deployed; nothing was skipped for it
    assert "not deployed" in summary.outcome("qa-api").error


def test_critical_path_of_known_durations(env):
    durations = {"qa-network": 3, "qa-data": 5, "qa-api": 2, "qa-web": 1, "qa-worker": 4, "qa-batch": 1}
    assert critical_path(env, list(env.stacks), durations) == 8  # data -> api -> web
