"""Fixtures for the label detector and its proxy; the fakes themselves are in label_fakes.py."""

import importlib
import ipaddress
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path
from types import SimpleNamespace

import pytest

from runtime.label_proxy import contract
from tests.label_detector.label_fakes import (
    BLANK_PNG,
    CAT_JPEG,
    REPO,
    FakeVisionApi,
    ImageHost,
    Reply,
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


TEST_BUCKETS = "photos,cloud-samples-data"


@pytest.fixture
def cold_proxy(monkeypatch):
    """Returns a loader that sets the Lambda's environment and imports the handler afresh,
    as a new Lambda container would (module-level session and token cache start empty).
    gs:// is allowed for the buckets ``photos`` and ``cloud-samples-data`` unless ALLOWED_GS_BUCKETS is given."""
    for name in (contract.ENV_FUNCTION_URL, contract.ENV_CREDENTIALS_SECRET_ARN, contract.ENV_DEFAULT_IMAGE_URI,
                 contract.ENV_UPSTREAM_TIMEOUT_SECONDS, contract.ENV_GS_BUCKETS, contract.ENV_MAX_IMAGE_BYTES):
        monkeypatch.delenv(name, raising=False)

    def load(**environment):
        for name, value in {contract.ENV_GS_BUCKETS: TEST_BUCKETS, **environment}.items():
            monkeypatch.setenv(name, str(value))
        import runtime.label_proxy.handler as handler_module

        return importlib.reload(handler_module)

    return load


@pytest.fixture
def images():
    """An image host on 127.0.0.1: /cat.jpg and /blank.png are images the fake Vision API knows."""
    with ImageHost() as host:
        host.replies.update({"/cat.jpg": Reply(200, CAT_JPEG, headers={"Content-Type": "image/jpeg"}),
                             "/blank.png": Reply(200, BLANK_PNG, headers={"Content-Type": "image/png"})})
        yield host


@pytest.fixture
def loopback_host_allowed(monkeypatch):
    """The test's image host listens on 127.0.0.1, which the guard refuses like any loopback address. This lets
    exactly 127.0.0.1 count as public for a loaded handler; everything else (127.0.0.2 included) is judged by
    the handler's own is_public, and resolution, pinning and the check of every redirect stay the handler's."""
    def allow(proxy):
        judged = proxy.guard.is_public
        monkeypatch.setattr(proxy.guard, "is_public", lambda address: address == ipaddress.ip_address("127.0.0.1")
                            or judged(address))
        return proxy
    return allow


@pytest.fixture(params=["http-api-v2", "rest-api-v1"])
def api_event(request):
    """Builds a GET /detect event of each API Gateway shape in turn."""
    return http_api_event if request.param == "http-api-v2" else rest_api_event
