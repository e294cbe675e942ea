"""The token validator, its caches, the settings and the /auth endpoint, without nginx.
Keys are fetched over HTTP from a real local key server."""

import json
import logging
import math
import time

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from werkzeug.test import Client

from runtime.auth_sidecar.app import create_app, nginx_cache_seconds
from runtime.auth_sidecar.settings import DEFAULT_KEY_URL_TEMPLATE, Settings, SettingsError
from runtime.auth_sidecar.validator import AlbPublicKeys, AlbTokenValidator, Identity, KeyUnavailable, TokenRejected
from tests.auth_sidecar.alb_auth_support import (
    ALB_ARN,
    OTHER_ALB_ARN,
    SigningKey,
    alb_header,
    alb_token,
    encode_token,
    hs256_token_keyed_with_public_pem,
    unsigned_token,
    user_claims,
    with_payload,
)


class Clock:
    """Seconds since the epoch that a test moves on; starts at the real time (PyJWT checks exp against it)."""

    def __init__(self):
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


def make_validator(key_server, *, domains=("example.com",), cache_size=8, leeway=10, key_ttl=300, decisions=0,
                   clock=time.time):
    public_keys = AlbPublicKeys(key_server.url_template, "eu-west-1", cache_size=cache_size, ttl_seconds=key_ttl,
                                timeout_seconds=2, clock=clock)
    return AlbTokenValidator(public_keys, alb_arn=ALB_ARN, valid_domains=frozenset(domains), leeway_seconds=leeway,
                             decision_cache_seconds=decisions, clock=clock)


def reason_for(validator, token) -> str:
    """The refusal as the log shows it: ``reason`` (the metric's dimension), then the detail if any."""
    with pytest.raises(TokenRejected) as rejected:
        validator.validate(token)
    return str(rejected.value)


# --- the validator ----------------------------------------------------------------------------

@pytest.mark.parametrize("pad", [True, False], ids=["alb-padded", "unpadded"])
def test_valid_token_gives_the_identity(key_server, signing_key, pad):
    identity = make_validator(key_server).validate(alb_token(signing_key, pad=pad))

    assert identity.email == "ada@example.com"
    assert (identity.given_name, identity.family_name) == ("Zoë", "Lovelace")
    assert identity.picture == "https://lh3.googleusercontent.com/a/photo.jpg"
    assert identity.kid == signing_key.kid


def test_key_is_fetched_once_per_kid(key_server, signing_key):
    validator = make_validator(key_server)
    for _ in range(5):
        validator.validate(alb_token(signing_key))

    assert key_server.requests[signing_key.kid] == 1


def test_key_cache_is_bounded(key_server):
    keys = [key_server.publish(SigningKey()) for _ in range(3)]
    validator = make_validator(key_server, cache_size=2)

    for key in keys:  # the third key pushes the first (least recently used) out
        validator.validate(alb_token(key))
    validator.validate(alb_token(keys[2]))
    validator.validate(alb_token(keys[0]))

    assert [key_server.requests[key.kid] for key in keys] == [2, 1, 1]


@pytest.mark.parametrize(
    "make_token, reason",
    [
        (unsigned_token, "algorithm_not_allowed: none"),
        (hs256_token_keyed_with_public_pem, "algorithm_not_allowed: HS256"),
        (lambda key: alb_token(key, signer=OTHER_ALB_ARN), "wrong_signer"),
        (lambda key: alb_token(key, kid="../../etc/passwd"), "invalid_kid"),
        (lambda key: alb_token(key, kid="abc/def?x=1"), "invalid_kid"),
        (lambda key: encode_token({k: v for k, v in alb_header(key).items() if k != "kid"}, user_claims(), key.sign_es256), "invalid_kid"),
    ],
    ids=["alg-none", "hs256-with-public-key", "wrong-signer", "kid-path-traversal", "kid-with-url-syntax", "no-kid"],
)
def test_header_problems_are_refused_before_any_key_fetch(key_server, signing_key, make_token, reason):
    assert reason_for(make_validator(key_server), make_token(signing_key)) == reason
    assert sum(key_server.requests.values()) == 0


def test_hs256_with_public_key_is_refused_even_for_a_cached_kid(key_server, signing_key):
    validator = make_validator(key_server)
    validator.validate(alb_token(signing_key))

    assert reason_for(validator, hs256_token_keyed_with_public_pem(signing_key)).startswith("algorithm_not_allowed")


@pytest.mark.parametrize(
    "make_token, reason_start",
    [
        (lambda key: with_payload(alb_token(key), user_claims("mallory@example.com")), "invalid_token"),
        (lambda key: alb_token(SigningKey(kid=key.kid)), "invalid_token"),
        (lambda key: alb_token(key, user_claims(expires_in=-60)), "expired"),
        (lambda key: alb_token(key, user_claims(exp=None)), "invalid_token"),
        (lambda key: alb_token(key, user_claims(email=None)), "no_email"),
        (lambda key: alb_token(key, user_claims("a@b@example.com")), "no_email"),
        (lambda key: alb_token(key, user_claims("eve@elsewhere.org")), "domain_not_allowed"),
        (lambda key: alb_token(key, user_claims("eve@example.com.evil.org")), "domain_not_allowed"),
        (lambda key: "a.b", "malformed_token"),
        (lambda key: "W10.e30.", "malformed_token"),  # header "[]": JSON, but not an object
        (lambda key: alb_token(key)[:-10], "invalid_token"),
        (lambda key: alb_token(key, user_claims(padding="x" * 20_000)), "token_too_large"),
        (lambda key: "", "missing_token"),
    ],
    ids=["tampered-payload", "signed-by-another-key", "expired", "no-exp", "no-email", "two-at-signs",
         "domain-not-allowed", "domain-suffix-trick", "two-segments", "header-not-an-object",
         "truncated-signature", "oversized", "empty"],
)
def test_invalid_tokens_are_refused(key_server, signing_key, make_token, reason_start):
    assert reason_for(make_validator(key_server), make_token(signing_key)).startswith(reason_start)


def test_expiry_allows_a_small_clock_skew(key_server, signing_key):
    validator = make_validator(key_server, leeway=10)

    assert validator.validate(alb_token(signing_key, user_claims(expires_in=-3))).email == "ada@example.com"
    assert reason_for(validator, alb_token(signing_key, user_claims(expires_in=-30))) == "expired"


def test_domains_match_case_insensitively_and_star_allows_any(key_server, signing_key):
    assert make_validator(key_server).validate(alb_token(signing_key, user_claims("Ada@EXAMPLE.com"))).email == "Ada@EXAMPLE.com"
    any_domain = make_validator(key_server, domains=("*",))
    assert any_domain.validate(alb_token(signing_key, user_claims("eve@elsewhere.org"))).email == "eve@elsewhere.org"


def test_unknown_kid_is_refused_and_not_cached(key_server):
    never_published = SigningKey()
    validator = make_validator(key_server)

    assert reason_for(validator, alb_token(never_published)) == "unknown_kid"
    key_server.publish(never_published)  # the key appears later (a rotation): the next request finds it
    assert validator.validate(alb_token(never_published)).email == "ada@example.com"


@pytest.mark.parametrize(
    "key_body, status",
    [
        (None, 500),
        (b"<html>not a key</html>", 200),
        (ec.generate_private_key(ec.SECP384R1()).public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo), 200),
    ],
    ids=["server-error", "not-pem", "wrong-curve"],
)
def test_key_endpoint_failures_are_unavailable_not_rejections(key_server, signing_key, key_body, status):
    if key_body is not None:
        key_server.keys[signing_key.kid] = key_body
    key_server.status_override = status if status != 200 else None

    with pytest.raises(KeyUnavailable):
        make_validator(key_server).validate(alb_token(signing_key))


def test_unreachable_key_endpoint_is_unavailable_and_recovers(key_server, signing_key):
    validator = make_validator(key_server)
    key_server.status_override = 503
    with pytest.raises(KeyUnavailable):
        validator.validate(alb_token(signing_key))

    key_server.status_override = None
    assert validator.validate(alb_token(signing_key)).email == "ada@example.com"


def test_stopped_key_endpoint_is_unavailable(key_server, signing_key):
    key_server.stop()
    with pytest.raises(KeyUnavailable, match="unreachable"):
        make_validator(key_server).validate(alb_token(signing_key))


# --- hardening: who counts as verified ------------------------------------------------------------

@pytest.mark.parametrize("email_verified", ["false", False, None, "True ", 1],
                         ids=["false-text", "false", "missing", "padded-text", "one"])
def test_an_unverified_email_is_refused(key_server, signing_key, email_verified):
    # Anyone may put an address they do not own on a Cognito or Google account; only email_verified says the
    # provider saw them receive mail there.
    token = alb_token(signing_key, user_claims(email_verified=email_verified))

    assert reason_for(make_validator(key_server), token) == "email_not_verified"


@pytest.mark.parametrize("email_verified", ["true", True], ids=["text", "boolean"])
def test_a_verified_email_passes(key_server, signing_key, email_verified):
    token = alb_token(signing_key, user_claims(email_verified=email_verified))

    assert make_validator(key_server).validate(token).email == "ada@example.com"


@pytest.mark.parametrize("claims", [
    {"custom:hd": None},
    {"custom:hd": "gmail.com"},
    {"custom:hd": "elsewhere.org"},
    {"custom:hd": None, "username": "google_1234", "identities": json.dumps([{"providerName": "Google"}])},
], ids=["consumer-account", "other-workspace", "another-company", "identities-claim"])
def test_a_google_account_outside_the_allowed_workspaces_is_refused(key_server, signing_key, claims):
    # A consumer Google account can carry a company address (verified once, kept after leaving the company):
    # only hd, the Workspace domain, shows that the company manages the account.
    token = alb_token(signing_key, user_claims(**claims))

    assert reason_for(make_validator(key_server), token) == "hosted_domain_not_allowed"


def test_a_google_workspace_account_and_a_cognito_user_pass(key_server, signing_key):
    validator = make_validator(key_server, domains=("example.com", "example.org"))
    workspace = alb_token(signing_key, user_claims("ada@example.org", **{"custom:hd": "EXAMPLE.org"}))
    cognito_user = alb_token(signing_key, user_claims(**{"custom:hd": None, "username": "ada@example.com"}))

    assert validator.validate(workspace).email == "ada@example.org"
    assert validator.validate(cognito_user).email == "ada@example.com"


def test_any_domain_does_not_ask_for_a_workspace(key_server, signing_key):
    token = alb_token(signing_key, user_claims("eve@gmail.com", **{"custom:hd": None}))

    assert make_validator(key_server, domains=("*",)).validate(token).email == "eve@gmail.com"


# --- the caches ---------------------------------------------------------------------------------------

def test_an_allowed_token_is_validated_once_while_its_decision_is_cached(key_server, signing_key):
    clock = Clock()
    validator = make_validator(key_server, decisions=30, clock=clock)
    token = alb_token(signing_key)

    first = validator.validate(token)
    clock.now += 29
    assert validator.validate(token) is first  # the cached decision itself
    clock.now += 2
    again = validator.validate(token)
    assert again is not first and again.email == first.email  # validated again once the decision expired


def test_a_decision_is_never_cached_past_the_token_exp_or_its_key(key_server, signing_key):
    clock = Clock()
    validator = make_validator(key_server, decisions=300, key_ttl=100, clock=clock)
    short_claims = user_claims(expires_in=20)
    short = validator.validate(alb_token(signing_key, short_claims))
    long = validator.validate(alb_token(signing_key, user_claims(expires_in=3600)))

    assert short.cache_until == short_claims["exp"]
    assert long.cache_until == pytest.approx(clock.now + 100)  # the key is trusted for 100 s


def test_refusals_are_never_cached(key_server, signing_key):
    validator = make_validator(key_server, decisions=300)
    never_published = SigningKey()
    token = alb_token(never_published)

    assert reason_for(validator, token) == "unknown_kid"
    key_server.publish(never_published)
    assert validator.validate(token).email == "ada@example.com"


def test_a_revoked_signing_key_admits_no_token_after_the_key_cache_time(key_server, signing_key):
    clock = Clock()
    validator = make_validator(key_server, decisions=300, key_ttl=60, clock=clock)
    cached_token, fresh_token = alb_token(signing_key), alb_token(signing_key, user_claims("bob@example.com"))
    validator.validate(cached_token)

    del key_server.keys[signing_key.kid]  # the endpoint stops serving the key
    clock.now += 61

    assert reason_for(validator, cached_token) == "unknown_kid"  # not served from the decision cache
    assert reason_for(validator, fresh_token) == "unknown_kid"  # nor validated with the dropped key


def test_a_key_whose_refresh_fails_is_used_a_little_longer(key_server, signing_key):
    clock = Clock()
    validator = make_validator(key_server, key_ttl=60, clock=clock)
    validator.validate(alb_token(signing_key))
    key_server.status_override = 503  # the endpoint is down, not saying the key is gone
    clock.now += 61

    assert validator.validate(alb_token(signing_key)).email == "ada@example.com"
    assert key_server.requests[signing_key.kid] == 2
    key_server.status_override = None
    clock.now += 11
    assert validator.validate(alb_token(signing_key)).email == "ada@example.com"
    assert key_server.requests[signing_key.kid] == 3


@pytest.mark.parametrize("cache_until", [100.0, 100.5, 101.0, 130.0, 130.999])
def test_nginx_never_keeps_a_decision_into_the_second_it_ends(cache_until):
    identity = Identity("ada@example.com", None, None, None, "kid", cache_until)
    for tenth in range(0, 300):
        now = 99.0 + tenth / 10
        seconds = nginx_cache_seconds(identity, now)
        # nginx stores valid_sec = ngx_time() + seconds and serves while ngx_time() <= valid_sec, i.e. before
        # floor(now) + seconds + 1.
        assert seconds == 0 or math.floor(now) + seconds + 1 <= cache_until


# --- settings ---------------------------------------------------------------------------------

BASE_ENV = {"ALB_ARN": ALB_ARN, "VALID_DOMAINS": "example.com, @Example.org ", "AWS_REGION": "eu-west-1"}


def test_settings_defaults():
    settings = Settings.from_env(BASE_ENV)

    assert settings.auth_required is True
    assert settings.valid_domains == frozenset({"example.com", "example.org"})
    assert settings.key_url_template == DEFAULT_KEY_URL_TEMPLATE
    assert settings.key_url_template.format(region="eu-west-1", kid="k") == "https://public-keys.auth.elb.eu-west-1.amazonaws.com/k"


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"ALB_ARN": ""}, "ALB_ARN"),
        ({"VALID_DOMAINS": " , "}, "VALID_DOMAINS"),
        ({"VALID_DOMAINS": "*,example.com"}, "VALID_DOMAINS"),
        ({"AUTH_REQUIRED": "maybe"}, "AUTH_REQUIRED"),
        ({"AWS_REGION": ""}, "AWS_REGION"),
        ({"KEY_URL_TEMPLATE": "http://keys.example.com/{kid}"}, "https"),
        ({"KEY_URL_TEMPLATE": "https://keys.example.com/static"}, "{kid}"),
        ({"KEY_CACHE_SIZE": "0"}, "KEY_CACHE_SIZE"),
        ({"JWT_LEEWAY_SECONDS": "soon"}, "JWT_LEEWAY_SECONDS"),
        ({"DECISION_CACHE_SECONDS": "301"}, "DECISION_CACHE_SECONDS"),
        ({"KEY_CACHE_SECONDS": "0"}, "KEY_CACHE_SECONDS"),
        ({"METRICS_INTERVAL_SECONDS": "-1"}, "METRICS_INTERVAL_SECONDS"),
    ],
)
def test_bad_settings_stop_the_start(changes, message):
    with pytest.raises(SettingsError, match=message.replace("{", r"\{").replace("}", r"\}")):
        Settings.from_env({**BASE_ENV, **changes})


def test_auth_required_false_and_loopback_http_key_server():
    settings = Settings.from_env({**BASE_ENV, "AUTH_REQUIRED": "False", "KEY_URL_TEMPLATE": "http://127.0.0.1:8000/{kid}"})

    assert settings.auth_required is False


# --- the /auth endpoint -----------------------------------------------------------------------

@pytest.fixture
def client_for(key_server):
    def make(auth_required=True, **env):
        settings = Settings.from_env({
            **BASE_ENV,
            "AUTH_REQUIRED": str(auth_required),
            "KEY_URL_TEMPLATE": key_server.url_template,
            **env,
        })
        return Client(create_app(settings))

    return make


def test_auth_answers_identity_headers_as_utf8(client_for, signing_key):
    response = client_for().get("/auth", headers={"X-Amzn-Oidc-Data": alb_token(signing_key)})

    assert response.status_code == 200
    assert response.headers["X-Auth-Email"] == "ada@example.com"
    assert response.headers["X-Auth-Given-name"].encode("latin-1").decode("utf-8") == "Zoë"
    assert response.headers["X-Auth-Family-name"] == "Lovelace"
    assert response.headers["X-Auth-Picture"] == "https://lh3.googleusercontent.com/a/photo.jpg"


def test_allowed_decisions_tell_nginx_how_long_to_keep_them(client_for, signing_key):
    client = client_for(DECISION_CACHE_SECONDS="30")
    short = client.get("/auth", headers={"X-Amzn-Oidc-Data": alb_token(signing_key, user_claims(expires_in=10))})
    long = client.get("/auth", headers={"X-Amzn-Oidc-Data": alb_token(signing_key, user_claims(expires_in=600))})
    refused = client.get("/auth", headers={"X-Amzn-Oidc-Data": unsigned_token(signing_key)})

    assert 7 <= int(short.headers["X-Accel-Expires"]) <= 8  # less than the 10 s left before exp
    assert 28 <= int(long.headers["X-Accel-Expires"]) <= 29
    assert refused.headers["X-Accel-Expires"] == "0"


def test_no_decision_is_cached_when_the_cache_is_off(client_for, signing_key):
    response = client_for(DECISION_CACHE_SECONDS="0").get("/auth", headers={"X-Amzn-Oidc-Data": alb_token(signing_key)})

    assert response.status_code == 200 and response.headers["X-Accel-Expires"] == "0"


def test_control_characters_in_claims_cannot_split_headers(client_for, signing_key):
    token = alb_token(signing_key, user_claims(given_name="Eve\r\nX-Auth-Email: root@example.com", family_name="\n"))

    response = client_for().get("/auth", headers={"X-Amzn-Oidc-Data": token})

    assert response.status_code == 200
    assert response.headers["X-Auth-Given-name"] == "EveX-Auth-Email: root@example.com"
    assert response.headers.getlist("X-Auth-Email") == ["ada@example.com"]
    assert "X-Auth-Family-name" not in response.headers


@pytest.mark.parametrize("auth_required, expected", [(True, 401), (False, 200)])
def test_refusal_depends_on_auth_required(client_for, signing_key, auth_required, expected):
    response = client_for(auth_required).get("/auth", headers={"X-Amzn-Oidc-Data": unsigned_token(signing_key)})

    assert response.status_code == expected
    assert not [name for name in response.headers.keys() if name.startswith("X-Auth-")]
    assert response.headers["X-Accel-Expires"] == "0"  # a soft-launch pass is not a decision to keep


@pytest.mark.parametrize("auth_required, expected", [(True, 503), (False, 200)])
def test_key_outage_depends_on_auth_required(client_for, key_server, signing_key, auth_required, expected):
    client = client_for(auth_required)
    key_server.stop()

    response = client.get("/auth", headers={"X-Amzn-Oidc-Data": alb_token(signing_key)})

    assert response.status_code == expected
    assert "X-Auth-Email" not in response.headers


def test_auth_logs_one_json_ready_record_with_the_path_only(client_for, signing_key, caplog):
    token = alb_token(signing_key, user_claims("eve@elsewhere.org"))
    caplog.set_level(logging.INFO, logger="auth_sidecar")

    client_for().get("/auth", headers={"X-Amzn-Oidc-Data": token, "X-Original-Path": "/grafana/?api_key=sekrit"})

    [record] = [r for r in caplog.records if r.name == "auth_sidecar"]
    assert record.fields["outcome"] == "denied"
    assert record.fields["reason"] == "domain_not_allowed"
    assert record.fields["domain"] == "elsewhere.org"
    assert record.fields["path"] == "/grafana/"
    formatted = json.dumps(record.fields) + record.getMessage()
    assert all(segment not in formatted for segment in token.split("."))
    assert "sekrit" not in formatted


def test_unknown_paths_are_404(client_for):
    assert client_for().get("/admin").status_code == 404

def test_healthz(client_for):
    assert client_for().get("/healthz").status_code == 200
