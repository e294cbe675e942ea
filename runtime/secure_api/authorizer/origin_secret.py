"""The origin-secret check: a request must carry the header the edge (CloudFront) adds, with the secret's value.

The API's own endpoint stays reachable on the internet (an HTTP API cannot be made private behind CloudFront),
so without this check anyone could call it around the edge's WAF. The value lives in Secrets Manager; the
authorizer accepts its ``AWSCURRENT`` and ``AWSPREVIOUS`` versions, so a rotation (new value first, then the
edge's ``up`` that puts it into the distribution) loses no request while CloudFront still sends the old one. The
values are cached for a short time (``ORIGIN_SECRET_CACHE_SECONDS``, default 300): after a second rotation the
oldest value is refused at the latest that long later. Comparisons are constant-time; values are never logged.
"""
from __future__ import annotations

import hmac
import time
from collections.abc import Callable, Mapping
from typing import Any

from runtime.secure_api import contract

STAGES = ("AWSCURRENT", "AWSPREVIOUS")


class OriginSecret:
    """The accepted values of one secret, fetched with ``client`` (a boto3 Secrets Manager client)."""

    def __init__(self, secret_id: str, client: Any, cache_seconds: int = contract.DEFAULT_ORIGIN_SECRET_CACHE_SECONDS,
                 clock: Callable[[], float] = time.monotonic):
        self.secret_id, self.client, self.cache_seconds, self.clock = secret_id, client, cache_seconds, clock
        self._values: tuple[bytes, ...] = ()
        self._fetched_at: float | None = None

    def values(self) -> tuple[bytes, ...]:
        now = self.clock()
        if self._fetched_at is None or now - self._fetched_at >= self.cache_seconds:
            self._values, self._fetched_at = self._fetch(), now
        return self._values

    def _fetch(self) -> tuple[bytes, ...]:
        found = []
        for stage in STAGES:
            try:
                answer = self.client.get_secret_value(SecretId=self.secret_id, VersionStage=stage)
            except self.client.exceptions.ResourceNotFoundException:
                if stage == "AWSCURRENT":
                    raise  # no current value: a deployment error, not the caller's; raise so nothing is cached
                continue  # never rotated yet: no previous version
            found.append(answer["SecretString"].encode())
        return tuple(found)

    def check(self, headers: Mapping[str, str]) -> str | None:
        """Why the request is refused (None: it carries an accepted value). ``headers``: lower-cased names."""
        given = headers.get(contract.ORIGIN_SECRET_HEADER.lower())
        if not given:
            return "origin secret header missing"
        given_bytes = given.encode()
        # Every value compared, so the time taken does not tell which (if any) matched.
        matches = [hmac.compare_digest(given_bytes, value) for value in self.values()]
        return None if any(matches) else "origin secret does not match"


def from_env(environ: Mapping[str, str], client_factory: Callable[[], Any]) -> OriginSecret | None:
    """The check the environment asks for; None when ``ORIGIN_SECRET_ARN`` is unset (no edge in front)."""
    secret_id = environ.get(contract.ENV_ORIGIN_SECRET, "").strip()
    if not secret_id:
        return None
    raw = environ.get(contract.ENV_ORIGIN_SECRET_CACHE_SECONDS, str(contract.DEFAULT_ORIGIN_SECRET_CACHE_SECONDS))
    if not raw.isdigit() or not 0 <= int(raw) <= 3600:
        raise ValueError(f"{contract.ENV_ORIGIN_SECRET_CACHE_SECONDS} must be whole seconds 0..3600, not {raw!r}")
    return OriginSecret(secret_id, client_factory(), int(raw))
