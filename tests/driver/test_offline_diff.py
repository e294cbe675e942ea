"""``plan --offline --diff-against``: a temporary git repository holding a copy of the project, a commit, and a
known change in the working tree (a resource added, one changed, one removed, a stack added, one removed)."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from planning.project import PROJECT_DIR
from tests.driver.driver_support import write_stack

# A program of the test repository only: one log group per entry of its config.
SAMPLE_PROGRAM = '''\
"""Test program: a CloudWatch log group per entry of cloud-patterns:sample.groups (name: retention days)."""
import pulumi
import pulumi_aws as aws


def main() -> None:
    for name, days in pulumi.Config().require_object("sample")["groups"].items():
        aws.cloudwatch.LogGroup(name, retention_in_days=days)
'''
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"


def git(repository: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repository), *args], check=True, capture_output=True, text=True).stdout


def sample_stack(repository: Path, short: str, groups: dict[str, int]) -> Path:
    path = write_stack(repository, "qa", short, [], program="sample")
    path.write_text(path.read_text() + "  cloud-patterns:sample:\n    groups:\n"
                    + "".join(f"      {name}: {days}\n" for name, days in groups.items()))
    return path


@pytest.fixture(scope="module")
def repository(tmp_path_factory) -> Path:
    """The project's code (not its stacks) in a new repository, with a qa environment committed."""
    repository = tmp_path_factory.mktemp("repository") / "project"
    shutil.copytree(PROJECT_DIR, repository, ignore=shutil.ignore_patterns(
        ".git", ".venv", ".build", ".pulumi-state", "__pycache__", "*.pyc", ".pytest_cache", "tests", "benchmarks",
        "Pulumi.*-*.yaml"))
    (repository / "programs" / "sample.py").write_text(SAMPLE_PROGRAM)
    write_stack(repository, "qa", "network", [], settings={"nat_strategy": "none"})
    sample_stack(repository, "logs", {"keep": 14, "change": 14, "drop": 14})
    sample_stack(repository, "old", {"legacy": 7})
    git(repository, "init", "--quiet", "--initial-branch=main")
    git(repository, "add", ".")
    git(repository, "-c", "user.name=Test", "-c", "user.email=test@example.com", "commit", "--quiet", "-m", "base")

    # the change under review, left uncommitted in the working tree
    sample_stack(repository, "logs", {"keep": 14, "change": 30, "add": 7})
    (repository / "Pulumi.qa-old.yaml").unlink()
    sample_stack(repository, "new", {"fresh": 3})
    return repository


def plan(repository: Path, *args: str) -> subprocess.CompletedProcess:
    environ = {**os.environ, "PYTHONPATH": str(repository)}
    return subprocess.run([sys.executable, "-m", "stacks", "plan", "qa", "--offline", *args], cwd=repository,
                          env=environ, capture_output=True, text=True, timeout=180)


@pytest.fixture(scope="module")
def diff(repository, tmp_path_factory):
    markdown = tmp_path_factory.mktemp("out") / "diff.md"
    result = plan(repository, "--diff-against", "HEAD", "--json", "--markdown", str(markdown))
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout), markdown.read_text()


def test_the_json_diff_names_each_change(diff, repository):
    document, _ = diff
    assert document["environment"] == "qa" and document["base"] == "HEAD"
    assert document["commit"] == git(repository, "rev-parse", "HEAD").strip()[:12]
    stacks = {s["stack"]: s for s in document["stacks"]}
    assert list(stacks) == ["qa-logs", "qa-network", "qa-new", "qa-old"]  # working tree's order, then removed

    logs = {(r["action"], r["name"]): r for r in stacks["qa-logs"]["resources"]}
    assert set(logs) == {("create", "add"), ("update", "change"), ("delete", "drop")}
    assert logs["update", "change"]["properties"] == ["retentionInDays"]
    assert all(r["type"] == LOG_GROUP for r in logs.values())
    assert logs["create", "add"]["urn"] == f"urn:pulumi:qa-logs::cloud-patterns::{LOG_GROUP}::add"
    assert stacks["qa-logs"]["counts"] == {"create": 1, "update": 1, "replace": 0, "delete": 1}

    assert stacks["qa-network"]["resources"] == [] and stacks["qa-network"]["note"] is None
    assert stacks["qa-new"]["note"] == "new stack"
    assert [(r["action"], r["name"]) for r in stacks["qa-new"]["resources"]] == [("create", "fresh")]
    assert stacks["qa-old"]["note"] == "stack removed"
    assert [(r["action"], r["name"]) for r in stacks["qa-old"]["resources"]] == [("delete", "legacy")]


def test_the_markdown_summary_lists_resources_by_name(diff):
    _, markdown = diff
    assert markdown.startswith("<!-- cloud-patterns:stacks-summary -->\n### Offline plan diff: qa, HEAD (")
    assert "no cloud access" in markdown
    assert "**5 resource changes** in 4 stacks: 2 to create, 1 to update, 0 to replace, 2 to delete" in markdown
    assert "| `qa-logs` | 1 | 1 | 0 | 1 | ✅ succeeded |" in markdown
    assert "| `qa-network` | 0 | 0 | 0 | 0 | ✅ succeeded |" in markdown
    assert "| `qa-new` | 1 | 0 | 0 | 0 | ✅ succeeded (new stack) |" in markdown
    assert "| `qa-old` | 0 | 0 | 0 | 1 | ✅ succeeded (stack removed) |" in markdown
    logs = markdown.split("<b>qa-logs</b>: 1 to create, 1 to update, 1 to delete</summary>")[1].split("</details>")[0]
    assert logs.strip().splitlines() == [
        "**Create**", "", f"- `add` ({LOG_GROUP})", "",
        "**Update**", "", f"- `change` ({LOG_GROUP}) — `retentionInDays`", "",
        "**Delete**", "", f"- `drop` ({LOG_GROUP})"]
    assert "<b>qa-network</b>" not in markdown  # nothing to list for a stack without changes


def test_the_repository_is_left_as_it_was(diff, repository):
    status = git(repository, "status", "--porcelain")
    assert sorted(line.split()[-1] for line in status.splitlines()) == [
        "Pulumi.qa-logs.yaml", "Pulumi.qa-new.yaml", "Pulumi.qa-old.yaml"]
    assert git(repository, "worktree", "list").count("\n") == 1


def test_text_output_and_selection(repository):
    result = plan(repository, "--diff-against", "HEAD", "--stack", "logs")
    assert result.returncode == 0, result.stderr
    lines = [" ".join(line.split()) for line in result.stdout.splitlines()]
    assert lines[0] == "qa-logs: 1 to create, 1 to update, 1 to delete"
    assert any(line.endswith(f"+ {LOG_GROUP} add") for line in lines)
    assert any(line.endswith(f"~ {LOG_GROUP} change (retentionInDays)") for line in lines)
    assert any(line.endswith(f"- {LOG_GROUP} drop") for line in lines)
    assert not any("qa-network" in line for line in lines)


def test_an_unknown_ref_is_a_clear_error(repository):
    result = plan(repository, "--diff-against", "no-such-branch")
    assert result.returncode == 2
    assert "--diff-against no-such-branch: not a commit of the repository" in " ".join(result.stderr.split())
    assert "Traceback" not in result.stderr
