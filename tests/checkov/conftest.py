"""Plans and one Checkov run shared by the Checkov tests: dev, prod and the planted misconfigurations are scanned
together (one start of Checkov, whose import alone takes seconds), once per test session: under pytest-xdist the
first worker to need the scan runs Checkov and the others read its answer for the same documents."""
from __future__ import annotations

import fcntl
import hashlib
import json
from pathlib import Path

import pytest

from stacks import scan
from stacks.scan import load_skips, scan_environments
from tests.checkov import planted
from tests.conftest import planned, run_components


@pytest.fixture(scope="session")
def plans() -> dict:
    return {name: list(planned(name)) for name in ("dev", "prod")}  # the plans every test process shares


@pytest.fixture(scope="session")
def planted_plan():
    return run_components(planted.main)


def checkov_once(shared: Path, run=scan.run_checkov):
    """``run_checkov`` answered once per session for the same documents (byte-identical exports, so the key is
    their hash): the workers take a lock, the first runs Checkov and writes its answer, the others read it."""
    def run_shared(documents: dict[str, dict]) -> dict:
        digest = hashlib.sha256(json.dumps(documents, sort_keys=True).encode()).hexdigest()[:16]
        answer = shared / f"checkov-{digest}.json"
        with open(shared / "checkov.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not answer.exists():
                answer.write_text(json.dumps(run(documents)))
        return json.loads(answer.read_text())
    return run_shared


@pytest.fixture(scope="session")
def scans(plans, planted_plan, tmp_path_factory, worker_id) -> dict:
    """dev and prod with the project's skips, and the planted stack with the same skips."""
    base = tmp_path_factory.getbasetemp()
    shared = base if worker_id == "master" else base.parent  # the directory every worker of this run shares
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(scan, "run_checkov", checkov_once(shared))
        return scan_environments({**plans, "planted": [planted_plan]}, load_skips())
