"""Validation of Cognito access tokens: what makes a bearer token a ``Principal`` of this API.

A token is accepted only if all of these hold: the header names RS256 (``alg: none`` and HMAC algorithms are
refused before any key is looked at, so a public key can never serve as an HMAC secret); its ``kid`` is one of
the issuer's signing keys (fetched from the JWKS URL and cached; an unknown ``kid`` refetches the set, for key
rotation, at most once per cooldown, so tokens with made-up key ids cannot hammer the endpoint); the signature
verifies; ``iss`` is exactly our pool's issuer; ``exp`` has not passed; ``token_use``
is ``access`` (Cognito ID tokens carry ``aud`` instead of ``client_id`` and are refused); ``client_id`` is
one of our app clients.
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

import jwt

from runtime.secure_api import contract
from runtime.secure_api.contract import Principal

ALGORITHM = "RS256"
REQUIRED_CLAIMS = ["exp", "iat", "iss", "sub", "token_use"]  # client_id: checked after token_use
JWKS_TIMEOUT_SECONDS = 3


class TokenRefused(Exception):
    """The request's token is no valid access token of this API; ``reason`` is short and safe to log."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class KeysUnavailable(Exception):
    """The issuer's signing keys could not be fetched: not the caller's fault, and not to be cached as a denial."""


@dataclass(frozen=True)
class Settings:
    issuer: str
    client_ids: frozenset[str]
    jwks_url: str
    jwks_cache_seconds: int = contract.DEFAULT_JWKS_CACHE_SECONDS
    refetch_cooldown_seconds: float = 30

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> "Settings":
        issuer = environ.get(contract.ENV_ISSUER, "").rstrip("/")
        if not issuer.startswith("https://"):
            raise ValueError(f"{contract.ENV_ISSUER} must be the pool's https:// issuer URL")
        client_ids = contract.client_ids(environ.get(contract.ENV_CLIENT_IDS, ""))
        if not client_ids:
            raise ValueError(f"{contract.ENV_CLIENT_IDS} must name at least one app client")
        return cls(issuer=issuer, client_ids=client_ids,
                   jwks_url=environ.get(contract.ENV_JWKS_URL) or f"{issuer}/.well-known/jwks.json",
                   jwks_cache_seconds=int(environ.get(contract.ENV_JWKS_CACHE_SECONDS,
                                                      contract.DEFAULT_JWKS_CACHE_SECONDS)))


def bearer_token(authorization: str | None) -> str:
    scheme, _, token = (authorization or "").strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise TokenRefused("no bearer token")
    return token.strip()


class AccessTokens:
    """Turns ``Authorization`` header values into principals; one per warm Lambda container (keys cached)."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.keys = jwt.PyJWKClient(settings.jwks_url, cache_keys=True, lifespan=settings.jwks_cache_seconds,
                                    timeout=JWKS_TIMEOUT_SECONDS, cooldown_duration=settings.refetch_cooldown_seconds)

    def principal(self, authorization: str | None) -> Principal:
        token = bearer_token(authorization)
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError:
            raise TokenRefused("malformed token") from None
        if header.get("alg") != ALGORITHM:
            raise TokenRefused(f"algorithm {str(header.get('alg'))[:16]!r} is not {ALGORITHM}")
        claims = self._claims(token, header)
        if claims.get("token_use") != "access":
            raise TokenRefused(f"token_use {str(claims.get('token_use'))[:16]!r} is not access")
        if claims.get("client_id") not in self.settings.client_ids:
            raise TokenRefused("client not allowed")
        groups = claims.get("cognito:groups") or []
        scopes = str(claims.get("scope") or "").split()
        return Principal(subject=str(claims["sub"]), client_id=str(claims["client_id"]),
                         user="username" in claims,
                         groups=frozenset(g for g in groups if isinstance(g, str)),
                         scopes=contract.route_scopes(scopes))

    def _claims(self, token: str, header: Mapping) -> dict:
        key = self._key(header)
        try:
            return jwt.decode(token, key, algorithms=[ALGORITHM], issuer=self.settings.issuer,
                              options={"require": REQUIRED_CLAIMS, "verify_aud": False})
        except jwt.ExpiredSignatureError:
            raise TokenRefused("expired") from None
        except jwt.InvalidIssuerError:
            raise TokenRefused("issuer is not this pool") from None
        except jwt.InvalidSignatureError:
            raise TokenRefused("bad signature") from None
        except jwt.MissingRequiredClaimError as error:
            raise TokenRefused(f"missing claim {error.claim}") from None
        except jwt.InvalidTokenError as error:
            raise TokenRefused(f"invalid token ({type(error).__name__})") from None

    def _key(self, header: Mapping):
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise TokenRefused("no key id")
        try:
            return self.keys.get_signing_key(kid).key
        except jwt.PyJWKClientConnectionError as error:
            raise KeysUnavailable(str(error)) from None
        except jwt.PyJWKClientError:
            raise TokenRefused("unknown signing key") from None
