"""The command line: CLI checks, graph, and the commands end to end over the simulated engine."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
from typer.testing import CliRunner

from stacks import cli
from stacks.engine import INSTALL_HINT, CliNotFound
from planning.offline import plan_environment
from planning.project import PROJECT_DIR, load_environment
from tests.driver.driver_support import make_environment

runner = CliRunner()


@pytest.fixture
def no_cli(tmp_path, monkeypatch):
    """An environment without the Pulumi CLI anywhere."""
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    monkeypatch.setenv("PULUMI_HOME", str(tmp_path / "no-pulumi-home"))
    monkeypatch.delenv("STACKS_SIMULATE", raising=False)


@pytest.mark.parametrize("command", [["up"], ["preview"], ["refresh"], ["outputs"], ["destroy", "--yes"],
                                     ["preview", "--stack", "network", "--with-dependents"]])
def test_commands_that_need_the_cli_say_how_to_install_it_before_anything_runs(no_cli, command):
    result = runner.invoke(cli.app, [command[0], "dev", *command[1:]])
    assert result.exit_code == 2
    assert " ".join(result.stderr.split()) == f"error: {cli.cli_missing(CliNotFound(INSTALL_HINT))}"


def test_graph_and_the_offline_plan_need_no_cli(tmp_path):
    environ = {**os.environ, "PATH": str(tmp_path), "PULUMI_HOME": str(tmp_path)}
    environ.pop("STACKS_SIMULATE", None)
    for command in (["graph", "dev", "--json"], ["plan", "dev", "--offline", "--stack", "network", "--json"]):
        result = subprocess.run([sys.executable, "-m", "stacks", *command], cwd=PROJECT_DIR, env=environ,
                                capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout)["environment"] == "dev"


def test_graph_text_mermaid_and_json_agree_with_the_stack_files():
    env = load_environment("dev")
    document = json.loads(runner.invoke(cli.app, ["graph", "dev", "--json"]).stdout)
    assert document["order"] == list(env.stacks)
    level_of = {name: i for i, level in enumerate(document["levels"]) for name in level}
    for stack in document["stacks"]:
        assert stack["depends_on"] == env.stacks[stack["name"]].depends_on
        assert all(level_of[u] < level_of[stack["name"]] for u in stack["depends_on"])
        assert level_of[stack["name"]] == 0 or any(level_of[u] == level_of[stack["name"]] - 1
                                                   for u in stack["depends_on"])

    mermaid = runner.invoke(cli.app, ["graph", "dev", "--mermaid"]).stdout.splitlines()
    assert mermaid[0] == "flowchart LR"
    edges = {line.strip() for line in mermaid if "-->" in line}
    assert edges == {f"{u.replace('-', '_')} --> {n.replace('-', '_')}"
                     for n, spec in env.stacks.items() for u in spec.depends_on}

    text = runner.invoke(cli.app, ["graph", "dev", "--stack", "network", "--with-dependents"]).stdout
    assert text.splitlines()[1].split()[:3] == ["level", "1", "dev-network"]
    downstream = env.dependents(["dev-network"])
    assert f"{len(downstream)} stacks" in text.splitlines()[0]
    assert all(name in text for name in downstream)


# ----- the commands over the simulated engine -----------------------------------------------------------
@pytest.fixture
def qa(tmp_path, monkeypatch):
    """A qa environment in a temporary project and a simulation in which qa-data fails."""
    project = tmp_path / "project"
    project.mkdir()
    env = make_environment(project)
    monkeypatch.setattr("planning.project.PROJECT_DIR", project)
    simulation = tmp_path / "simulation.json"
    simulation.write_text(json.dumps({"default_duration": 0.01, "failures": {"qa-data": "quota exceeded"},
                                      "state_file": "state.json"}))
    monkeypatch.setenv("STACKS_SIMULATE", str(simulation))
    return env, simulation


def json_lines(output: str) -> list[dict]:
    return [json.loads(line) for line in output.splitlines()]


def test_up_json_streams_events_then_the_summary_and_exits_1_on_failure(qa):
    env, _ = qa
    result = runner.invoke(cli.app, ["up", "qa", "--json", "--parallel", "2"])
    assert result.exit_code == 1
    events = json_lines(result.stdout)
    summary = events[-1]
    assert summary["event"] == "summary" and summary["ok"] is False and summary["exit_code"] == 1
    assert summary["failed"] == ["qa-data"] and summary["skipped"] == ["qa-api", "qa-web"]
    assert {s["stack"]: s.get("error") for s in summary["stacks"]}["qa-data"] == "quota exceeded"
    started = [e["stack"] for e in events if e["event"] == "stack-started"]
    finished = [e["stack"] for e in events if e["event"] == "stack-finished"]
    assert sorted(started) == sorted(["qa-network", "qa-data", "qa-worker", "qa-batch"])
    assert sorted(finished) == sorted(env.stacks)
    assert {e["event"] for e in events} == {"stack-started", "resource", "stack-finished", "summary"}


def test_up_prints_a_summary_naming_failures_and_skips(qa):
    result = runner.invoke(cli.app, ["up", "qa"])
    assert result.exit_code == 1
    lines = [" ".join(line.split()) for line in result.stdout.splitlines()]
    assert "failed qa-data" in lines and "quota exceeded" in lines
    assert "skipped qa-api: qa-data failed" in lines and "skipped qa-web: qa-api skipped" in lines
    assert any(line.startswith("done qa-network: 3 created") for line in lines)
    assert lines[-1].startswith("up qa: 3 succeeded, 1 failed, 2 skipped in ")


def test_destroy_refuses_then_confirms_then_runs(qa):
    assert runner.invoke(cli.app, ["up", "qa", "--json"]).exit_code == 1  # all but data, api, web deployed
    refused = runner.invoke(cli.app, ["destroy", "qa", "--stack", "network", "--yes"])
    assert refused.exit_code == 2
    assert "refusing to destroy qa-network (still deployed: qa-worker)" in " ".join(refused.stderr.split())

    unconfirmed = runner.invoke(cli.app, ["destroy", "qa", "--stack", "batch"])
    assert unconfirmed.exit_code == 2 and "pass --yes" in unconfirmed.stderr

    destroyed = runner.invoke(cli.app, ["destroy", "qa", "--stack", "network", "--with-dependents", "--yes", "--json"])
    assert destroyed.exit_code == 0  # qa-api and qa-web were never deployed: nothing to do for them
    summary = json_lines(destroyed.stdout)[-1]
    assert summary["totals"]["delete"] == 6  # network and worker
    notes = {s["stack"]: s.get("note") for s in summary["stacks"]}
    assert notes["qa-api"] == "not deployed: nothing to destroy"


def test_preview_writes_a_markdown_summary(qa, tmp_path):
    env, simulation = qa
    markdown = tmp_path / "preview.md"
    result = runner.invoke(cli.app, ["preview", "qa", "--markdown", str(markdown), "--json"])
    assert result.exit_code == 1
    text = markdown.read_text()
    assert "| `qa-network` | 3 | 0 | 0 | 0 | ✅ succeeded |" in text
    assert "| `qa-data` | – | – | – | – | ❌ failed |" in text
    assert "| `qa-api` | – | – | – | – | ⏭️ skipped |" in text
    assert "- `network-1` (simulated:index:Resource)" in text
    assert "quota exceeded" in text
    assert not (simulation.parent / "state.json").exists()  # a preview changes nothing


def test_outputs_json_are_the_offline_plans_outputs_and_name_stacks_not_deployed(qa):
    env, _ = qa
    runner.invoke(cli.app, ["up", "qa", "--stack", "batch"])
    document = json.loads(runner.invoke(cli.app, ["outputs", "qa", "--stack", "batch", "--json"]).stdout)
    planned = plan_environment(env, ["qa-batch"], workers=1)[0].outputs
    assert document["stacks"]["qa-batch"] == json.loads(json.dumps(planned))
    assert document["stacks"]["qa-batch"]["vpc_id"].startswith("vpc-")
    shown = runner.invoke(cli.app, ["outputs", "qa", "--stack", "batch", "--stack", "worker", "--json"])
    assert json.loads(shown.stdout)["errors"] == {"qa-worker": "qa-worker is not deployed: run up first"}
    assert shown.exit_code == 1


def test_ctrl_c_cancels_the_running_stacks_and_exits_130(tmp_path):
    simulation = tmp_path / "simulation.json"
    simulation.write_text(json.dumps({"default_duration": 30}))
    environ = {**os.environ, "STACKS_SIMULATE": str(simulation)}
    process = subprocess.Popen([sys.executable, "-m", "stacks", "up", "dev", "--json", "--parallel", "2"],
                               cwd=PROJECT_DIR, env=environ, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        first = json.loads(process.stdout.readline())
        assert first["event"] == "stack-started"
        began = time.monotonic()
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=20)
    finally:
        process.kill()
    assert process.returncode == 130
    assert time.monotonic() - began < 10
    summary = json.loads(stdout.splitlines()[-1])
    assert summary["cancelled"] == list(load_environment("dev").stacks) and summary["succeeded"] == []
    assert "cancelling: no new stack starts" in " ".join(stderr.split())
    assert "Traceback" not in stderr
