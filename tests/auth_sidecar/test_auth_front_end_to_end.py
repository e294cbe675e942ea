"""The auth front end to end on loopback: real nginx (auth_request, started by the image's entrypoint from the
repo's template) -> the auth sidecar -> the demo app, with ALB-style tokens minted here and the public keys
served by a local key server."""

import json
import re
import time
import uuid

import pytest
import requests

from runtime.auth_front import contract as front_contract
from tests.auth_sidecar.alb_auth_support import (
    FRONT_ENTRYPOINT,
    FRONT_TEMPLATE,
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


def _front(work_dir, key_server, demo_app, *, auth_required, **settings):
    sidecar, sidecar_address = start_sidecar(work_dir, key_url_template=key_server.url_template,
                                             auth_required=auth_required, **settings)
    try:
        nginx, base_url = start_nginx(work_dir, sidecar=sidecar_address, app=demo_app[1])
    except BaseException:
        sidecar.stop()
        raise
    return sidecar, nginx, base_url


@pytest.fixture(scope="module")
def front_processes(work_dir, module_key_server, demo_app):
    """AUTH_REQUIRED=true: yields (sidecar, nginx, base URL)."""
    sidecar, nginx, base_url = _front(work_dir, module_key_server, demo_app, auth_required=True)
    yield sidecar, nginx, base_url
    nginx.stop()
    sidecar.stop()


@pytest.fixture(scope="module")
def front(front_processes):
    return front_processes[2]


def access_log(nginx, prefix: str = "/", expect: int = 0, timeout: float = 5.0) -> list[dict]:
    """nginx's access log lines (JSON) of the paths under ``prefix``, once there are ``expect`` of them: nginx writes
    a request's line after it has sent the response."""
    deadline = time.monotonic() + timeout
    while True:
        logged = [line for line in map(json.loads, filter(lambda text: text.startswith("{"),
                                                          nginx.log_text().splitlines()))
                  if line["path"].startswith(prefix)]
        if len(logged) >= expect or time.monotonic() > deadline:
            return logged
        time.sleep(0.02)


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


def test_the_app_gets_the_identity_not_the_load_balancer_credentials(front, module_key):
    response = get(front, token=alb_token(module_key), headers={"X-Amzn-Oidc-Accesstoken": "eyJ.access.token",
                                                                "X-Amzn-Oidc-Identity": "ada-sub"})

    names = {name.lower() for name in response.json()["headers"]}
    assert "x-auth-email" in names and "x-amzn-oidc-identity" in names
    assert not names & {"x-amzn-oidc-data", "x-amzn-oidc-accesstoken"}


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


def test_logs_carry_the_path_never_the_query_string_nor_the_token(front_processes, module_key):
    sidecar, nginx, front = front_processes
    allowed, refused = alb_token(module_key), alb_token(module_key, user_claims("eve@elsewhere.org"))
    assert get(front, "/logged/allowed?api_key=sekrit-1", allowed).status_code == 200
    assert get(front, "/logged/refused?search=sekrit-2", refused).status_code == 401

    sidecar_log = wait_for_log_line(sidecar, '"path": "/logged/refused"')
    lines = access_log(nginx, "/logged/", expect=2)
    assert [(line["path"], line["status"]) for line in lines] == [("/logged/allowed", 200), ("/logged/refused", 401)]
    nginx_log = nginx.log_text()
    for text in (sidecar_log, nginx_log):
        assert "sekrit" not in text
        assert all(segment not in text for token in (allowed, refused) for segment in token.split("."))
    assert '"reason": "domain_not_allowed"' in sidecar_log


def test_an_allowed_decision_is_reused_refusals_never(front_processes, module_key):
    _, nginx, front = front_processes
    token, other = alb_token(module_key, user_claims(sub="cache-1")), alb_token(module_key, user_claims(sub="cache-2"))
    forged = with_payload(token, user_claims("mallory@example.com"))
    for path, t in [("/c/1", token), ("/c/2", token), ("/c/3", other), ("/c/4", forged), ("/c/5", forged)]:
        get(front, path, t)

    seen = {line["path"]: (line["status"], line["auth_cache"]) for line in access_log(nginx, "/c/", expect=5)}
    assert seen == {"/c/1": (200, "MISS"), "/c/2": (200, "HIT"), "/c/3": (200, "MISS"),
                    "/c/4": (401, "MISS"), "/c/5": (401, "MISS")}


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


def test_validator_down_is_503_and_logged_without_the_query(work_dir, demo_app, module_key):
    nobody_listening = f"127.0.0.1:{free_port()}"
    nginx, base_url = start_nginx(work_dir, sidecar=nobody_listening, app=demo_app[1])
    try:
        response = get(base_url, "/down?token=sekrit", token=alb_token(module_key))
        assert response.status_code == 503
        assert [line["status"] for line in access_log(nginx, "/down", expect=1)] == [503]
        assert "sekrit" not in nginx.log_text()  # error lines quote the request line: only critical ones are kept
    finally:
        nginx.stop()


def test_expired_and_revoked_signer_tokens_are_never_served_from_either_cache(work_dir, demo_app):
    """Both caches (nginx's, the sidecar's) hold an allowed decision at most until the token's exp and until its
    signing key is trusted no longer (KEY_CACHE_SECONDS), whichever comes first."""
    key_server = KeyServer()
    key, revoked = key_server.publish(SigningKey()), key_server.publish(SigningKey())
    sidecar, nginx, base_url = _front(work_dir, key_server, demo_app, auth_required=True,
                                      ENV_LEEWAY_SECONDS="0", ENV_KEY_CACHE_SECONDS="4")
    try:
        claims = user_claims(expires_in=4.5)
        expiring, signed_by_revoked = alb_token(key, claims), alb_token(revoked, user_claims("bob@example.com"))
        keys_fetched = time.time()
        for token in (expiring, signed_by_revoked, expiring, signed_by_revoked):
            assert get(base_url, "/cached", token).status_code == 200
        assert [line["auth_cache"] for line in access_log(nginx, "/cached", expect=4)] == ["MISS", "MISS", "HIT", "HIT"]

        del key_server.keys[revoked.kid]  # the key endpoint stops serving the key
        time.sleep(max(claims["exp"], keys_fetched + 4) + 0.3 - time.time())

        assert get(base_url, "/after", expiring).status_code == 401
        assert get(base_url, "/after", signed_by_revoked).status_code == 401
        assert [line["auth_cache"] for line in access_log(nginx, "/after", expect=2)] == ["EXPIRED", "EXPIRED"]
        refusals = wait_for_log_line(sidecar, '"reason": "unknown_kid"')
        assert '"reason": "expired"' in refusals
    finally:
        nginx.stop()
        sidecar.stop()
        key_server.stop()


def test_the_image_spells_the_contract_environment_names():
    entrypoint, template = FRONT_ENTRYPOINT.read_text(), FRONT_TEMPLATE.read_text()
    substituted = set(re.findall(r"\$\{(AUTH_FRONT_\w+)\}", entrypoint.split("envsubst", 1)[1].split("<")[0]))

    assert substituted == set(front_contract.TEMPLATE_VARIABLES)
    assert set(re.findall(r"\$\{(AUTH_FRONT_\w+)\}", template)) <= substituted


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
