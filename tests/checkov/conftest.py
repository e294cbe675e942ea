"""Plans and one Checkov run shared by the Checkov tests: dev, prod and the planted misconfigurations are scanned
together (one start of Checkov, whose import alone takes seconds)."""
from __future__ import annotations

import pytest

from stacks.scan import load_skips, scan_environments
from tests.checkov import planted
from tests.conftest import planned, run_components


@pytest.fixture(scope="session")
def plans() -> dict:
    return {name: list(planned(name)) for name in ("dev", "prod")}  # the plans every test process shares


@pytest.fixture(scope="session")
def planted_plan():
    return run_components(planted.main)


@pytest.fixture(scope="session")
def scans(plans, planted_plan) -> dict:
    """dev and prod with the project's skips, and the planted stack with the same skips."""
    return scan_environments({**plans, "planted": [planted_plan]}, load_skips())
