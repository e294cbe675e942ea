"""A Cognito to sign in against: moto in server mode (one per test session and worker), which issues real RS256
tokens and serves each pool's JWKS at ``/<pool id>/.well-known/jwks.json``.

``identity`` holds the directory of the secure API as the stack would make it (groups USER and ADMIN, the
people's client, the resource server's scopes) plus what the tests need to be refused: a second app client of
the same pool, a second pool, and tokens of every kind the end-to-end matrix sends. Users sign in through the
login CLI's own ``sign_in`` (temporary password, then a new one), as a person would.
"""
from __future__ import annotations

import base64
import json
import secrets
import time
from dataclasses import dataclass, field
from types import SimpleNamespace
from unittest import mock

import boto3
import jwt
import pytest
from moto.utilities.utils import load_resource

from runtime.secure_api import contract, login
from tests.conftest import moto_server

REGION = "us-east-1"
USERS = {"user": ["USER"], "admin": ["ADMIN"], "both": ["USER", "ADMIN"]}


@pytest.fixture(scope="session")
def moto_endpoint():
    with moto_server() as endpoint:  # this package's own: other packages reset theirs between tests
        yield endpoint


@pytest.fixture(scope="session")
def cognito(moto_endpoint):
    # Not the environment: tests of the CLI set AWS_ENDPOINT_URL themselves.
    return boto3.client("cognito-idp", endpoint_url=moto_endpoint, region_name=REGION, aws_access_key_id="testing",
                        aws_secret_access_key="testing")


def password() -> str:
    return f"Pw-{secrets.token_urlsafe(12)}-9a"


@dataclass
class Pool:
    id: str
    client_id: str
    endpoint: str

    @property
    def issuer(self) -> str:
        return f"https://cognito-idp.{REGION}.amazonaws.com/{self.id}"

    @property
    def jwks_url(self) -> str:
        return f"{self.endpoint}/{self.id}/.well-known/jwks.json"


def make_pool(cognito, endpoint: str, name: str, mfa: str = "OFF") -> Pool:
    pool = cognito.create_user_pool(PoolName=name, UsernameAttributes=["email"], MfaConfiguration=mfa)["UserPool"]["Id"]
    for group in contract.GROUPS:
        cognito.create_group(UserPoolId=pool, GroupName=group)
    cognito.create_resource_server(UserPoolId=pool, Identifier=contract.RESOURCE_SERVER, Name="api", Scopes=[
        {"ScopeName": s, "ScopeDescription": d} for s, d in contract.SCOPES.items()])
    return Pool(pool, people_client(cognito, pool, "people"), endpoint)


def people_client(cognito, pool: str, name: str) -> str:
    return cognito.create_user_pool_client(
        UserPoolId=pool, ClientName=name,
        ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"])["UserPoolClient"]["ClientId"]


def invite(cognito, pool: str, email: str, groups: list[str]) -> str:
    """Creates the user as the stack does (an administrator's invitation) and returns the temporary password."""
    temporary = password()
    cognito.admin_create_user(UserPoolId=pool, Username=email, TemporaryPassword=temporary, MessageAction="SUPPRESS",
                              UserAttributes=[{"Name": "email", "Value": email}])
    for group in groups:
        cognito.admin_add_user_to_group(UserPoolId=pool, Username=email, GroupName=group)
    return temporary


def first_sign_in(cognito, client_id: str, email: str, temporary: str) -> tuple[login.Tokens, str]:
    new = password()
    answers = iter([temporary, new])
    return login.sign_in(cognito, client_id, email, lambda what: next(answers)), new


def b64(data: dict | bytes) -> str:
    raw = data if isinstance(data, bytes) else json.dumps(data).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def claims_of(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


def moto_signed(claims: dict) -> str:
    """A token signed with the key moto signs every pool's tokens with (the kid its JWKS serves): for token kinds
    moto cannot issue (it has no /oauth2/token, so no client-credentials grant)."""
    key = jwt.PyJWK(load_resource("cognitoidp/resources/jwks-private.json")).key
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": "dummy"})


@dataclass
class Identity:
    pool: Pool
    other_client: str
    machine_client: str
    passwords: dict[str, str]
    tokens: dict[str, str | None] = field(default_factory=dict)
    """Authorization header values by the matrix's identities (None: no header)."""
    refresh_tokens: dict[str, str] = field(default_factory=dict)

    @property
    def client_ids(self) -> str:
        return f"{self.pool.client_id},{self.machine_client}"


@pytest.fixture(scope="session")
def identity(cognito, moto_endpoint) -> Identity:
    pool = make_pool(cognito, moto_endpoint, "secure-api")
    other_client = people_client(cognito, pool.id, "another-app")
    machine_client = people_client(cognito, pool.id, "reporting")  # stands in for the client-credentials client
    found = Identity(pool, other_client, machine_client, passwords={})
    bearer = "Bearer {}".format
    for name, groups in USERS.items():
        email = f"{name}@example.com"
        tokens, found.passwords[name] = first_sign_in(cognito, pool.client_id, email,
                                                      invite(cognito, pool.id, email, groups))
        found.tokens[name] = bearer(tokens.access_token)
        found.refresh_tokens[name] = tokens.refresh_token
        if name == "user":
            found.tokens["ID token"] = bearer(tokens.id_token)
    found.tokens["anonymous"] = None

    user = claims_of(found.tokens["user"].split()[1])
    # moto stamps tokens with its clock: two hours ago, a token that lasted one hour has expired.
    two_hours_ago = time.time() - 7200
    with mock.patch("moto.cognitoidp.models.time", SimpleNamespace(time=lambda: two_hours_ago)):
        expired = cognito.initiate_auth(ClientId=pool.client_id, AuthFlow="USER_PASSWORD_AUTH", AuthParameters={
            "USERNAME": "user@example.com", "PASSWORD": found.passwords["user"]})["AuthenticationResult"]
    found.tokens["expired"] = bearer(expired["AccessToken"])

    other_pool = make_pool(cognito, moto_endpoint, "someone-else")
    tokens, _ = first_sign_in(cognito, other_pool.client_id, "both@example.com",
                              invite(cognito, other_pool.id, "both@example.com", ["USER", "ADMIN"]))
    found.tokens["wrong pool"] = bearer(tokens.access_token)
    found.tokens["wrong client"] = bearer(cognito.initiate_auth(
        ClientId=other_client, AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": "both@example.com", "PASSWORD": found.passwords["both"]}
    )["AuthenticationResult"]["AccessToken"])

    header, _, signature = found.tokens["user"].split()[1].split(".")
    found.tokens["tampered"] = bearer(f"{header}.{b64({**user, 'cognito:groups': ['USER', 'ADMIN']})}.{signature}")
    admin = claims_of(found.tokens["admin"].split()[1])
    found.tokens["alg none"] = bearer(f"{b64({'alg': 'none', 'typ': 'JWT', 'kid': 'dummy'})}.{b64(admin)}.")

    now = int(time.time())
    machine = {"iss": pool.issuer, "sub": machine_client, "client_id": machine_client, "token_use": "access",
               "iat": now, "exp": now + 3600, "jti": secrets.token_hex(8), "version": 2}
    found.tokens["machine write"] = bearer(moto_signed({**machine, "scope": "secure-api/write secure-api/read"}))
    found.tokens["machine read"] = bearer(moto_signed({**machine, "scope": "secure-api/read"}))
    return found


@pytest.fixture
def authorizer_environment(identity) -> dict[str, str]:
    return {contract.ENV_ISSUER: identity.pool.issuer, contract.ENV_CLIENT_IDS: identity.client_ids,
            contract.ENV_JWKS_URL: identity.pool.jwks_url}
