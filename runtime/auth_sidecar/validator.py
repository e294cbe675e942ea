"""Validation of the token an ALB puts in `X-Amzn-Oidc-Data` after a Cognito/OIDC sign-in.

The token is an ES256-signed JWT whose header names the signing key (`kid`) and the load balancer
that signed it (`signer`). The public key is a PEM served by the regional ALB key endpoint; it is
fetched per kid and kept in a bounded in-memory cache for a bounded time, so a key the endpoint stops
serving (revoked) stops validating tokens within that time. ALB encodes the segments as base64url
*with* `=` padding, which PyJWT accepts.

A validated token's identity is cached under the token's SHA-256 until the earliest of: the token's
`exp`, its key's cache expiry, and the decision cache time. Nothing else is cached: a refusal is
decided again on every request.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

import jwt
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from runtime.auth_sidecar import contract

ALB_ALGORITHM = "ES256"
# ALB key ids are UUIDs; anything outside this alphabet could change the meaning of the key URL.
_KID_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,128}")
_MAX_KEY_BYTES = 16 * 1024
_MAX_TOKEN_CHARS = 16 * 1024  # ALB tokens are 1-2 KB; nginx's header buffers stop at 8 KB anyway
KEY_RETRY_SECONDS = 10.0  # a key whose refresh failed (endpoint down) is used this much longer, then retried


class TokenRejected(Exception):
    """The token is missing, malformed, forged, expired or belongs to a user who is not allowed. ``reason`` is a
    short code (a metric dimension); ``detail`` says more, for the log."""

    def __init__(self, reason: str, detail: str | None = None, *, kid: str | None = None, domain: str | None = None):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail
        self.kid = kid
        self.domain = domain


class KeyUnavailable(Exception):
    """The public key for a kid that is not cached could not be fetched: a server-side failure."""

    reason = "key_unavailable"

    def __init__(self, detail: str, *, kid: str):
        super().__init__(detail)
        self.detail = detail
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
    cache_until: float
    """Seconds since the epoch until which this decision may be reused (never past the token's exp)."""


@dataclass(frozen=True)
class _CachedKey:
    key: ec.EllipticCurvePublicKey
    expires_at: float


class AlbPublicKeys:
    """Public keys by kid, fetched from the ALB key endpoint and cached for ``ttl_seconds`` (least recently
    used out beyond ``cache_size``).

    Failed fetches are not cached, so a transient outage heals on the next request, and unknown kids cannot
    push real keys out of the cache. A key the endpoint no longer has (403/404) is dropped; a key whose
    refresh fails for another reason (endpoint down) is used ``KEY_RETRY_SECONDS`` longer.
    """

    def __init__(self, url_template: str, region: str, *, cache_size: int, ttl_seconds: float,
                 timeout_seconds: float, metrics=None, clock: Callable[[], float] = time.time):
        self._url_template = url_template
        self._region = region
        self._cache_size = cache_size
        self._ttl_seconds = ttl_seconds
        self._timeout_seconds = timeout_seconds
        self._metrics = metrics
        self._clock = clock
        self._keys: OrderedDict[str, _CachedKey] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, kid: str) -> _CachedKey:
        now = self._clock()
        with self._lock:
            cached = self._keys.get(kid)
            if cached is not None and now < cached.expires_at:
                self._keys.move_to_end(kid)
        fresh = cached is not None and now < cached.expires_at
        if self._metrics is not None:
            self._metrics.key_cache(hit=fresh)
        if fresh:
            return cached
        try:
            entry = _CachedKey(self._timed_fetch(kid), now + self._ttl_seconds)
        except UnknownKey:
            with self._lock:
                self._keys.pop(kid, None)
            raise
        except KeyUnavailable:
            if cached is None:
                raise
            entry = _CachedKey(cached.key, now + min(KEY_RETRY_SECONDS, self._ttl_seconds))
        with self._lock:
            self._keys[kid] = entry
            self._keys.move_to_end(kid)
            while len(self._keys) > self._cache_size:
                self._keys.popitem(last=False)
        return entry

    def _timed_fetch(self, kid: str) -> ec.EllipticCurvePublicKey:
        started = time.perf_counter()
        try:
            return self._fetch(kid)
        finally:
            if self._metrics is not None:
                self._metrics.key_fetch((time.perf_counter() - started) * 1000)

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
                 leeway_seconds: float, decision_cache_seconds: float = 0, decision_cache_size: int = 10_000,
                 clock: Callable[[], float] = time.time):
        self._public_keys = public_keys
        self._alb_arn = alb_arn
        self._valid_domains = valid_domains
        self._leeway_seconds = leeway_seconds
        self._decision_cache_seconds = decision_cache_seconds
        self._decision_cache_size = decision_cache_size
        self._clock = clock
        self._decisions: OrderedDict[bytes, Identity] = OrderedDict()
        self._lock = threading.Lock()

    def validate(self, token: str | None) -> Identity:
        """Returns the signed-in identity, or raises TokenRejected / KeyUnavailable."""
        if not token:
            raise TokenRejected("missing_token")
        if len(token) > _MAX_TOKEN_CHARS:
            raise TokenRejected("token_too_large")
        digest = hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()
        now = self._clock()
        with self._lock:
            cached = self._decisions.get(digest)
            if cached is not None and now < cached.cache_until:
                return cached
        identity = self._validate(token, now)
        if now < identity.cache_until:
            with self._lock:
                self._decisions[digest] = identity
                while len(self._decisions) > self._decision_cache_size:
                    self._decisions.popitem(last=False)
        return identity

    def _validate(self, token: str, now: float) -> Identity:
        kid = self._check_header(token)
        key = self._public_key(kid)
        try:
            claims = jwt.decode(
                token,
                key=key.key,
                algorithms=[ALB_ALGORITHM],
                leeway=self._leeway_seconds,
                # The signer check binds the token to this load balancer; ALB tokens carry no audience.
                options={"require": ["exp"], "verify_aud": False},
            )
        except jwt.ExpiredSignatureError:
            raise TokenRejected("expired", kid=kid) from None
        except jwt.InvalidTokenError as error:
            raise TokenRejected("invalid_token", str(error), kid=kid) from None
        cache_until = min(float(claims["exp"]), key.expires_at, now + self._decision_cache_seconds)
        return self._identity(claims, kid, cache_until)

    def _check_header(self, token: str) -> str:
        """Checks what can be checked before any key is fetched, so forged or foreign tokens never
        make the sidecar call out."""
        header = _unverified_header(token)
        if header.get("alg") != ALB_ALGORITHM:
            raise TokenRejected("algorithm_not_allowed", str(header.get("alg"))[:20])
        if header.get("signer") != self._alb_arn:
            raise TokenRejected("wrong_signer")
        kid = header.get("kid")
        if not isinstance(kid, str) or not _KID_PATTERN.fullmatch(kid):
            raise TokenRejected("invalid_kid")
        return kid

    def _public_key(self, kid: str) -> _CachedKey:
        try:
            return self._public_keys.get(kid)
        except UnknownKey:
            raise TokenRejected("unknown_kid", kid=kid) from None

    def _identity(self, claims: dict, kid: str, cache_until: float) -> Identity:
        email = claims.get("email")
        if not isinstance(email, str) or email.count("@") != 1 or not email.split("@")[0]:
            raise TokenRejected("no_email", kid=kid)
        # Cognito's user info sends the flag as a string; anything but true means nobody proved the address.
        verified = claims.get("email_verified")
        if verified is not True and verified != "true":
            raise TokenRejected("email_not_verified", kid=kid)
        domain = email.split("@")[1].lower()
        if contract.ANY_DOMAIN not in self._valid_domains:
            if domain not in self._valid_domains:
                raise TokenRejected("domain_not_allowed", kid=kid, domain=domain)
            # A consumer Google account may carry a company address; only the Workspace domain (hd) proves
            # that the company manages the account.
            hosted = claims.get(contract.HOSTED_DOMAIN_CLAIM)
            if _signed_in_with_google(claims) and (not isinstance(hosted, str)
                                                   or hosted.lower() not in self._valid_domains):
                raise TokenRejected("hosted_domain_not_allowed", kid=kid, domain=str(hosted)[:64])
        return Identity(
            email=email,
            given_name=_optional_text(claims.get("given_name")),
            family_name=_optional_text(claims.get("family_name")),
            picture=_optional_text(claims.get("picture")),
            kid=kid,
            cache_until=cache_until,
        )


def _signed_in_with_google(claims: dict) -> bool:
    username = claims.get("username")
    if isinstance(username, str) and username.startswith(contract.GOOGLE_USERNAME_PREFIX):
        return True
    identities = claims.get("identities")
    if isinstance(identities, str):
        try:
            identities = json.loads(identities)
        except ValueError:
            return False
    return isinstance(identities, list) and any(
        isinstance(i, dict) and i.get("providerName") == "Google" for i in identities)


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
