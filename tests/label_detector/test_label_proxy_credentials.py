"""The proxy's credential path end to end: service-account key in (moto) Secrets Manager →
ID token from a real token endpoint on loopback → Bearer token checked in front of the function."""

import json
import logging

import boto3
import pytest
from moto import mock_aws

from tests.label_detector.label_fakes import CloudRunFront, TokenEndpoint


@pytest.fixture
def token_endpoint():
    with TokenEndpoint() as endpoint:
        yield endpoint


@pytest.fixture
def function_front(token_endpoint):
    with CloudRunFront(token_endpoint) as front:
        yield front


@pytest.fixture
def secrets_manager(monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        yield boto3.client("secretsmanager")


@pytest.fixture
def caller_key(token_endpoint, secrets_manager):
    key = token_endpoint.new_service_account_key()
    arn = secrets_manager.create_secret(Name="label-proxy/gcp-caller", SecretString=json.dumps(key))["ARN"]
    return key, arn


def body(response: dict) -> dict:
    return json.loads(response["body"])


def test_id_token_is_minted_once_and_reaches_the_function_as_bearer(
    cold_proxy, function_front, token_endpoint, caller_key, api_event, lambda_context, caplog
):
    key, secret_arn = caller_key
    proxy = cold_proxy(GFUNC_URL=function_front.url, GCP_CREDENTIALS_SECRET_ARN=secret_arn)
    caplog.set_level(logging.DEBUG)

    responses = [
        proxy.handler(api_event(f"imageUri=gs://photos/{n}.jpg"), lambda_context) for n in range(4)
    ]

    assert [response["statusCode"] for response in responses] == [200] * 4
    assert [body(response)["imageAnalyzed"] for response in responses] == [
        f"gs://photos/{n}.jpg" for n in range(4)
    ]
    assert body(responses[0])["labels"] == [{"description": "Cat", "score": 0.97}]
    assert token_endpoint.rejected == []
    assert token_endpoint.hits == 1
    (id_token,) = token_endpoint.id_tokens
    assert function_front.authorizations == [f"Bearer {id_token}"] * 4
    secrets_in_play = (id_token, key["private_key"].splitlines()[1], key["private_key_id"])
    for secret in secrets_in_play:
        assert all(secret not in response["body"] for response in responses)
        assert secret not in caplog.text


def test_token_near_expiry_is_replaced_before_use(
    cold_proxy, function_front, token_endpoint, caller_key, lambda_context, api_event
):
    # google-auth treats a token as stale 3 min 45 s before it expires: 2-minute tokens never get reused.
    token_endpoint.id_token_lifetime = 120
    proxy = cold_proxy(GFUNC_URL=function_front.url, GCP_CREDENTIALS_SECRET_ARN=caller_key[1])

    statuses = [proxy.handler(api_event("imageUri=gs://photos/a.jpg"), lambda_context)["statusCode"] for _ in range(3)]

    assert statuses == [200, 200, 200]
    assert token_endpoint.hits == 3
    assert function_front.authorizations == [f"Bearer {token}" for token in token_endpoint.id_tokens]
    assert len(set(token_endpoint.id_tokens)) == 3


def test_token_for_another_audience_is_refused_and_answered_502(
    cold_proxy, function_front, token_endpoint, caller_key, lambda_context, api_event
):
    function_front.expected_audience = "https://europe-west1-other-project.cloudfunctions.net/label-detector"
    proxy = cold_proxy(GFUNC_URL=function_front.url, GCP_CREDENTIALS_SECRET_ARN=caller_key[1])

    response = proxy.handler(api_event("imageUri=gs://photos/a.jpg"), lambda_context)

    assert response["statusCode"] == 502
    assert body(response)["message"] == "the label detector refused the proxy's credentials"
    assert body(response)["labels"] == []


def test_key_unknown_to_google_gives_502_and_the_function_is_not_called(
    cold_proxy, function_front, token_endpoint, secrets_manager, lambda_context, api_event
):
    key = token_endpoint.new_service_account_key()
    token_endpoint.trusted.clear()  # e.g. the key was deleted on the GCP side
    arn = secrets_manager.create_secret(Name="label-proxy/revoked", SecretString=json.dumps(key))["ARN"]
    proxy = cold_proxy(GFUNC_URL=function_front.url, GCP_CREDENTIALS_SECRET_ARN=arn)

    response = proxy.handler(api_event("imageUri=gs://photos/a.jpg"), lambda_context)

    assert response["statusCode"] == 502
    assert body(response)["message"] == "the proxy could not authenticate to the label detector"
    assert token_endpoint.rejected == ["unknown key"]
    assert function_front.authorizations == []


@pytest.mark.parametrize(
    "secret_string, logged",
    [
        (None, "ResourceNotFoundException"),
        ("not json", "not a service-account key (JSON)"),
        (json.dumps({"type": "authorized_user"}), "not a service-account key"),
    ],
)
def test_unusable_credentials_secret_is_a_500_with_details_only_in_the_log(
    cold_proxy, function_front, secrets_manager, lambda_context, api_event, caplog, secret_string, logged
):
    if secret_string is None:
        arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:label-proxy/missing-AbCdEf"
    else:
        arn = secrets_manager.create_secret(Name="label-proxy/broken", SecretString=secret_string)["ARN"]
    proxy = cold_proxy(GFUNC_URL=function_front.url, GCP_CREDENTIALS_SECRET_ARN=arn)

    response = proxy.handler(api_event("imageUri=gs://photos/a.jpg"), lambda_context)

    assert response["statusCode"] == 500
    assert body(response)["message"] == "the proxy is misconfigured; see its log"
    assert logged in caplog.text
    assert function_front.authorizations == []
