"""End to end on this machine: moto's Cognito issues the tokens; the stack's plan says which routes exist, which
are guarded by which authorizer with which identity sources and cache, and which functions (handler,
environment, permissions) they run; ``tests.secure_api.http_api`` plays API Gateway's part over HTTP and runs
the real authorizer and handlers in-process. Requests go through ``requests``, as curl would."""
from __future__ import annotations

import json
import socket

import pytest
import requests

from runtime.secure_api import contract, handlers, login
from runtime.secure_api.authorizer import handler as authorizer
from tests.conftest import run_program
from tests.secure_api.conftest import REGION
from tests.secure_api.http_api import HttpApi, IdRecordingMocks

COMPONENT, VERSION = "Secure API Demo", "1.4.2"
IDENTITIES = ["anonymous", "user", "admin", "both", "expired", "wrong pool", "wrong client", "ID token", "tampered",
              "alg none", "machine write", "machine read"]
PAGES = {"GET /public": "Public Page", "GET /private": "Private Page", "GET /admin": "Administrator Page"}
# Who reaches each route: the seed's roles (a user in both groups reaches both), and machine clients by scope.
ADMITTED = {"GET /public": set(IDENTITIES), "GET /private": {"user", "both"}, "GET /admin": {"admin", "both"},
            "POST /echo": {"user", "admin", "both", "machine write"}}
# Why the authorizer refuses a token whatever the route: each bad token is caught by its own check.
REFUSED_BECAUSE = {"expired": "expired", "wrong pool": "issuer is not this pool", "wrong client": "client not allowed",
                   "ID token": "token_use 'id' is not access", "tampered": "bad signature",
                   "alg none": "algorithm 'none' is not RS256"}


@pytest.fixture(scope="module")
def planned():
    alerts = run_program("alerts").outputs
    mocks = IdRecordingMocks(region=REGION, stack_outputs={"test-alerts": alerts})
    plan = run_program("secure-api", {"secure_api": {"component_name": COMPONENT, "api_version": VERSION}},
                       upstream={"alerts": "test-alerts"}, mocks=mocks)
    return plan, mocks


def fresh_caches():
    authorizer.access_tokens.cache_clear()
    handlers.settings.cache_clear()


@pytest.fixture
def api(planned, authorizer_environment):
    fresh_caches()
    emulated = HttpApi.from_plan(*planned)
    emulated.environment = authorizer_environment  # where this test's Cognito is; everything else as planned
    server, url = emulated.serve()
    emulated.url = url
    yield emulated
    server.shutdown()
    fresh_caches()


@pytest.fixture(scope="module")
def matrix_api(planned, identity):
    fresh_caches()
    emulated = HttpApi.from_plan(*planned)
    emulated.environment = {contract.ENV_ISSUER: identity.pool.issuer, contract.ENV_CLIENT_IDS: identity.client_ids,
                            contract.ENV_JWKS_URL: identity.pool.jwks_url}
    server, url = emulated.serve()
    emulated.url = url
    yield emulated
    server.shutdown()
    fresh_caches()


def call(api: HttpApi, route: str, authorization: str | None, body: str = "hello from the matrix"):
    method, path = route.split(" ", 1)
    headers = {"Authorization": authorization} if authorization else {}
    return requests.request(method, api.url + path, headers={**headers, "Content-Type": "text/plain"},
                            data=body.encode() if method == "POST" else None, timeout=10)


@pytest.mark.parametrize("route", list(ADMITTED))
@pytest.mark.parametrize("who", IDENTITIES)
def test_every_route_answers_each_identity_as_the_seed_does(matrix_api, identity, route, who, caplog):
    response = call(matrix_api, route, identity.tokens[who])
    decisions = [json.loads(authorizer.logger.registered_formatter.format(r)) for r in caplog.records
                 if r.getMessage() == "authorization"]
    if route == "GET /public" or who == "anonymous":
        assert decisions == []  # API Gateway answered without asking the authorizer
    else:
        [decision] = decisions
        assert decision["allowed"] == (who in ADMITTED[route])
        assert decision.get("reason") == (None if decision["allowed"] else
                                          REFUSED_BECAUSE.get(who, "not in a group or scope of the route"))
    if who in ADMITTED[route]:
        assert response.status_code == 200, response.text
        expected = PAGES.get(route) or (f"{response.headers['apigw-requestid']} hello from the matrix {COMPONENT} "
                                        f"{VERSION}")
        assert response.text == expected
        assert response.headers["content-type"].startswith("text/plain")
    elif who == "anonymous":
        assert (response.status_code, response.json()) == (401, {"message": "Unauthorized"})
    else:
        assert (response.status_code, response.json()) == (403, {"message": "Forbidden"})


def test_a_cached_answer_is_never_replayed_for_another_route(api, identity):
    user = identity.tokens["user"]
    assert call(api, "GET /private", user).status_code == 200
    assert call(api, "GET /admin", user).status_code == 403  # same token: the route is part of the cache key
    assert api.authorizer_calls == 2
    assert call(api, "GET /private", user).status_code == 200
    assert api.authorizer_calls == 2  # answered from the cache
    now = api.clock()
    api.clock = lambda: now + 301  # past the planned 300 s
    assert call(api, "GET /private", user).status_code == 200
    assert api.authorizer_calls == 3


def test_signing_keys_that_cannot_be_fetched_answer_500_and_are_not_cached_as_a_denial(api, identity):
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{closed.getsockname()[1]}/jwks.json"
    api.environment = {**api.environment, contract.ENV_JWKS_URL: dead}
    response = call(api, "GET /private", identity.tokens["user"])
    assert (response.status_code, response.json()) == (500, {"message": "Internal Server Error"})
    api.environment = {**api.environment, contract.ENV_JWKS_URL: identity.pool.jwks_url}
    authorizer.access_tokens.cache_clear()  # a new container, once the keys are back
    assert call(api, "GET /private", identity.tokens["user"]).text == "Private Page"
    assert api.authorizer_calls == 2


@pytest.mark.parametrize("body", ["", "x" * (contract.ECHO_MAX_BODY_CHARS + 1)])
def test_echo_refuses_an_empty_or_oversized_body_with_a_json_error(api, identity, body):
    response = call(api, "POST /echo", identity.tokens["user"], body=body)
    assert response.status_code == 400
    assert response.json() == {"error": f"the request body must be 1 to {contract.ECHO_MAX_BODY_CHARS} characters"}


def test_echo_of_the_longest_body_allowed_and_of_unicode(api, identity):
    for body in ["x" * contract.ECHO_MAX_BODY_CHARS, "grüße 🙂"]:
        response = call(api, "POST /echo", identity.tokens["both"], body=body)
        assert response.text == f"{response.headers['apigw-requestid']} {body} {COMPONENT} {VERSION}"


def test_a_refreshed_token_reaches_the_route_and_the_logs_never_hold_a_token(api, identity, cognito, caplog):
    refreshed = login.refresh(cognito, identity.pool.client_id, identity.refresh_tokens["admin"])
    token = refreshed.access_token
    assert token not in identity.tokens["admin"]
    assert call(api, "GET /admin", f"Bearer {token}").text == "Administrator Page"
    assert call(api, "GET /admin", identity.tokens["user"]).status_code == 403
    # The records as the functions' JSON formatter writes them to CloudWatch.
    logs = "\n".join(authorizer.logger.registered_formatter.format(record) for record in caplog.records)
    decisions = [line for line in logs.splitlines() if '"message":"authorization"' in line]
    assert len(decisions) == 2 and '"allowed":true' in decisions[0] and '"allowed":false' in decisions[1]
    assert '"reason":"not in a group or scope of the route"' in decisions[1]
    for secret in (token, identity.tokens["user"].split()[1], identity.refresh_tokens["admin"]):
        assert secret.split(".")[-1] not in logs


def test_an_unknown_route_answers_404(api):
    response = requests.get(api.url + "/nowhere", timeout=10)
    assert (response.status_code, response.json()) == (404, {"message": "Not Found"})
