"""Fixtures for the label detector and its proxy; the fakes themselves are in label_fakes.py."""

import importlib
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path
from types import SimpleNamespace

import pytest

from tests.label_detector.label_fakes import (
    REPO,
    FakeVisionApi,
    TokenEndpoint,
    free_port,
    http_api_event,
    rest_api_event,
    wait_until_serving,
)


@pytest.fixture(scope="session")
def label_detector_service(tmp_path_factory):
    """runtime/label_detector served by the functions-framework CLI (gunicorn) on loopback,
    authenticating to the fake Vision API with a service-account key through the token endpoint."""
    with TokenEndpoint() as token_endpoint, FakeVisionApi(token_endpoint) as vision_api:
        key_file = tmp_path_factory.mktemp("gcp") / "detector-sa.json"
        key_file.write_text(json.dumps(token_endpoint.new_service_account_key()))
        port = free_port()
        env = {
            **os.environ,
            "GOOGLE_APPLICATION_CREDENTIALS": str(key_file),
            "VISION_API_ENDPOINT": vision_api.url,
            "VISION_DEADLINE_SECONDS": "5",
            "PYTHONWARNINGS": "ignore::FutureWarning",
        }
        log_file = tmp_path_factory.mktemp("logs") / "functions-framework.log"
        with open(log_file, "wb") as log:
            process = subprocess.Popen(
                [
                    str(Path(sys.executable).with_name("functions-framework")),
                    "--target", "detect", "--source", str(REPO / "runtime/label_detector/main.py"),
                    "--host", "127.0.0.1", "--port", str(port),
                ],
                env=env, stdout=log, stderr=subprocess.STDOUT, cwd=REPO,
            )
        url = f"http://127.0.0.1:{port}/"
        try:
            wait_until_serving(url, process, log_file)
            yield SimpleNamespace(url=url, vision_api=vision_api, token_endpoint=token_endpoint)
        finally:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)


@pytest.fixture
def lambda_context():
    """The part of the Lambda context object the proxy uses: its remaining time."""
    return SimpleNamespace(aws_request_id=str(uuid.uuid4()), get_remaining_time_in_millis=lambda: 29_000)


@pytest.fixture
def cold_proxy(monkeypatch):
    """Returns a loader that sets the Lambda's environment and imports the handler afresh,
    as a new Lambda container would (module-level session and token cache start empty)."""
    for name in ("GFUNC_URL", "GCP_CREDENTIALS_SECRET_ARN", "DEFAULT_IMAGE_URI", "GFUNC_TIMEOUT_SECONDS"):
        monkeypatch.delenv(name, raising=False)

    def load(**environment):
        for name, value in environment.items():
            monkeypatch.setenv(name, str(value))
        import runtime.label_proxy.handler as handler_module

        return importlib.reload(handler_module)

    return load


@pytest.fixture(params=["http-api-v2", "rest-api-v1"])
def api_event(request):
    """Builds a GET /detect event of each API Gateway shape in turn."""
    return http_api_event if request.param == "http-api-v2" else rest_api_event
