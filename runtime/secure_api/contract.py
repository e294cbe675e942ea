"""What the secure API's runtime and its program share (standard library only): the routes and who may call
each, the groups and scopes of the user directory, environment variable names, and the validators of the
values config also carries.

Who may call a route is an ``Access``: a signed-in user in any of its ``groups``, any signed-in user when
``signed_in``, or a machine client whose token carries any of its ``scopes``. Groups are alternatives (the
seed's roles): a user in USER and ADMIN reaches both the USER and the ADMIN routes.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

SOURCE_DIR = "runtime/secure_api"
HANDLERS = "runtime.secure_api.handlers.handler"
HANDLERS_REQUIREMENTS = "runtime/secure_api/requirements.txt"
AUTHORIZER = "runtime.secure_api.authorizer.handler.handler"
AUTHORIZER_REQUIREMENTS = "runtime/secure_api/authorizer/requirements.txt"

# Environment of the functions.
ENV_ISSUER = "ISSUER_URL"
"""https://cognito-idp.<region>.amazonaws.com/<pool id>: the only issuer whose tokens are accepted."""
ENV_CLIENT_IDS = "ALLOWED_CLIENT_IDS"
"""Comma-separated app client ids whose access tokens are accepted (``client_id`` claim)."""
ENV_JWKS_URL = "JWKS_URL"
"""Where the issuer's signing keys are; unset: ``<issuer>/.well-known/jwks.json``."""
ENV_JWKS_CACHE_SECONDS = "JWKS_CACHE_SECONDS"
ENV_COMPONENT_NAME = "COMPONENT_NAME"
ENV_API_VERSION = "API_VERSION"
ENV_SERVICE = "POWERTOOLS_SERVICE_NAME"
ENV_ORIGIN_SECRET = "ORIGIN_SECRET_ARN"
"""ARN of the origin secret (without its suffix: ``origin_secret_arn``; a name works too); set: every request must
carry ``ORIGIN_SECRET_HEADER`` with its value."""
ENV_ORIGIN_SECRET_CACHE_SECONDS = "ORIGIN_SECRET_CACHE_SECONDS"

DEFAULT_JWKS_CACHE_SECONDS = 3600
AUTHORIZATION_HEADER = "Authorization"

# The origin secret: the edge (CloudFront) adds this header to every request it forwards; the authorizer refuses
# requests without it, so the API's own endpoint cannot be called around the edge's WAF. The edge stack creates
# the secret under this name; the secure API stack grants its authorizer read access by the name alone (no
# dependency on the edge stack, which depends on this one for its origin).
ORIGIN_SECRET_HEADER = "X-Origin-Verify"
ORIGIN_SECRET_NAME = "{env}/secure-api/origin-secret"
DEFAULT_ORIGIN_SECRET_CACHE_SECONDS = 300
"""How long the authorizer reuses the secret's AWSCURRENT and AWSPREVIOUS values (rotation: see docs/api-edge.md)."""

# The user directory.
USER, ADMIN = "USER", "ADMIN"
GROUPS = {USER: "The seed's role USER: may read /private", ADMIN: "The seed's role ADMIN: may read /admin"}
RESOURCE_SERVER = "secure-api"
"""Identifier of the directory's resource server: custom scopes are ``secure-api/read`` and ``secure-api/write``."""
READ, WRITE = "read", "write"
SCOPES = {READ: "Read the API's resources", WRITE: "Post to the API (POST /echo)"}

COMPONENT_NAME_PATTERN = r"[A-Za-z0-9][A-Za-z0-9 ._-]{0,63}"
API_VERSION_PATTERN = r"v?[0-9]+(\.[0-9]+){0,2}(-[0-9A-Za-z.]+)?"
ECHO_MAX_BODY_CHARS = 4096


@dataclass(frozen=True)
class Principal:
    """Who a valid access token speaks for, as the authorizer hands it to the handlers."""

    subject: str
    client_id: str
    user: bool
    """A signed-in user (a ``username`` claim); False for a machine client (client credentials)."""
    groups: frozenset[str] = frozenset()
    scopes: frozenset[str] = frozenset()
    """This API's custom scopes, without the resource server prefix (``write``)."""

    def context(self) -> dict[str, str]:
        """The authorizer's response context (strings, so every payload version carries them)."""
        return {"sub": self.subject, "clientId": self.client_id, "kind": "user" if self.user else "client",
                "groups": ",".join(sorted(self.groups)), "scopes": ",".join(sorted(self.scopes))}

    @classmethod
    def from_context(cls, context: Mapping[str, object]) -> "Principal":
        def names(key: str) -> frozenset[str]:
            return frozenset(n for n in str(context.get(key) or "").split(",") if n)
        return cls(subject=str(context.get("sub") or ""), client_id=str(context.get("clientId") or ""),
                   user=context.get("kind") == "user", groups=names("groups"), scopes=names("scopes"))


@dataclass(frozen=True)
class Access:
    public: bool = False
    groups: tuple[str, ...] = ()
    signed_in: bool = False
    scopes: tuple[str, ...] = ()

    def admits(self, principal: Principal | None) -> bool:
        if self.public:
            return True
        if principal is None:
            return False
        if principal.user and (self.signed_in or principal.groups.intersection(self.groups)):
            return True
        return bool(principal.scopes.intersection(self.scopes))


PUBLIC, PRIVATE, ADMINISTRATION, ECHO = "GET /public", "GET /private", "GET /admin", "POST /echo"
ROUTES: dict[str, Access] = {
    PUBLIC: Access(public=True),
    PRIVATE: Access(groups=(USER,)),
    ADMINISTRATION: Access(groups=(ADMIN,)),
    ECHO: Access(signed_in=True, scopes=(WRITE,)),
}

# Served by the private backend (stack <env>-api-backend, through a VPC link) when the secure API's stack file
# declares it as upstream ``backend``: USER members, or machine clients with the read / write scope.
ITEMS, ADD_ITEM, ITEM = "GET /items", "POST /items", "GET /items/{id}"
BACKEND_ROUTES: dict[str, Access] = {
    ITEMS: Access(groups=(USER,), scopes=(READ,)),
    ADD_ITEM: Access(groups=(USER,), scopes=(WRITE,)),
    ITEM: Access(groups=(USER,), scopes=(READ,)),
}
ACCESS: dict[str, Access] = {**ROUTES, **BACKEND_ROUTES}
"""Who may call every route the authorizer may be asked about."""
CALLER_CONTEXT_KEY = "sub"
"""The authorizer context key (``Principal.context``) passed to the backend as the caller's identity."""


def route_scopes(scopes: Iterable[str]) -> frozenset[str]:
    """This API's scopes among a token's ``scope`` claim words (``secure-api/write`` -> ``write``)."""
    prefix = RESOURCE_SERVER + "/"
    return frozenset(s[len(prefix):] for s in scopes if s.startswith(prefix) and s[len(prefix):] in SCOPES)


def valid_component_name(value: object) -> bool:
    return isinstance(value, str) and re.fullmatch(COMPONENT_NAME_PATTERN, value) is not None


def valid_api_version(value: object) -> bool:
    return isinstance(value, str) and re.fullmatch(API_VERSION_PATTERN, value) is not None


def origin_secret_name(environment: str) -> str:
    return ORIGIN_SECRET_NAME.format(env=environment)


def origin_secret_arn(partition: str, region: str, account: str, environment: str) -> str:
    """The secret's partial ARN (no random suffix), which Secrets Manager accepts as a secret id."""
    return f"arn:{partition}:secretsmanager:{region}:{account}:secret:{origin_secret_name(environment)}"


def origin_secret_arn_pattern(partition: str, region: str, account: str, environment: str) -> str:
    """The secret's ARN whatever suffix Secrets Manager gave it (six random characters after a dash)."""
    return origin_secret_arn(partition, region, account, environment) + "-??????"


def client_ids(value: str) -> frozenset[str]:
    return frozenset(c.strip() for c in value.split(",") if c.strip())
