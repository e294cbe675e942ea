"""Checkov scan benchmark: what `python -m stacks scan <env>` costs on top of the offline plan it scans.

For each environment, in one run (the machine is shared, so only figures from the same run compare):
- the offline plan alone (the baseline: the scan starts from it),
- the export of that plan as a Terraform plan document, and its size,
- Checkov on the document: its import (paid once per run of the runner) and its checks,
- Checkov on an empty plan document (its fixed cost: interpreter, import, check registries),
- `python -m stacks scan <env>` as a user or CI runs it (a fresh interpreter: plan, export, Checkov),
and the checks evaluated, passed, failed and skipped.

Run: .venv/bin/python benchmarks/checkov_scan.py [--environment dev --environment prod] [--repeats 3]
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def median_seconds(action, repeats: int) -> tuple[float, object]:
    walls, result = [], None
    for _ in range(repeats):
        began = time.perf_counter()
        result = action()
        walls.append(time.perf_counter() - began)
    return statistics.median(walls), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--environment", action="append", help="Environment to scan (repeatable; default dev, prod).")
    parser.add_argument("--repeats", type=int, default=3, help="Runs per figure; the median is printed.")
    options = parser.parse_args()

    from planning.offline import plan_environment
    from planning.project import PROJECT_DIR, load_environment
    from planning.terraform import export
    from stacks.scan import load_skips, run_checkov, scan_environments

    skips = load_skips()
    empty, _ = median_seconds(lambda: run_checkov({"empty": {"format_version": "1.2"}}), options.repeats)
    print(f"Checkov on an empty plan (fixed cost of a run): {empty:6.2f} s")
    for name in options.environment or ["dev", "prod"]:
        env = load_environment(name)
        plan_s, plans = median_seconds(lambda: plan_environment(env), options.repeats)
        export_s, exported = median_seconds(lambda: export(name, plans), options.repeats)
        checkov_s, raw = median_seconds(lambda: run_checkov({name: exported.document}), options.repeats)
        result = scan_environments({name: plans}, skips)[name]
        cli_s, _ = median_seconds(lambda: subprocess.run(
            [sys.executable, "-m", "stacks", "scan", name, "--json"], cwd=PROJECT_DIR, capture_output=True,
            check=False), options.repeats)
        counts = result.counts()
        size = len(json.dumps(exported.document)) / 1024
        print(f"\n{name}: {len(exported.resources)} resources exported ({size:.0f} KiB), "
              f"{len(exported.unmapped)} not exported (no Terraform type)")
        print(f"  checks: {counts['evaluated']} evaluated, {counts['passed']} passed, {counts['failed']} failed, "
              f"{counts['skipped']} skipped")
        print(f"  offline plan (baseline)          {plan_s:6.2f} s")
        print(f"  export to a Terraform plan       {export_s:6.2f} s")
        print(f"  Checkov run                      {checkov_s:6.2f} s  (import {raw['seconds']['import']:.2f} s, "
              f"checks {raw['seconds']['scan']:.2f} s; fixed cost {empty:.2f} s)")
        print(f"  python -m stacks scan {name:<6}    {cli_s:6.2f} s  (a fresh interpreter: plan + export + Checkov)")


if __name__ == "__main__":
    main()
