"""The engine against the real Pulumi CLI: up, outputs, resume, destroy refusal, destroy, and a Ctrl-C that
leaves no lock. A throwaway project whose stacks need no provider plugin and no cloud account: a local file
backend, the passphrase provider, a stack reference between two stacks.

The Pulumi CLI cannot be installed on the machines these tests are written on (no network but package
registries); the GitHub workflow installs it, and there these tests run."""
from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

import pytest
import yaml

from stacks import driver
from stacks.engine import CliNotFound, EngineSettings, PulumiEngine, find_cli
from stacks.orchestrator import DestroyRefused, Operation, Orchestrator, Status
from planning.project import Environment, StackSpec


def _cli_missing() -> bool:
    try:
        find_cli()
        return False
    except CliNotFound:
        return True


pytestmark = pytest.mark.skipif(_cli_missing(), reason="needs the Pulumi CLI (not installable here; the GitHub "
                                                       "workflow installs it): real up/destroy/cancel on a file backend")

PROGRAM = """\
import time
import pulumi

config = pulumi.Config()
time.sleep(config.get_float("sleep") or 0)
upstream = config.get("upstream")
if upstream:
    pulumi.export("seen", pulumi.StackReference(f"organization/drivertest/{upstream}").get_output("value"))
pulumi.export("value", config.get("value") or "v1")
"""


def write_config(project: Path, stack: str, **values) -> None:
    """Replaces the stack's config, keeping what the CLI added to the file (the passphrase's salt)."""
    path = project / f"Pulumi.{stack}.yaml"
    document = yaml.safe_load(path.read_text()) if path.exists() else {}
    document["config"] = {f"drivertest:{key}": value for key, value in values.items()}
    path.write_text(yaml.safe_dump(document))


@pytest.fixture
def project(tmp_path, monkeypatch):
    monkeypatch.setenv("PULUMI_CONFIG_PASSPHRASE", "driver-test-passphrase")
    monkeypatch.delenv("PULUMI_BACKEND_URL", raising=False)
    (tmp_path / "Pulumi.yaml").write_text(
        "name: drivertest\nruntime:\n  name: python\n  options:\n    toolchain: pip\n"
        f"    virtualenv: {sys.prefix}\n")
    (tmp_path / "__main__.py").write_text(PROGRAM)
    write_config(tmp_path, "qa-a", value="v1")
    write_config(tmp_path, "qa-b", upstream="qa-a")
    return tmp_path


def environment(project: Path) -> Environment:
    def spec(name: str, upstream: dict) -> StackSpec:
        return StackSpec(name=name, environment="qa", short_name=name[3:], program="drivertest", upstream=upstream,
                         config={}, path=project / f"Pulumi.{name}.yaml")
    return Environment("qa", {"qa-a": spec("qa-a", {}), "qa-b": spec("qa-b", {"a": "qa-a"})})


def test_up_outputs_resume_and_destroy_on_a_file_backend(project):
    engine = PulumiEngine(EngineSettings.for_project(project))
    env = environment(project)
    assert engine.settings.backend_url == f"file://{project.resolve()}/.pulumi-state"

    first = driver.up(env, engine=engine)
    assert first.ok, first.to_json()
    assert all(o.changed for o in first.outcomes)
    outputs = driver.outputs(env, engine=engine)
    assert outputs.outcome("qa-b").result.outputs["seen"].value == "v1"

    again = driver.up(env, engine=engine)  # resume: everything is already there
    assert again.ok and not any(o.changed for o in again.outcomes), again.to_json()
    assert driver.preview(env, engine=engine).ok

    with pytest.raises(DestroyRefused, match="qa-a .still deployed: qa-b"):
        driver.destroy(env, ["qa-a"], engine=engine)
    destroyed = driver.destroy(env, engine=engine)
    assert destroyed.ok and engine.deployed(["qa-a", "qa-b"]) == set()
    assert engine.settings.lock_files("qa-a") == [] and engine.settings.lock_files("qa-b") == []


def test_cancel_stops_the_update_cleanly_and_leaves_no_lock(project):
    write_config(project, "qa-a", value="v1", sleep=60)
    engine = PulumiEngine(EngineSettings.for_project(project))
    env = environment(project)
    orchestrator = Orchestrator(engine, parallel=2)
    result = {}
    runner = threading.Thread(target=lambda: result.update(summary=orchestrator.run(env, Operation.UP,
                                                                                       list(env.stacks))))
    runner.start()
    deadline = time.monotonic() + 60
    while not any("up" in args for args in engine.processes.running("qa-a")) and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(3)  # the engine has taken the lock and is running the (sleeping) program
    cancelled_at = time.monotonic()
    orchestrator.cancel()
    runner.join(50)
    assert not runner.is_alive() and time.monotonic() - cancelled_at < 50

    summary = result["summary"]
    assert summary.outcome("qa-a").status is Status.CANCELLED
    assert summary.outcome("qa-b").status is Status.CANCELLED  # never started
    assert engine.settings.lock_files("qa-a") == []
    write_config(project, "qa-a", value="v1")
    assert driver.up(env, engine=PulumiEngine(EngineSettings.for_project(project))).ok  # not locked
