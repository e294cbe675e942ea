"""The route handlers on their own (payload 2.0 events as API Gateway sends them): the check they repeat, bodies
API Gateway base64-encodes, and settings that are missing."""
from __future__ import annotations

import base64
import json
from unittest import mock

import pytest

from runtime.secure_api import contract, handlers
from runtime.secure_api.contract import Principal

CONTEXT = mock.Mock(function_name="handlers", memory_limit_in_mb=256, aws_request_id="r",
                    invoked_function_arn="arn:aws:lambda:us-east-1:123456789012:function:handlers")
USER = Principal("sub-1", "people", user=True, groups=frozenset({"USER"})).context()


@pytest.fixture(autouse=True)
def settings(monkeypatch):
    monkeypatch.setenv(contract.ENV_COMPONENT_NAME, "Echo")
    monkeypatch.setenv(contract.ENV_API_VERSION, "v3")
    handlers.settings.cache_clear()
    yield
    handlers.settings.cache_clear()


def event(route: str, authorizer: dict | None = None, body: str | None = None, base64_encoded: bool = False):
    method, path = route.split(" ", 1)
    context = {"requestId": "req-7", "routeKey": route, "stage": "$default",
               "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "192.0.2.1",
                        "userAgent": "test"}}
    if authorizer is not None:
        context["authorizer"] = {"lambda": authorizer}
    return {"version": "2.0", "routeKey": route, "rawPath": path, "rawQueryString": "", "headers": {},
            "requestContext": context, "body": body, "isBase64Encoded": base64_encoded}


def test_a_guarded_route_reached_without_the_authorizer_answers_403_not_the_page():
    for route in (contract.PRIVATE, contract.ADMINISTRATION, contract.ECHO):
        response = handlers.handler(event(route, body="x"), CONTEXT)
        assert response["statusCode"] == 403 and "Page" not in response["body"]
        assert json.loads(response["body"]) == {"error": "this route needs a signed-in principal allowed by its "
                                                         "authorizer"}
    wrong_group = handlers.handler(event(contract.ADMINISTRATION, USER), CONTEXT)
    assert wrong_group["statusCode"] == 403
    assert handlers.handler(event(contract.PRIVATE, USER), CONTEXT)["body"] == "Private Page"


def test_echo_decodes_a_base64_body_and_refuses_one_that_is_not_utf8():
    text = "zwölf Boxkämpfer"
    encoded = event(contract.ECHO, USER, base64.b64encode(text.encode()).decode(), base64_encoded=True)
    assert handlers.handler(encoded, CONTEXT)["body"] == f"req-7 {text} Echo v3"
    binary = event(contract.ECHO, USER, base64.b64encode(b"\xff\xfe\x00").decode(), base64_encoded=True)
    response = handlers.handler(binary, CONTEXT)
    assert (response["statusCode"], json.loads(response["body"])) == (400, {"error": "the request body must be "
                                                                                      "UTF-8 text"})


def test_a_missing_body_is_a_client_error():
    response = handlers.handler(event(contract.ECHO, USER, None), CONTEXT)
    assert response["statusCode"] == 400


def test_missing_or_invalid_settings_fail_loudly_instead_of_echoing_blanks(monkeypatch):
    monkeypatch.setenv(contract.ENV_API_VERSION, "latest!")
    with pytest.raises(ValueError, match=contract.ENV_API_VERSION):
        handlers.handler(event(contract.ECHO, USER, "hi"), CONTEXT)


def test_routes_the_contract_does_not_have_answer_404_json():
    response = handlers.handler(event("GET /admin/users"), CONTEXT)
    assert (response["statusCode"], json.loads(response["body"])) == (404, {"error": "no such route"})
