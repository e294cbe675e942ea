"""Validation of the token an ALB puts in `X-Amzn-Oidc-Data` after a Cognito/OIDC sign-in.

The token is an ES256-signed JWT whose header names the signing key (`kid`) and the load balancer
that signed it (`signer`). The public key is a PEM served by the regional ALB key endpoint; it is
fetched once per kid and kept in a bounded in-memory cache. ALB encodes the segments as base64url
*with* `=` padding, which PyJWT accepts.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import re
from dataclasses import dataclass

import jwt
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

ALB_ALGORITHM = "ES256"
# ALB key ids are UUIDs; anything outside this alphabet could change the meaning of the key URL.
_KID_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,128}")
_MAX_KEY_BYTES = 16 * 1024
_MAX_TOKEN_CHARS = 16 * 1024  # ALB tokens are 1-2 KB; nginx's header buffers stop at 8 KB anyway


class TokenRejected(Exception):
    """The token is missing, malformed, forged, expired or belongs to a user who is not allowed."""

    def __init__(self, reason: str, *, kid: str | None = None, domain: str | None = None):
        super().__init__(reason)
        self.reason = reason
        self.kid = kid
        self.domain = domain


class KeyUnavailable(Exception):
    """The public key for a kid that is not cached could not be fetched: a server-side failure."""

    def __init__(self, reason: str, *, kid: str):
        super().__init__(reason)
        self.reason = reason
        self.kid = kid


class UnknownKey(Exception):
    """The key endpoint answered that no key exists for this kid."""


@dataclass(frozen=True)
class Identity:
    email: str
    given_name: str | None
    family_name: str | None
    picture: str | None
    kid: str


class AlbPublicKeys:
    """Public keys by kid, fetched from the ALB key endpoint and cached (least recently used out).

    Failed fetches are not cached, so a transient outage heals on the next request, and unknown
    kids cannot push real keys out of the cache.
    """

    def __init__(self, url_template: str, region: str, *, cache_size: int, timeout_seconds: float):
        self._url_template = url_template
        self._region = region
        self._timeout_seconds = timeout_seconds
        self.get = functools.lru_cache(maxsize=cache_size)(self._fetch)

    def _fetch(self, kid: str) -> ec.EllipticCurvePublicKey:
        url = self._url_template.format(region=self._region, kid=kid)
        try:
            response = requests.get(url, timeout=self._timeout_seconds, allow_redirects=False)
        except requests.RequestException as error:
            raise KeyUnavailable(f"key endpoint unreachable: {type(error).__name__}", kid=kid) from None
        if response.status_code in (403, 404):  # the endpoint (S3 behind it) answers 403 for absent keys
            raise UnknownKey(f"no public key for kid (HTTP {response.status_code})")
        if response.status_code != 200:
            raise KeyUnavailable(f"key endpoint answered HTTP {response.status_code}", kid=kid)
        if len(response.content) > _MAX_KEY_BYTES:
            raise KeyUnavailable("key endpoint answered an oversized body", kid=kid)
        try:
            key = serialization.load_pem_public_key(response.content)
        except ValueError:
            raise KeyUnavailable("key endpoint answered something that is not a PEM public key", kid=kid) from None
        if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(key.curve, ec.SECP256R1):
            raise KeyUnavailable("key endpoint answered a key that is not EC P-256", kid=kid)
        return key


class AlbTokenValidator:
    def __init__(self, public_keys: AlbPublicKeys, *, alb_arn: str, valid_domains: frozenset[str],
                 leeway_seconds: float):
        self._public_keys = public_keys
        self._alb_arn = alb_arn
        self._valid_domains = valid_domains
        self._leeway_seconds = leeway_seconds

    def validate(self, token: str | None) -> Identity:
        """Returns the signed-in identity, or raises TokenRejected / KeyUnavailable."""
        if not token:
            raise TokenRejected("missing_token")
        if len(token) > _MAX_TOKEN_CHARS:
            raise TokenRejected("token_too_large")
        kid = self._check_header(token)
        key = self._public_key(kid)
        try:
            claims = jwt.decode(
                token,
                key=key,
                algorithms=[ALB_ALGORITHM],
                leeway=self._leeway_seconds,
                # The signer check binds the token to this load balancer; ALB tokens carry no audience.
                options={"require": ["exp"], "verify_aud": False},
            )
        except jwt.ExpiredSignatureError:
            raise TokenRejected("expired", kid=kid) from None
        except jwt.InvalidTokenError as error:
            raise TokenRejected(f"invalid_token: {error}", kid=kid) from None
        return self._identity(claims, kid)

    def _check_header(self, token: str) -> str:
        """Checks what can be checked before any key is fetched, so forged or foreign tokens never
        make the sidecar call out."""
        header = _unverified_header(token)
        if header.get("alg") != ALB_ALGORITHM:
            raise TokenRejected(f"algorithm_not_allowed: {str(header.get('alg'))[:20]}")
        if header.get("signer") != self._alb_arn:
            raise TokenRejected("wrong_signer")
        kid = header.get("kid")
        if not isinstance(kid, str) or not _KID_PATTERN.fullmatch(kid):
            raise TokenRejected("invalid_kid")
        return kid

    def _public_key(self, kid: str) -> ec.EllipticCurvePublicKey:
        try:
            return self._public_keys.get(kid)
        except UnknownKey:
            raise TokenRejected("unknown_kid", kid=kid) from None

    def _identity(self, claims: dict, kid: str) -> Identity:
        email = claims.get("email")
        if not isinstance(email, str) or email.count("@") != 1 or not email.split("@")[0]:
            raise TokenRejected("no_email", kid=kid)
        domain = email.split("@")[1].lower()
        if "*" not in self._valid_domains and domain not in self._valid_domains:
            raise TokenRejected("domain_not_allowed", kid=kid, domain=domain)
        return Identity(
            email=email,
            given_name=_optional_text(claims.get("given_name")),
            family_name=_optional_text(claims.get("family_name")),
            picture=_optional_text(claims.get("picture")),
            kid=kid,
        )


def _unverified_header(token: str) -> dict:
    """The token's header, decoded without any check. jwt.get_unverified_header would decode and
    check every segment, and jwt.decode does all of it again (strictly) right after; reading only
    the header here keeps a cached-key validation well under the 0.2 ms target."""
    segment = token.partition(".")[0]
    try:
        header = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    except (ValueError, binascii.Error, RecursionError):
        raise TokenRejected("malformed_token") from None
    if not isinstance(header, dict):
        raise TokenRejected("malformed_token")
    return header


def _optional_text(value) -> str | None:
    return value if isinstance(value, str) and value else None
