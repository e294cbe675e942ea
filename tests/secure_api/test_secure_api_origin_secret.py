"""The authorizer's origin-secret check, the real handler against Secrets Manager (moto in-process): requests
that skip the edge (no header, a wrong value, a value two rotations old) are refused; the current value and,
during a rotation, the previous one pass on to the token checks."""
from __future__ import annotations

import boto3
import pytest
from moto import mock_aws

from runtime.secure_api import contract
from runtime.secure_api.authorizer import handler, origin_secret

SECRET = contract.origin_secret_name("dev")
FIRST, SECOND, THIRD = "first-value-0123456789", "second-value-0123456789", "third-value-0123456789"


@pytest.fixture
def secrets(identity, authorizer_environment, monkeypatch):
    """A secret holding FIRST, the handler's environment pointing at it; identity first (its own moto server)."""
    for name, value in {**authorizer_environment, contract.ENV_ORIGIN_SECRET: SECRET,
                        "AWS_DEFAULT_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "testing",
                        "AWS_SECRET_ACCESS_KEY": "testing"}.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        client = boto3.client("secretsmanager", region_name="us-east-1")
        client.create_secret(Name=SECRET, SecretString=FIRST)
        handler.checks.cache_clear()
        handler.access_tokens.cache_clear()
        yield client
        handler.checks.cache_clear()
        handler.access_tokens.cache_clear()


def rotate(client, value: str) -> None:
    """What a rotation does: a new AWSCURRENT; the old current becomes AWSPREVIOUS."""
    client.put_secret_value(SecretId=SECRET, SecretString=value)
    handler.checks.cache_clear()  # a new container (or the cache's expiry)


def event(route: str, headers: dict[str, str]) -> dict:
    return {"version": "2.0", "type": "REQUEST", "routeKey": route, "rawPath": "/" + route.split("/", 1)[1],
            "headers": headers, "requestContext": {"requestId": "r1"}}


def ask(identity, route: str, origin: str | None, token: str = "user") -> dict:
    headers = {"authorization": identity.tokens[token]}
    if origin is not None:
        headers[contract.ORIGIN_SECRET_HEADER.lower()] = origin
    return handler.handler(event(route, headers), None)


def test_without_the_header_or_with_a_wrong_value_every_route_is_refused(secrets, identity):
    for route in (contract.PRIVATE, contract.PUBLIC):
        assert ask(identity, route, None) == {"isAuthorized": False}
        assert ask(identity, route, "not-the-secret") == {"isAuthorized": False}
        assert ask(identity, route, "") == {"isAuthorized": False}


def test_the_current_value_passes_on_to_the_token_checks(secrets, identity):
    allowed = ask(identity, contract.PRIVATE, FIRST)
    assert allowed["isAuthorized"] is True and allowed["context"]["groups"] == "USER"
    assert ask(identity, contract.ADMINISTRATION, FIRST) == {"isAuthorized": False}  # the token still decides
    assert ask(identity, contract.PUBLIC, FIRST)["isAuthorized"] is True


def test_the_header_name_is_case_insensitive(secrets, identity):
    headers = {"authorization": identity.tokens["user"], contract.ORIGIN_SECRET_HEADER.upper(): FIRST}
    assert handler.handler(event(contract.PRIVATE, headers), None)["isAuthorized"] is True


def test_after_a_rotation_current_and_previous_pass_and_an_older_value_is_refused(secrets, identity):
    rotate(secrets, SECOND)
    assert ask(identity, contract.PRIVATE, SECOND)["isAuthorized"] is True
    assert ask(identity, contract.PRIVATE, FIRST)["isAuthorized"] is True  # CloudFront not yet updated
    rotate(secrets, THIRD)
    assert ask(identity, contract.PRIVATE, THIRD)["isAuthorized"] is True
    assert ask(identity, contract.PRIVATE, SECOND)["isAuthorized"] is True
    assert ask(identity, contract.PRIVATE, FIRST) == {"isAuthorized": False}


def test_values_are_cached_for_the_configured_time(secrets):
    now = [0.0]
    secret = origin_secret.OriginSecret(SECRET, secrets, cache_seconds=300, clock=lambda: now[0])
    header = contract.ORIGIN_SECRET_HEADER.lower()
    assert secret.check({header: FIRST}) is None
    secrets.put_secret_value(SecretId=SECRET, SecretString=SECOND)
    secrets.put_secret_value(SecretId=SECRET, SecretString=THIRD)
    now[0] = 299.0
    assert secret.check({header: FIRST}) is None and secret.check({header: THIRD}) is not None
    now[0] = 300.0
    assert secret.check({header: THIRD}) is None
    assert secret.check({header: FIRST}) == "origin secret does not match"


def test_a_missing_secret_raises_instead_of_refusing(secrets, identity, monkeypatch):
    monkeypatch.setenv(contract.ENV_ORIGIN_SECRET, "dev/secure-api/no-such-secret")
    handler.checks.cache_clear()
    with pytest.raises(secrets.exceptions.ResourceNotFoundException):
        ask(identity, contract.PRIVATE, FIRST)


def test_denials_never_log_the_values(secrets, identity, caplog):
    caplog.set_level("INFO")
    ask(identity, contract.PRIVATE, "guessed-" + FIRST[:5])
    ask(identity, contract.PRIVATE, FIRST)
    logged = " ".join(str(record.__dict__) for record in caplog.records)
    assert "origin secret does not match" in logged
    assert FIRST not in logged and "guessed-" not in logged


@pytest.mark.parametrize("seconds", ["-1", "3601", "five"])
def test_an_invalid_cache_time_is_refused_naming_the_variable(seconds):
    with pytest.raises(ValueError, match=contract.ENV_ORIGIN_SECRET_CACHE_SECONDS):
        origin_secret.from_env({contract.ENV_ORIGIN_SECRET: SECRET,
                                contract.ENV_ORIGIN_SECRET_CACHE_SECONDS: seconds}, lambda: None)


def test_without_the_variable_there_is_no_check():
    assert origin_secret.from_env({}, lambda: None) is None


def test_the_arn_pattern_matches_the_name_with_its_random_suffix():
    assert (contract.origin_secret_arn_pattern("aws", "eu-west-1", "123456789012", "prod")
            == "arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/secure-api/origin-secret-??????")


def test_a_public_route_needs_the_origin_secret_and_no_token(secrets):
    header = contract.ORIGIN_SECRET_HEADER.lower()
    assert handler.handler(event(contract.PUBLIC, {header: FIRST}), None)["isAuthorized"] is True
    assert handler.handler(event(contract.PUBLIC, {header: SECOND}), None) == {"isAuthorized": False}
    assert handler.handler(event(contract.PRIVATE, {header: FIRST}), None) == {"isAuthorized": False}
