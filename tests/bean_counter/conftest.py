"""One real Bean Counter server (gunicorn, one worker) per test process, for the tests that need HTTP."""

from __future__ import annotations

import pytest
import requests

from tests.bean_counter.bean_counter_support import photo_bytes, running_service


@pytest.fixture(scope="session")
def service():
    with running_service(workers=1) as running:
        assert requests.post(f"{running.url}/count", data=photo_bytes("82_cents.jpg"), timeout=30).status_code == 200
        yield running
