"""The offline diff: what a change would do to an environment, from offline plans of a git ref and of the
working tree. No cloud, no credentials, no Pulumi CLI: for forks and for reviewers without access.

The base ref is exported with ``git archive`` into a temporary directory (the repository is not touched)
and both trees are planned by ``python -m stacks plan <env> --offline --json`` with this interpreter, each
in its own directory. Resources are matched by URN: only in the working tree → create, only in the base →
delete, in both with different inputs → update (with the properties that differ). An offline plan cannot
tell an in-place update from a replacement (that needs the provider): the cloud preview can.
"""
from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from planning.project import PROJECT_DIR, ProjectError
from stacks.changes import ResourceChange, StackChanges

OFFLINE_NOTE = ("Planned offline with mock providers from the stacks' real programs: no cloud access. An offline "
                "plan cannot tell an in-place update from a replacement; the cloud preview can.")


class DiffError(ProjectError):
    """The base ref or one of the two plans could not be produced."""


def _git(project_dir: Path, *args: str, binary: bool = False) -> str | bytes:
    result = subprocess.run(["git", "-C", str(project_dir), *args], capture_output=True, text=not binary)
    if result.returncode != 0:
        stderr = result.stderr if isinstance(result.stderr, str) else result.stderr.decode(errors="replace")
        raise DiffError(f"git {' '.join(args)}: {stderr.strip()}")
    return result.stdout


def export_ref(project_dir: Path, ref: str, destination: Path) -> str:
    """Writes the project's files as of ``ref`` into ``destination``; returns the commit's short hash."""
    try:
        commit = _git(project_dir, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}").strip()
    except DiffError:
        raise DiffError(f"--diff-against {ref}: not a commit of the repository at {project_dir}") from None
    prefix = _git(project_dir, "rev-parse", "--show-prefix").strip()  # the project may be a subdirectory
    archive = _git(project_dir, "archive", "--format=tar", f"{commit}:{prefix}", binary=True)
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(destination, filter="data")
    build_cache = project_dir / ".build"  # content-addressed (Lambda layers): safe and quick to share
    if build_cache.is_dir() and not (destination / ".build").exists():
        (destination / ".build").symlink_to(build_cache, target_is_directory=True)
    return commit[:12]


def plan_document(project_dir: Path, environment: str, label: str, timeout: float = 600,
                  stacks: Iterable[str] | None = None) -> dict:
    """The offline plan (``plan --offline --json``) of ``environment`` in ``project_dir`` (only ``stacks``, full
    names, and what they need, when given: those the tree has); no stacks → empty."""
    present = {p.name[len("Pulumi."):-len(".yaml")] for p in project_dir.glob(f"Pulumi.{environment}-*.yaml")}
    wanted = sorted(present if stacks is None else present & set(stacks))
    if not wanted:
        return {"environment": environment, "stacks": []}
    selection = [] if stacks is None else [option for name in wanted for option in ("--stack", name)]
    env = {**os.environ, "PYTHONPATH": str(project_dir)}
    result = subprocess.run([sys.executable, "-m", "stacks", "plan", environment, "--offline", "--json", *selection],
                            cwd=project_dir, env=env, capture_output=True, text=True, timeout=timeout)
    document = _plan_document(result.stdout)
    if document is None:  # a plan that completed but failed a policy still printed its document: keep it
        raise DiffError(f"the offline plan of {label} failed:\n{result.stderr.strip()}")
    return document


def _plan_document(stdout: str) -> dict | None:
    try:
        document = json.loads(stdout)
    except ValueError:
        return None
    return document if isinstance(document, dict) and "stacks" in document else None


def changed_properties(base: dict, head: dict) -> tuple[str, ...]:
    return tuple(sorted(k for k in set(base) | set(head) if base.get(k) != head.get(k)))


def diff_documents(base: dict, head: dict, selected: list[str] | None = None) -> list[StackChanges]:
    """Per stack (working-tree order, then stacks removed), the resources created, updated and deleted."""
    base_stacks = {s["name"]: s for s in base["stacks"]}
    head_stacks = {s["name"]: s for s in head["stacks"]}
    names = list(head_stacks) + [n for n in base_stacks if n not in head_stacks]
    result = []
    for name in names:
        if selected is not None and name not in selected:
            continue
        before = {r["urn"]: r for r in base_stacks.get(name, {}).get("resources", [])}
        after = {r["urn"]: r for r in head_stacks.get(name, {}).get("resources", [])}
        resources = [ResourceChange("create", r["type"], r["name"], urn) for urn, r in after.items() if urn not in before]
        resources += [ResourceChange("update", r["type"], r["name"], urn, changed_properties(before[urn]["inputs"],
                                                                                             r["inputs"]))
                      for urn, r in after.items() if urn in before and before[urn]["inputs"] != r["inputs"]]
        resources += [ResourceChange("delete", r["type"], r["name"], urn) for urn, r in before.items()
                      if urn not in after]
        note = "new stack" if name not in base_stacks else "stack removed" if name not in head_stacks else None
        result.append(StackChanges(name, resources, note=note))
    return result


@dataclass(frozen=True)
class OfflineDiff:
    commit: str
    """The base ref's commit."""
    changes: list[StackChanges]
    base_document: dict
    head_document: dict
    """The two plan documents compared, for further sections of a report (e.g. cost) without planning again."""


def diff_against(environment: str, ref: str, project_dir: Path | None = None,
                 selected: list[str] | None = None) -> OfflineDiff:
    """Offline plans of ``ref`` and of the working tree, compared."""
    project_dir = Path(project_dir or PROJECT_DIR)
    with tempfile.TemporaryDirectory(prefix="stacks-base-") as temporary:
        base_dir = Path(temporary)
        commit = export_ref(project_dir, ref, base_dir)
        with ThreadPoolExecutor(max_workers=2) as pool:
            base = pool.submit(plan_document, base_dir, environment, f"{ref} ({commit})", stacks=selected)
            head = pool.submit(plan_document, project_dir, environment, "the working tree", stacks=selected)
            base_document, head_document = base.result(), head.result()
    return OfflineDiff(commit, diff_documents(base_document, head_document, selected), base_document, head_document)
