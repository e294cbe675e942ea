"""Runs Checkov, as a library, on Terraform plan documents; prints the results as one JSON document.

    <checkov's python> stacks/checkov_runner.py PLAN.json [PLAN.json ...]
    <checkov's python> stacks/checkov_runner.py --types     # the Terraform types Checkov has checks for

Standard library and Checkov only: it runs in Checkov's own virtualenv (``.venv/checkov``, made by
``.ci/setup`` from ``requirements-checkov.txt``), since Checkov pins versions of boto3 and packaging that
Pulumi's SDK cannot share one environment with. ``stacks/scan.py`` starts it and reads its output.

Offline: Checkov's platform integration is off (no API key, ``skip_download``, ``BC_SKIP_MAPPING``), and before
Checkov is imported every outgoing connection and name lookup of this process is refused and recorded; the
output lists those attempts (``network_attempts``), which the scan treats as an error.
"""
from __future__ import annotations

import json
import os
import socket
import sys
import time

NETWORK_ATTEMPTS: list[str] = []
SETTINGS = {
    "BC_SKIP_MAPPING": "TRUE",  # no download of the check-id mapping and guidelines from the platform
    "CHECKOV_RUN_SCA_PACKAGE_SCAN_V2": "false",
    "LOG_LEVEL": "ERROR",
}
"""Environment Checkov reads at import time."""
PLATFORM_VARIABLES = ("BC_API_KEY", "PRISMA_API_URL", "BC_FROM_BRANCH", "BC_TO_BRANCH")


def deny_network() -> None:
    """Refuses every connection and name lookup of this process, recording what was attempted."""
    def refused(kind: str):
        def call(*args, **kwargs):
            target = args[1] if kind == "connect" and len(args) > 1 else args[0] if args else kwargs
            NETWORK_ATTEMPTS.append(f"{kind} {target!r}")
            raise OSError(f"network access refused during the offline scan ({kind} {target!r})")
        return call

    socket.socket.connect = refused("connect")
    socket.socket.connect_ex = refused("connect")
    socket.create_connection = refused("create_connection")
    socket.getaddrinfo = refused("getaddrinfo")
    socket.gethostbyname = refused("gethostbyname")


def scan(paths: list[str]) -> dict:
    for name in PLATFORM_VARIABLES:
        os.environ.pop(name, None)
    os.environ.update(SETTINGS)
    started = time.perf_counter()
    from checkov.common.bridgecrew.platform_integration import bc_integration
    from checkov.runner_filter import RunnerFilter
    from checkov.terraform.plan_runner import Runner
    from checkov.version import version

    bc_integration.skip_download = True
    imported = time.perf_counter()
    results = {}
    for path in paths:
        runner_filter = RunnerFilter(framework=["terraform_plan"], download_external_modules=False,
                                     run_image_referencer=False)
        report = Runner().run(root_folder=None, files=[path], runner_filter=runner_filter)
        records = [_record(r, "passed") for r in report.passed_checks]
        records += [_record(r, "failed") for r in report.failed_checks]
        records.sort(key=lambda r: (r["resource"], r["check_id"], r["result"]))
        results[path] = {"records": records, "parsing_errors": sorted(report.parsing_errors),
                         "resources": sorted(r.split(":", 1)[-1] for r in report.resources)}
    return {"checkov_version": version, "results": results, "types": checked_types(),
            "network_attempts": NETWORK_ATTEMPTS,
            "seconds": {"import": round(imported - started, 3), "scan": round(time.perf_counter() - imported, 3)}}


def checked_types() -> list[str]:
    """The Terraform resource types some Checkov resource or graph check applies to."""
    from checkov.common.checks_infra.registry import get_graph_checks_registry
    from checkov.terraform.checks.resource.registry import resource_registry
    from checkov.terraform.plan_runner import Runner  # noqa: F401 - loads the resource checks

    types = set(resource_registry.checks)
    graph = get_graph_checks_registry("terraform")
    graph.load_checks()
    for check in graph.checks:
        types.update(check.resource_types or [])
    return sorted(t for t in types if isinstance(t, str))


def _record(record, result: str) -> dict:
    return {"check_id": record.check_id, "check_name": record.check_name, "result": result,
            "resource": record.resource, "guideline": record.guideline, "severity": _text(record.severity),
            "check_class": record.check_class, "details": list(record.details or [])}


def _text(value) -> str | None:
    return None if value is None else str(getattr(value, "name", value))


def main(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help"):
        sys.stdout.write(__doc__)
        return 0 if argv else 2
    deny_network()
    os.environ.update(SETTINGS)
    result = {"types": checked_types(), "network_attempts": NETWORK_ATTEMPTS} if argv == ["--types"] else scan(argv)
    result["network_attempts"] = NETWORK_ATTEMPTS
    sys.__stdout__.write(json.dumps(result) + "\n")  # not through colorama's wrapper of sys.stdout
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
