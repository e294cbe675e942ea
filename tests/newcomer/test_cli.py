"""The rough edges a newcomer hit on the command line, each checked as a user meets it."""
from __future__ import annotations

import json
import re

import pytest
import typer.rich_utils
from rich.console import Console
from typer.testing import CliRunner

from planning.offline import MOCK_NOTE
from planning.project import load_environment
from stacks import cli
from stacks.engine import INSTALL_HINT, CliNotFound
from stacks.orchestrator import Operation

runner = CliRunner()


def flat(text: str) -> str:
    return " ".join(text.split())


@pytest.fixture(scope="module")
def dev_plan_text():
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(cli, "out", Console(width=250))  # one line per line, whatever the worker's terminal
        result = runner.invoke(cli.app, ["plan", "dev", "--offline", "--stack", "network", "--stack", "auth-sidecar"])
    assert result.exit_code == 0, result.output
    return result.stdout


def test_markdown_into_a_missing_directory_is_refused_before_anything_is_planned(monkeypatch, tmp_path):
    planned = []
    monkeypatch.setattr(cli, "offline_plans", lambda *args: planned.append(args) or [])
    for target in (tmp_path / "missing" / "plan.md", tmp_path):
        result = runner.invoke(cli.app, ["plan", "dev", "--offline", "--markdown", str(target)])
        assert result.exit_code == 2
        assert flat(result.stderr).startswith(f"error: --markdown {target}: ")
    assert planned == []
    assert "directory" in result.stderr and not (tmp_path / "missing").exists()


def test_preview_refuses_a_markdown_file_it_could_not_write_before_any_stack_runs(tmp_path, monkeypatch):
    simulation = tmp_path / "simulation.json"
    simulation.write_text(json.dumps({"state_file": "state.json"}))
    monkeypatch.setenv("STACKS_SIMULATE", str(simulation))
    result = runner.invoke(cli.app, ["preview", "dev", "--markdown", str(tmp_path / "no" / "such" / "x.md")])
    assert result.exit_code == 2 and "does not exist" in result.stderr
    assert result.stdout == ""  # no stack started: no progress, no summary


def test_the_text_plan_says_its_values_are_mocks_and_its_counts_agree(dev_plan_text):
    lines = dev_plan_text.splitlines()
    assert flat(lines[0]).startswith(f"dev: {MOCK_NOTE}"[:60])
    stack_lines = [re.search(r"(\d+) resources, (\d+) components$", line) for line in lines
                   if re.match(r"dev-[a-z-]+ program=", line)]
    assert len(stack_lines) == 2 and all(stack_lines)
    footer = re.search(r"dev: 2 stacks, (\d+) resources and (\d+) components planned offline \(mock values\)",
                       dev_plan_text)
    assert footer, dev_plan_text[-2000:]
    assert [int(footer[1]), int(footer[2])] == [sum(int(m[1]) for m in stack_lines),
                                                sum(int(m[2]) for m in stack_lines)]


def test_the_json_plan_is_marked_as_made_by_mocks_and_lists_placeholders():
    result = runner.invoke(cli.app, ["plan", "dev", "--offline", "--json", "--stack", "alerts",
                                     "--stack", "auth-sidecar"])
    assert result.exit_code == 0
    document = json.loads(result.stdout)
    assert document["mocks"] is True and document["note"] == MOCK_NOTE
    found = {(p["stack"], p["key"]): p["value"] for p in document["placeholders"]}
    assert found == {
        ("dev-alerts", "cloud-patterns:alerts.emails[0]"): "platform-alerts@example.com",
        ("dev-auth-sidecar", "cloud-patterns:auth_front.host_name"): "backoffice.dev.example.com",
        ("dev-auth-sidecar", "cloud-patterns:auth_front.certificate_arn"):
            load_environment("dev").stacks["dev-auth-sidecar"].config["cloud-patterns:auth_front"]["certificate_arn"],
        ("dev-auth-sidecar", "cloud-patterns:auth_sidecar.valid_domains[0]"): "example.com"}
    assert "warning: 4 placeholder values in the stack files" in flat(result.stderr)


def test_the_text_plan_warns_about_placeholders_by_file_and_key(dev_plan_text):
    text = flat(dev_plan_text)
    assert "warning: 3 placeholder values in the stack files" in text
    assert ("Pulumi.dev-auth-sidecar.yaml: cloud-patterns:auth_front.host_name = backoffice.dev.example.com "
            "(the example domain)") in text
    assert "Pulumi.dev-network.yaml" not in text.split("warning:")[1]


def test_cost_takes_with_deps_and_with_dependents():
    result = runner.invoke(cli.app, ["cost", "dev", "--stack", "label-proxy", "--with-deps", "--json"])
    assert result.exit_code == 0, result.output
    assert [s["stack"] for s in json.loads(result.stdout)["stacks"]] == [
        n for n in load_environment("dev").stacks if n in ("dev-alerts", "dev-label-detector", "dev-label-proxy")]
    result = runner.invoke(cli.app, ["cost", "dev", "--stack", "label-detector", "--with-dependents", "--json"])
    assert [s["stack"] for s in json.loads(result.stdout)["stacks"]] == [
        "dev-label-detector", "dev-label-proxy", "dev-dashboard"]


def test_every_command_that_acts_on_stacks_takes_the_selection_options_the_readme_promises():
    # README: "Every command that acts on stacks (all but `init` and `docs`) takes --stack, --with-deps and
    # --with-dependents"; `scan` once took only --stack.
    import inspect
    for command in cli.app.registered_commands:
        name = command.name or command.callback.__name__
        if name in ("init", "docs"):
            continue
        assert {"stack", "with_deps", "with_dependents"} <= set(inspect.signature(command.callback).parameters), name


def test_the_cli_missing_message_names_every_command_that_needs_no_cli(tmp_path, monkeypatch):
    commands = {c.name or c.callback.__name__ for c in cli.app.registered_commands}
    offline = commands - {o.value for o in Operation}
    assert {"graph", "plan", "cost", "docs", "init"} <= offline
    message = cli.cli_missing(CliNotFound(INSTALL_HINT))
    listed = message.split("Commands that need no CLI: ")[1].rstrip(".").split(", ")
    assert sorted(c.split()[0] for c in listed) == sorted(offline) and "plan --offline" in listed
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setenv("PULUMI_HOME", str(tmp_path))
    monkeypatch.delenv("STACKS_SIMULATE", raising=False)
    result = runner.invoke(cli.app, ["outputs", "dev"])
    assert result.exit_code == 2 and flat(result.stderr) == f"error: {message}"
    assert runner.invoke(cli.app, ["cost", "dev", "--stack", "alerts", "--json"]).exit_code == 0
    assert runner.invoke(cli.app, ["docs", "--check"]).exit_code == 0


def test_outputs_print_secret_cells_as_secret_and_their_values_when_asked(tmp_path, monkeypatch):
    simulation = tmp_path / "simulation.json"
    simulation.write_text(json.dumps({"default_duration": 0, "state_file": "state.json"}))
    monkeypatch.setenv("STACKS_SIMULATE", str(simulation))
    assert runner.invoke(cli.app, ["up", "dev", "--stack", "label-detector", "--json"]).exit_code == 0
    monkeypatch.setattr(cli, "out", Console(width=300))
    masked = runner.invoke(cli.app, ["outputs", "dev", "--stack", "label-detector"])
    row = next(line for line in masked.stdout.splitlines() if "caller_key" in line)
    assert masked.exit_code == 0 and re.search(r"caller_key\s+│\s+\[secret\]\s+│", row), masked.stdout
    shown = runner.invoke(cli.app, ["outputs", "dev", "--stack", "label-detector", "--show-secrets", "--json"])
    key = json.loads(shown.stdout)["stacks"]["dev-label-detector"]["caller_key"]
    assert key not in ("", "[secret]") and "[secret]" not in masked.stdout.replace(row, "")


def test_help_texts_show_square_brackets_literally(monkeypatch):
    monkeypatch.setattr(typer.rich_utils, "MAX_WIDTH", 400)
    checked = 0
    for command in cli.app.registered_commands:
        name = command.name or command.callback.__name__
        texts = [p.help for p in typer.main.get_command(cli.app).commands[name].params if p.help and "[" in p.help]
        if not texts:
            continue
        shown = flat(runner.invoke(cli.app, [name, "--help"]).stdout)
        for text in texts:
            literal = text.replace("\\[", "[")
            assert flat(literal) in shown, f"{name} --help: {literal!r} is not shown as written"
            checked += 1
    assert checked >= 1  # outputs --show-secrets: "[secret]"


def test_the_markdown_summary_of_the_offline_plan_lists_the_placeholders(tmp_path):
    summary = tmp_path / "plan.md"
    result = runner.invoke(cli.app, ["plan", "dev", "--offline", "--stack", "alerts", "--markdown", str(summary)])
    assert result.exit_code == 0, result.output
    text = summary.read_text()
    assert "1 placeholder value in the stack files: replace it" in text
    assert ("| `Pulumi.dev-alerts.yaml` | `cloud-patterns:alerts.emails[0]` | `platform-alerts@example.com` | "
            "the example domain |") in text
