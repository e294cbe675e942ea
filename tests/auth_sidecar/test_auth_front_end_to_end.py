"""The auth front end to end on loopback: real nginx (auth_request) -> the auth sidecar -> the demo
app, with ALB-style tokens minted here and the public keys served by a local key server."""

import time
import uuid

import pytest
import requests

from tests.auth_sidecar.alb_auth_support import (
    OTHER_ALB_ARN,
    KeyServer,
    SigningKey,
    alb_token,
    free_port,
    hs256_token_keyed_with_public_pem,
    start_demo_app,
    start_nginx,
    start_sidecar,
    unsigned_token,
    user_claims,
    with_payload,
)

TOKEN_HEADER = "X-Amzn-Oidc-Data"


@pytest.fixture(scope="module")
def work_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("auth-front")


@pytest.fixture(scope="module")
def module_key_server():
    server = KeyServer()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def module_key(module_key_server):
    return module_key_server.publish(SigningKey())


@pytest.fixture(scope="module")
def demo_app(work_dir):
    process, address = start_demo_app(work_dir)
    yield process, address
    process.stop()


def _front(work_dir, key_server, demo_app, *, auth_required):
    sidecar, sidecar_address = start_sidecar(work_dir, key_url_template=key_server.url_template, auth_required=auth_required)
    try:
        nginx, base_url = start_nginx(work_dir, sidecar=sidecar_address, app=demo_app[1])
    except BaseException:
        sidecar.stop()
        raise
    return sidecar, nginx, base_url


@pytest.fixture(scope="module")
def front(work_dir, module_key_server, demo_app):
    """AUTH_REQUIRED=true: yields the front's base URL."""
    sidecar, nginx, base_url = _front(work_dir, module_key_server, demo_app, auth_required=True)
    yield base_url
    nginx.stop()
    sidecar.stop()


@pytest.fixture(scope="module")
def sidecar_log(front, work_dir):
    return lambda: "".join(path.read_text() for path in work_dir.glob("sidecar-*.log"))


def wait_for_log_line(process, text, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        log_text = process.log_text()
        if text in log_text:
            return log_text
        time.sleep(0.02)
    raise AssertionError(f"{text!r} never appeared in the {process.name} log")


def get(base_url, path="/", token=None, **kwargs):
    headers = kwargs.pop("headers", {})
    if token is not None:
        headers[TOKEN_HEADER] = token
    return requests.get(base_url + path, headers=headers, timeout=10, **kwargs)


def test_valid_token_reaches_the_app_with_identity_headers(front, module_key):
    response = get(front, "/reports/today", alb_token(module_key))

    assert response.status_code == 200
    echoed = response.json()
    assert echoed["path"] == "/reports/today"
    assert echoed["identity"] == {
        "email": "ada@example.com",
        "given_name": "Zoë",
        "family_name": "Lovelace",
        "picture": "https://lh3.googleusercontent.com/a/photo.jpg",
    }


def test_alb_padded_and_unpadded_encodings_are_both_accepted(front, module_key):
    padded = alb_token(module_key, pad=True)
    unpadded = alb_token(module_key, pad=False)
    assert "=" in padded and "=" not in unpadded

    assert get(front, token=padded).status_code == 200
    assert get(front, token=unpadded).status_code == 200


def test_request_body_still_reaches_the_app_after_the_check(front, module_key):
    body = b"x" * 5000
    response = requests.post(front + "/upload", data=body, headers={TOKEN_HEADER: alb_token(module_key)}, timeout=10)

    assert response.status_code == 200
    assert response.json()["method"] == "POST"
    assert response.json()["body_bytes"] == len(body)


def test_identity_headers_sent_by_the_client_are_replaced(front, module_key):
    response = get(front, token=alb_token(module_key), headers={"X-Auth-Email": "root@example.com"})

    assert response.json()["identity"]["email"] == "ada@example.com"


@pytest.mark.parametrize(
    "make_token",
    [
        pytest.param(lambda key: with_payload(alb_token(key), user_claims("mallory@example.com")), id="tampered-payload"),
        pytest.param(lambda key: alb_token(key, signer=OTHER_ALB_ARN), id="wrong-signer"),
        pytest.param(lambda key: alb_token(key, user_claims(expires_in=-600)), id="expired"),
        pytest.param(unsigned_token, id="alg-none"),
        pytest.param(hs256_token_keyed_with_public_pem, id="hs256-with-public-key"),
        pytest.param(lambda key: alb_token(key, user_claims("eve@elsewhere.org")), id="domain-not-allowed"),
        pytest.param(lambda key: alb_token(SigningKey(kid=key.kid)), id="signed-by-another-key"),
        pytest.param(lambda key: None, id="header-missing"),
        pytest.param(lambda key: "not-a-jwt", id="garbage"),
    ],
)
def test_refused_requests_get_401_and_never_reach_the_app(front, module_key, demo_app, make_token):
    probe_path = f"/probe-{uuid.uuid4().hex}"

    response = get(front, probe_path, make_token(module_key))

    assert response.status_code == 401
    # A valid request sent afterwards shows up in the app's access log; the refused one must not.
    assert get(front, probe_path + "-control", alb_token(module_key)).status_code == 200
    app_log = wait_for_log_line(demo_app[0], probe_path + "-control")
    assert f"{probe_path} " not in app_log


def test_front_health_check_needs_no_token(front):
    assert get(front, "/healthz").status_code == 200


def test_sidecar_logs_are_json_and_never_contain_the_token(front, module_key, sidecar_log):
    token = alb_token(module_key)
    assert get(front, "/logged", token).status_code == 200

    log_text = sidecar_log()
    assert token.split(".")[2] not in log_text
    assert token.split(".")[1] not in log_text
    assert '"uri": "/logged"' in log_text and '"outcome": "allowed"' in log_text


def test_key_server_down_uncached_kid_is_503_cached_kid_still_200(work_dir, demo_app):
    key_server = KeyServer()
    cached_key = key_server.publish(SigningKey())
    uncached_key = key_server.publish(SigningKey())
    sidecar, nginx, base_url = _front(work_dir, key_server, demo_app, auth_required=True)
    try:
        assert get(base_url, token=alb_token(cached_key)).status_code == 200  # fetches and caches the key

        key_server.stop()

        assert get(base_url, token=alb_token(uncached_key)).status_code == 503
        assert get(base_url, token=alb_token(cached_key)).status_code == 200
    finally:
        nginx.stop()
        sidecar.stop()
        key_server.stop()


def test_validator_down_is_503(work_dir, demo_app, module_key):
    nobody_listening = f"127.0.0.1:{free_port()}"
    nginx, base_url = start_nginx(work_dir, sidecar=nobody_listening, app=demo_app[1])
    try:
        response = get(base_url, token=alb_token(module_key))
        assert response.status_code == 503
    finally:
        nginx.stop()


class TestAuthNotRequired:
    @pytest.fixture(scope="class")
    def soft_front(self, work_dir, module_key_server, demo_app):
        sidecar, nginx, base_url = _front(work_dir, module_key_server, demo_app, auth_required=False)
        yield base_url
        nginx.stop()
        sidecar.stop()

    def test_valid_token_still_gets_identity_headers(self, soft_front, module_key):
        response = get(soft_front, token=alb_token(module_key))

        assert response.status_code == 200
        assert response.json()["identity"]["email"] == "ada@example.com"

    @pytest.mark.parametrize(
        "make_token",
        [
            pytest.param(lambda key: None, id="header-missing"),
            pytest.param(unsigned_token, id="alg-none"),
            pytest.param(lambda key: alb_token(key, user_claims("eve@elsewhere.org")), id="domain-not-allowed"),
        ],
    )
    def test_anything_else_passes_without_identity(self, soft_front, module_key, make_token):
        response = get(soft_front, token=make_token(module_key), headers={"X-Auth-Email": "forged@example.com"})

        assert response.status_code == 200
        assert response.json()["authenticated"] is False
        assert response.json()["identity"] == {}
