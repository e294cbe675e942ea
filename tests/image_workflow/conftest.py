"""One moto world per test module: the planned stack deployed in it, the stand-ins for Lambda and EventBridge."""
from __future__ import annotations

import io

import pytest
from moto import mock_aws
from PIL import Image

from tests.conftest import run_program
from tests.image_workflow import workflow_support

# Fast retries for the tests (the seed's are the defaults, checked in test_image_workflow_stack.py).
FAST = {"image_workflow": {"retry_interval_seconds": 1, "retry_backoff_rate": 1.0},
        "workflow_patterns": {"retry_interval_seconds": 1, "retry_backoff_rate": 1.0}}


@pytest.fixture(scope="session")
def alerts():
    return {"test-alerts": run_program("alerts", {"alerts": {"emails": []}}).outputs}


def plan_with(alerts, config=None, environment="test", monitor=None):
    """The program's plan (its resources are named after ``environment``, so plans of two of them coexist)."""
    merged = {section: {**FAST.get(section, {}), **(config or {}).get(section, {})}
              for section in {*FAST, *(config or {})}}
    return run_program("image-workflow", merged, upstream={"alerts": "test-alerts"}, upstream_outputs=alerts,
                       short_name="image-workflow", environment=environment, monitor=monitor)


@pytest.fixture(scope="session")
def fast_plan(alerts):
    """The plan both end-to-end modules deploy (each into its own moto)."""
    return plan_with(alerts)


@pytest.fixture(scope="module")
def aws(monkeypatch_module):
    for name, value in {"AWS_DEFAULT_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "testing",
                        "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing"}.items():
        monkeypatch_module.setenv(name, value)
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        with workflow_support.stand_ins() as stand_in:
            yield stand_in


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as patch:
        yield patch


def image_bytes(kind: str, size: tuple[int, int], mode: str = "RGB") -> bytes:
    """A gradient (so resampling, filters and compression have something to work on)."""
    image = Image.linear_gradient("L").resize(size).convert(mode)
    if mode == "RGBA":
        image.putalpha(Image.linear_gradient("L").rotate(90).resize(size))
    buffer = io.BytesIO()
    image.save(buffer, kind)
    return buffer.getvalue()
