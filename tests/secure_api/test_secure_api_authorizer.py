"""The authorizer's token checks one by one, with real keys: moto's pool keys for its tokens, and keys made here
(served by a local JWKS endpoint that counts its requests) for rotation and caching."""
from __future__ import annotations

import functools
import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from runtime.secure_api import contract
from runtime.secure_api.authorizer import handler
from runtime.secure_api.authorizer.tokens import AccessTokens, KeysUnavailable, Settings, TokenRefused
from tests.secure_api.conftest import b64, claims_of, moto_signed


class KeyServer:
    """A JWKS endpoint on 127.0.0.1:<ephemeral> serving the public halves of ``keys``; counts its requests."""

    def __init__(self):
        self.keys: dict[str, rsa.RSAPrivateKey] = {}
        self.requests = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                server.requests += 1
                body = json.dumps({"keys": [{**json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(k.public_key())),
                                             "kid": kid, "alg": "RS256", "use": "sig"}
                                            for kid, k in server.keys.items()]}).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.http.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.http.server_address[1]}/.well-known/jwks.json"

    def new_key(self, kid: str) -> rsa.RSAPrivateKey:
        self.keys[kid] = private_key(len(self.keys))
        return self.keys[kid]


@functools.cache
def private_key(index: int) -> rsa.RSAPrivateKey:
    """RSA keys are slow to make: each test server's first, second… key is made once per session."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


ISSUER = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Example"
CLIENT = "people-client"


def claims(**changes) -> dict:
    now = int(time.time())
    return {"iss": ISSUER, "sub": "5f0c-user", "client_id": CLIENT, "token_use": "access", "username": "5f0c-user",
            "iat": now, "exp": now + 600, "scope": "aws.cognito.signin.user.admin", "cognito:groups": ["USER"],
            **changes}


@pytest.fixture
def keys():
    server = KeyServer()
    yield server
    server.http.shutdown()


@pytest.fixture
def tokens(keys) -> AccessTokens:
    return AccessTokens(Settings(ISSUER, frozenset({CLIENT}), keys.url))


def signed(key, kid: str = "k1", **changes) -> str:
    return "Bearer " + jwt.encode(claims(**changes), key, algorithm="RS256", headers={"kid": kid})


def test_keys_are_fetched_once_and_unknown_key_ids_refetch_at_most_once_per_cooldown(keys, tokens):
    first = keys.new_key("k1")
    for _ in range(5):
        assert tokens.principal(signed(first)).groups == {"USER"}
    assert keys.requests == 1
    stranger = private_key(9)
    for kid in ("made-up-1", "made-up-2"):
        with pytest.raises(TokenRefused, match="unknown signing key"):
            tokens.principal(signed(stranger, kid=kid))
    assert keys.requests == 1  # within the 30 s after a fetch, made-up key ids cost the endpoint nothing


def test_a_rotated_key_is_fetched_when_a_token_names_it(keys):
    tokens = AccessTokens(Settings(ISSUER, frozenset({CLIENT}), keys.url, refetch_cooldown_seconds=0))
    assert tokens.principal(signed(keys.new_key("k1"))).groups == {"USER"}
    rotated = keys.new_key("k2")  # Cognito rotates by publishing a key under a new kid
    assert tokens.principal(signed(rotated, kid="k2", **{"cognito:groups": ["ADMIN"]})).groups == {"ADMIN"}
    assert keys.requests == 2


def test_an_hmac_token_keyed_with_the_public_key_is_refused_before_any_key_lookup(keys, tokens):
    public = keys.new_key("k1").public_key().public_bytes(serialization.Encoding.PEM,
                                                         serialization.PublicFormat.SubjectPublicKeyInfo)
    # Signed by hand: PyJWT itself refuses to use a PEM key as an HMAC secret.
    signing_input = f"{b64({'alg': 'HS256', 'typ': 'JWT', 'kid': 'k1'})}.{b64(claims(**{'cognito:groups': ['ADMIN']}))}"
    signature = hmac.new(public, signing_input.encode(), hashlib.sha256).digest()
    forged = f"Bearer {signing_input}.{b64(signature)}"
    with pytest.raises(TokenRefused, match="algorithm 'HS256' is not RS256"):
        tokens.principal(forged)
    assert keys.requests == 0


@pytest.mark.parametrize("authorization, reason", [
    (None, "no bearer token"), ("", "no bearer token"), ("Basic dXNlcjpwdw==", "no bearer token"),
    ("Bearer ", "no bearer token"), ("Bearer not-a-jwt", "malformed token"),
    ("Bearer " + b64({"alg": "RS256"}) + "." + b64(claims()) + ".c2ln", "no key id"),
])
def test_requests_without_a_usable_bearer_token_are_refused(tokens, authorization, reason):
    with pytest.raises(TokenRefused) as refused:
        tokens.principal(authorization)
    assert refused.value.reason == reason


@pytest.mark.parametrize("changes, reason", [
    ({"iss": ISSUER + "x"}, "issuer is not this pool"),
    ({"exp": int(time.time()) - 1}, "expired"),
    ({"token_use": "id"}, "token_use 'id' is not access"),
    ({"client_id": "someone-else"}, "client not allowed"),
    ({"sub": None}, "missing claim sub"),
])
def test_each_claim_check_refuses_on_its_own(keys, tokens, changes, reason):
    key = keys.new_key("k1")
    token = claims(**changes)
    token = {k: v for k, v in token.items() if v is not None}
    with pytest.raises(TokenRefused) as refused:
        tokens.principal("Bearer " + jwt.encode(token, key, algorithm="RS256", headers={"kid": "k1"}))
    assert refused.value.reason == reason


def test_the_issuer_check_refuses_another_pool_even_with_an_allowed_client_and_a_valid_signature(identity):
    # moto signs every pool's tokens with one key, so only the issuer tells the pools apart here.
    tokens = AccessTokens(Settings(identity.pool.issuer, frozenset({identity.pool.client_id}), identity.pool.jwks_url))
    mine = claims_of(identity.tokens["user"].split()[1])
    assert tokens.principal(identity.tokens["user"]).groups == {"USER"}
    other = moto_signed({**mine, "iss": mine["iss"].rsplit("/", 1)[0] + "/us-east-1_other"})
    with pytest.raises(TokenRefused, match="issuer is not this pool"):
        tokens.principal(f"Bearer {other}")


def test_scopes_of_other_resource_servers_and_unknown_scopes_are_ignored(keys, tokens):
    key = keys.new_key("k1")
    principal = tokens.principal(signed(key, scope="other-api/write secure-api/write secure-api/delete openid",
                                        username=None, **{"cognito:groups": None}))
    assert principal.scopes == {"write"} and principal.groups == frozenset()


def test_unreachable_keys_raise_instead_of_refusing(tokens, keys):
    keys.http.shutdown()
    keys.http.server_close()
    with pytest.raises(KeysUnavailable):
        tokens.principal(signed(private_key(0)))


def test_a_route_without_an_access_rule_is_denied_whoever_asks(identity, authorizer_environment, monkeypatch):
    for name, value in authorizer_environment.items():
        monkeypatch.setenv(name, value)
    handler.access_tokens.cache_clear()
    try:
        event = {"version": "2.0", "type": "REQUEST", "routeKey": "DELETE /everything", "rawPath": "/everything",
                 "headers": {"authorization": identity.tokens["both"]}, "requestContext": {"requestId": "r1"}}
        assert handler.handler(event, None) == {"isAuthorized": False}
        event["routeKey"] = contract.ADMINISTRATION
        answer = handler.handler(event, None)
        assert answer["isAuthorized"] is True
        assert answer["context"]["groups"] == "ADMIN,USER" and answer["context"]["kind"] == "user"
        # The private backend's routes have their rule too: a USER member gets the identity the backend is sent.
        event["routeKey"] = contract.ADD_ITEM
        answer = handler.handler(event, None)
        assert answer["isAuthorized"] is True and answer["context"][contract.CALLER_CONTEXT_KEY]
    finally:
        handler.access_tokens.cache_clear()


@pytest.mark.parametrize("environ, problem", [
    ({}, contract.ENV_ISSUER),
    ({contract.ENV_ISSUER: "http://cognito-idp.example/pool", contract.ENV_CLIENT_IDS: "a"}, contract.ENV_ISSUER),
    ({contract.ENV_ISSUER: ISSUER, contract.ENV_CLIENT_IDS: " , "}, contract.ENV_CLIENT_IDS),
])
def test_settings_refuse_an_incomplete_environment(environ, problem):
    with pytest.raises(ValueError, match=problem):
        Settings.from_env(environ)


def test_settings_derive_the_keys_url_from_the_issuer():
    settings = Settings.from_env({contract.ENV_ISSUER: ISSUER + "/", contract.ENV_CLIENT_IDS: "a, b"})
    assert settings.jwks_url == ISSUER + "/.well-known/jwks.json" and settings.client_ids == {"a", "b"}
