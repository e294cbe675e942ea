"""Checkov on the offline plan: ``python -m stacks scan <env> [--stack NAME] [--json]``.

The environment's offline plan is exported as one Terraform plan document (``planning.terraform``) and Checkov's
maintained checks for Terraform plans, graph checks included, run on it (``stacks/checkov_runner.py``, in
Checkov's own virtualenv, offline). Each result is mapped back to the stack and Pulumi URN of its resource.
Skips live in ``policies/checkov.yaml``: a check id, the resources it is skipped for (URN patterns, or ``all``)
and the reason; a failure no skip covers fails the scan.
"""
from __future__ import annotations

import enum
import fnmatch
import json
import os
import subprocess
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path

import yaml
from rich.console import Console
from rich.text import Text
from rich.tree import Tree

from planning.offline import StackPlan
from planning.project import PROJECT_DIR
from planning.terraform import PROVIDERS, Exported, Unmapped, export

SKIPS_FILE = PROJECT_DIR / "policies" / "checkov.yaml"
RUNNER = Path(__file__).with_name("checkov_runner.py")
PYTHON_VARIABLE = "CHECKOV_PYTHON"
"""The interpreter of Checkov's virtualenv, when it is not ``.venv/checkov/bin/python``."""
TIMEOUT_SECONDS = 600


class PlanFormat(str, enum.Enum):
    TERRAFORM_PLAN = "terraform-plan"


class ScanError(Exception):
    """The scan could not run (Checkov missing, an invalid skips file, a network attempt): nothing was judged."""


@dataclass(frozen=True)
class Skip:
    check_id: str
    resources: tuple[str, ...] | None
    """URN patterns (``fnmatch``); None: every resource."""
    reason: str

    def covers(self, check_id: str, urn: str) -> bool:
        return check_id == self.check_id and (
            self.resources is None or any(fnmatch.fnmatchcase(urn, p) for p in self.resources))


@dataclass(frozen=True)
class Finding:
    stack: str
    urn: str
    address: str
    check_id: str
    check_name: str
    result: str
    """``passed``, ``failed`` or ``skipped`` (a failure a skip covers)."""
    guideline: str | None = None
    reason: str | None = None

    def to_json(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if v is not None}


@dataclass
class ScanResult:
    environment: str
    findings: list[Finding] = field(default_factory=list)
    unmapped: list[Unmapped] = field(default_factory=list)
    unused_skips: list[Skip] = field(default_factory=list)
    checkov_version: str = ""
    seconds: float = 0.0
    checked_types: list[str] = field(default_factory=list, repr=False)
    """The Terraform types Checkov has checks for."""
    network_attempts: list[str] = field(default_factory=list)

    def counts(self, stack: str | None = None) -> dict[str, int]:
        found = Counter(f.result for f in self.findings if stack is None or f.stack == stack)
        return {"evaluated": sum(found.values()), "passed": found["passed"], "failed": found["failed"],
                "skipped": found["skipped"]}

    def of(self, result: str) -> list[Finding]:
        return [f for f in self.findings if f.result == result]

    @property
    def stacks(self) -> list[str]:
        return list(dict.fromkeys(f.stack for f in self.findings))

    @property
    def exit_code(self) -> int:
        return 1 if self.of("failed") else 0

    def to_json(self) -> dict:
        return {"environment": self.environment, "checkov_version": self.checkov_version,
                "summary": self.counts(), "stacks": {s: self.counts(s) for s in self.stacks},
                "findings": [f.to_json() for f in self.findings if f.result != "passed"],
                "unmapped": [u.to_json() for u in self.unmapped],
                "unused_skips": [{"check_id": s.check_id, "reason": s.reason} for s in self.unused_skips]}


def load_skips(path: Path = SKIPS_FILE) -> list[Skip]:
    """The skips, each checked: a Checkov id, ``resources`` (``all`` or a list of URN patterns), a reason."""
    entries = (yaml.safe_load(path.read_text()) or {}).get("skips") or []
    skips = []
    for number, entry in enumerate(entries, 1):
        where = f"{path.name}, skip {number}"
        if not isinstance(entry, dict) or set(entry) != {"id", "resources", "reason"}:
            raise ScanError(f"{where}: needs exactly the keys id, resources and reason, got {entry!r}")
        if not str(entry["id"]).startswith(("CKV_", "CKV2_")):
            raise ScanError(f"{where}: id {entry['id']!r} is not a Checkov check id (CKV_… or CKV2_…)")
        resources = entry["resources"]
        if resources != "all" and not (isinstance(resources, list) and resources
                                       and all(isinstance(r, str) and r.startswith("urn:") for r in resources)):
            raise ScanError(f"{where} ({entry['id']}): resources must be 'all' or a list of URN patterns "
                            f"('urn:pulumi:…'), got {resources!r}")
        if not isinstance(entry["reason"], str) or len(entry["reason"].split()) < 4:
            raise ScanError(f"{where} ({entry['id']}): the reason must say why, in a sentence")
        skips.append(Skip(entry["id"], None if resources == "all" else tuple(resources), entry["reason"].strip()))
    return skips


def checkov_python() -> Path:
    python = Path(os.environ.get(PYTHON_VARIABLE) or PROJECT_DIR / ".venv" / "checkov" / "bin" / "python")
    if not python.exists():
        raise ScanError(f"Checkov is not installed at {python}: run `bash .ci/setup` (it makes .venv/checkov "
                        f"from requirements-checkov.txt) or point {PYTHON_VARIABLE} at Checkov's python")
    return python


def run_checkov(documents: dict[str, dict]) -> dict:
    """Checkov's raw results for each named Terraform plan document, from one run of the runner (one import)."""
    python = checkov_python()
    with tempfile.TemporaryDirectory(prefix="stacks-scan-") as directory:
        paths = {}
        for name, document in documents.items():
            paths[name] = Path(directory) / f"{name}.tfplan.json"
            paths[name].write_text(json.dumps(document))
        completed = subprocess.run([str(python), str(RUNNER), *map(str, paths.values())], capture_output=True,
                                   text=True, timeout=TIMEOUT_SECONDS, cwd=directory)
    if completed.returncode != 0:
        raise ScanError(f"Checkov failed (exit {completed.returncode}): {completed.stderr.strip()[-2000:]}")
    output = json.loads(completed.stdout)
    if output["network_attempts"]:
        raise ScanError(f"Checkov tried to reach the network: {output['network_attempts']}")
    return {"checkov_version": output["checkov_version"], "seconds": output["seconds"], "types": output["types"],
            "network_attempts": output["network_attempts"],
            "results": {name: output["results"][str(path)] for name, path in paths.items()}}


def scan_environments(environments: dict[str, list[StackPlan]], skips: list[Skip] | None = None
                      ) -> dict[str, ScanResult]:
    """Scans several environments' offline plans with one Checkov run."""
    skips = load_skips() if skips is None else skips
    started = time.perf_counter()
    exports = {name: export(name, plans) for name, plans in environments.items()}
    raw = run_checkov({name: x.document for name, x in exports.items()})
    elapsed = time.perf_counter() - started
    results = {}
    for name, exported in exports.items():
        result = ScanResult(name, unmapped=exported.unmapped, checkov_version=raw["checkov_version"],
                            seconds=round(elapsed, 2), checked_types=raw["types"],
                            network_attempts=raw["network_attempts"])
        for record in raw["results"][name]["records"]:
            resource = exported.resources.get(record["resource"]) or _provider(name, record["resource"])
            result.findings.append(Finding(resource.stack, resource.urn, resource.address, record["check_id"],
                                           record["check_name"], record["result"], record["guideline"]))
        result.findings.sort(key=lambda f: (f.stack, f.urn, f.check_id))
        result.findings, result.unused_skips = apply_skips(result.findings, skips)
        results[name] = result
    return results


def apply_skips(findings: list[Finding], skips: list[Skip]) -> tuple[list[Finding], list[Skip]]:
    """Each failure (or earlier skip) is skipped when a skip covers its check and URN; also the skips that
    covered nothing."""
    judged, used = [], set()
    for finding in findings:
        if finding.result == "passed":
            judged.append(finding)
            continue
        skip = next((s for s in skips if s.covers(finding.check_id, finding.urn)), None)
        if skip is not None:
            used.add(skip)
        judged.append(replace(finding, result="failed" if skip is None else "skipped",
                              reason=None if skip is None else skip.reason))
    return judged, [s for s in skips if s not in used]


def _provider(environment: str, address: str) -> Exported:
    """Checkov's provider checks (e.g. no credentials in the provider block) run on the document's providers."""
    if address.split(".")[0] not in {name for name, _ in PROVIDERS.values()}:
        raise ScanError(f"Checkov reported {address!r}, which the export does not have")
    return Exported(address, f"provider:{address}", f"{environment} (providers)", address)


def scan_environment(environment: str, plans: list[StackPlan], skips: list[Skip] | None = None) -> ScanResult:
    return scan_environments({environment: plans}, skips)[environment]


def summary_markdown(result: ScanResult) -> str:
    """The scan's section of the offline plan's Markdown report and of the PR comment."""
    counts = result.counts()
    lines = [f"Checkov {result.checkov_version} on the offline plan exported as a Terraform plan: "
             f"**{counts['evaluated']} checks evaluated**, {counts['passed']} passed, {counts['failed']} failed, "
             f"{counts['skipped']} skipped (`policies/checkov.yaml`).", "",
             "| Stack | Evaluated | Passed | Failed | Skipped |", "|---|--:|--:|--:|--:|"]
    for stack in result.stacks:
        c = result.counts(stack)
        lines.append(f"| `{stack}` | {c['evaluated']} | {c['passed']} | {c['failed']} | {c['skipped']} |")
    failed = result.of("failed")
    if failed:
        lines += ["", "**Failed**", ""]
        lines += [f"- `{f.check_id}` {f.check_name}: `{f.urn.rsplit('::', 1)[-1]}` ({f.stack})" for f in failed]
    if result.unmapped:
        types = Counter(u.type for u in result.unmapped)
        lines += ["", "Not scanned (no Terraform type): " + ", ".join(f"`{t}` ×{n}" for t, n in sorted(types.items()))]
    return "\n".join(lines)


def report_section(environment: str, plans: list[StackPlan]) -> str:
    """The section for a report, which is never lost to it: a scan that cannot run says why instead."""
    try:
        return summary_markdown(scan_environment(environment, plans))
    except Exception as error:  # noqa: BLE001
        return f"Checkov scan not run: {type(error).__name__}: {error}"


def terraform_plan_json(environment: str, plans: list[StackPlan], console: Console) -> str:
    """``plan --offline --format terraform-plan``: the document; what has no Terraform type is said on stderr."""
    exported = export(environment, plans)
    for unmapped in exported.unmapped:
        console.print(f"not exported: {unmapped.type} {unmapped.urn.rsplit('::', 1)[-1]} ({unmapped.reason})",
                      highlight=False, markup=False, soft_wrap=True)
    return json.dumps(exported.document, indent=2) + "\n"


def render(result: ScanResult) -> Tree:
    """Per stack and resource: failures and skips with their check, passes counted."""
    counts = result.counts()
    tree = Tree(f"[bold]{result.environment}[/]: Checkov {result.checkov_version}, {counts['evaluated']} checks "
                f"evaluated, {counts['passed']} passed, [red]{counts['failed']} failed[/], "
                f"{counts['skipped']} skipped ({result.seconds:.1f} s)")
    for stack in result.stacks:
        c = result.counts(stack)
        node = tree.add(f"[bold]{stack}[/]: {c['passed']} passed, {c['failed']} failed, {c['skipped']} skipped")
        by_resource: dict[str, list[Finding]] = {}
        for finding in result.findings:
            if finding.stack == stack and finding.result != "passed":
                by_resource.setdefault(finding.urn, []).append(finding)
        for urn, findings in by_resource.items():
            branch = node.add(Text(urn), highlight=False)
            for f in findings:
                style = "red" if f.result == "failed" else "yellow"
                line = Text.assemble((f"{f.result} ", style), (f.check_id, "bold"), f" {f.check_name}")
                if f.reason:
                    line.append(f" (skipped: {f.reason})", "dim")
                if f.guideline:
                    line.append(f" {f.guideline}", "cyan")
                branch.add(line)
    for unmapped in result.unmapped:
        tree.add(Text(f"not scanned: {unmapped.urn} ({unmapped.reason})", "dim"))
    return tree
