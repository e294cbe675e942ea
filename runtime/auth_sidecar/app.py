"""The WSGI app: `GET /auth` for nginx's `auth_request` subrequest, `GET /healthz` for health checks.

Plain WSGI (no framework): the request is two header reads and a dictionary lookup when the token's decision
is cached, so a framework's routing and request objects would be most of its cost.
"""

from __future__ import annotations

import logging
import math
import time
import unicodedata
from collections.abc import Callable, Iterable

from runtime.auth_sidecar import contract
from runtime.auth_sidecar.metrics import Metrics
from runtime.auth_sidecar.settings import Settings
from runtime.auth_sidecar.validator import (
    AlbPublicKeys,
    AlbTokenValidator,
    Identity,
    KeyUnavailable,
    TokenRejected,
)

log = logging.getLogger("auth_sidecar")
_TOKEN_KEY = "HTTP_" + contract.TOKEN_HEADER.upper().replace("-", "_")
_METHOD_KEY = "HTTP_" + contract.ORIGINAL_METHOD_HEADER.upper().replace("-", "_")
_PATH_KEY = "HTTP_" + contract.ORIGINAL_PATH_HEADER.upper().replace("-", "_")
_STATUS = {200: "200 OK", 401: "401 Unauthorized", 404: "404 Not Found", 503: "503 Service Unavailable"}
_EMPTY = [("Content-Length", "0")]
_HEALTHY = b'{"status":"ok"}'

StartResponse = Callable[[str, list[tuple[str, str]]], object]


def create_app(settings: Settings, metrics: Metrics | None = None) -> Callable[[dict, StartResponse], Iterable[bytes]]:
    validator = build_validator(settings, metrics)

    def app(environ: dict, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO")
        if path == contract.AUTH_PATH:
            status, headers = auth(environ)
            start_response(_STATUS[status], headers)
            return [b""]
        if path == contract.HEALTH_PATH:
            # Liveness only: an outage of the ALB key endpoint must not get the task replaced.
            start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(_HEALTHY)))])
            return [_HEALTHY]
        start_response(_STATUS[404], list(_EMPTY))
        return [b""]

    def auth(environ: dict) -> tuple[int, list[tuple[str, str]]]:
        started = time.perf_counter()
        now = time.time()
        try:
            identity = validator.validate(environ.get(_TOKEN_KEY))
        except (TokenRejected, KeyUnavailable) as refused:
            if metrics is not None:
                metrics.error(refused.reason)
            status = 401 if isinstance(refused, TokenRejected) else 503
            _log_refusal(environ, refused, status, settings.auth_required, started)
            # Soft launch (auth not required): the request passes, without identity headers.
            return (status if settings.auth_required else 200), [cache_header(0), *_EMPTY]
        if metrics is not None:
            metrics.success()
        if log.isEnabledFor(logging.DEBUG):
            log.debug("auth", extra={"fields": {**_request_fields(environ, started), "outcome": "allowed",
                                                "email": identity.email, "kid": identity.kid}})
        return 200, [*identity_headers(identity), cache_header(nginx_cache_seconds(identity, now)), *_EMPTY]

    return app


def build_validator(settings: Settings, metrics: Metrics | None = None) -> AlbTokenValidator:
    public_keys = AlbPublicKeys(
        settings.key_url_template,
        settings.region,
        cache_size=settings.key_cache_size,
        ttl_seconds=settings.key_cache_seconds,
        timeout_seconds=settings.key_fetch_timeout_seconds,
        metrics=metrics,
    )
    return AlbTokenValidator(
        public_keys,
        alb_arn=settings.alb_arn,
        valid_domains=settings.valid_domains,
        leeway_seconds=settings.leeway_seconds,
        decision_cache_seconds=settings.decision_cache_seconds,
    )


def nginx_cache_seconds(identity: Identity, now: float) -> int:
    """Whole seconds nginx may reuse the decision. nginx counts in whole seconds and keeps an entry through the
    second its validity ends in, so one second less keeps every reuse before ``cache_until`` (and the token's
    exp)."""
    return max(0, math.floor(identity.cache_until - now) - 1)


def cache_header(seconds: int) -> tuple[str, str]:
    return contract.CACHE_HEADER, str(seconds)


def identity_headers(identity: Identity) -> list[tuple[str, str]]:
    values = {contract.IDENTITY_HEADERS[field]: getattr(identity, field) for field in contract.IDENTITY_HEADERS}
    cleaned = {name: _header_value(value) for name, value in values.items() if value}
    return [(name, value) for name, value in cleaned.items() if value]


def _request_fields(environ: dict, started: float) -> dict:
    # The path only: query strings carry what users type (searches, ids, sometimes tokens).
    return {"event": "auth", "method": environ.get(_METHOD_KEY),
            "path": (environ.get(_PATH_KEY) or "").partition("?")[0] or None,
            "duration_ms": round((time.perf_counter() - started) * 1000, 3)}


def _log_refusal(environ: dict, refused: Exception, status: int, auth_required: bool, started: float) -> None:
    fields = {**_request_fields(environ, started), "reason": refused.reason, "detail": refused.detail,
              "kid": refused.kid, "domain": getattr(refused, "domain", None)}
    if not auth_required:
        fields["outcome"] = "passed_unauthenticated"
    else:
        fields["outcome"] = "denied" if status == 401 else "unavailable"
    level = logging.WARNING if status == 503 else logging.INFO
    log.log(level, "auth", extra={"fields": {k: v for k, v in fields.items() if v is not None}})


def _header_value(text: str) -> str:
    """Drops control characters (no header splitting) and sends UTF-8 on the wire: WSGI header
    values are latin-1 strings, so the UTF-8 bytes travel as their latin-1 reading."""
    printable = "".join(ch for ch in text if unicodedata.category(ch) != "Cc").strip()
    return printable.encode("utf-8").decode("latin-1")
