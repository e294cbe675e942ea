"""The WSGI app: `GET /auth` for nginx's `auth_request` subrequest, `GET /healthz` for health checks."""

from __future__ import annotations

import logging
import time
import unicodedata

from flask import Flask, Response, request

from runtime.auth_sidecar.settings import Settings
from runtime.auth_sidecar.validator import (
    AlbPublicKeys,
    AlbTokenValidator,
    Identity,
    KeyUnavailable,
    TokenRejected,
)

TOKEN_HEADER = "X-Amzn-Oidc-Data"
log = logging.getLogger("auth_sidecar")


def create_app(settings: Settings) -> Flask:
    validator = build_validator(settings)
    app = Flask(__name__)

    @app.get("/auth")
    def auth() -> Response:
        started = time.perf_counter()
        fields = {
            "event": "auth",
            "method": request.headers.get("X-Original-Method"),
            "uri": request.headers.get("X-Original-URI"),
        }
        try:
            identity = validator.validate(request.headers.get(TOKEN_HEADER))
        except TokenRejected as rejected:
            fields.update(reason=rejected.reason, kid=rejected.kid, domain=rejected.domain)
            response = _refuse(settings.auth_required, 401, fields)
        except KeyUnavailable as unavailable:
            fields.update(reason=unavailable.reason, kid=unavailable.kid)
            response = _refuse(settings.auth_required, 503, fields)
        else:
            fields.update(outcome="allowed", email=identity.email, kid=identity.kid)
            response = Response(status=200, headers=identity_headers(identity))
        fields["duration_ms"] = round((time.perf_counter() - started) * 1000, 3)
        level = logging.WARNING if fields["outcome"] == "unavailable" else logging.INFO
        log.log(level, "auth", extra={"fields": {k: v for k, v in fields.items() if v is not None}})
        return response

    @app.get("/healthz")
    def healthz() -> Response:
        # Liveness only: an outage of the ALB key endpoint must not get the task replaced.
        return Response('{"status":"ok"}', status=200, mimetype="application/json")

    return app


def build_validator(settings: Settings) -> AlbTokenValidator:
    public_keys = AlbPublicKeys(
        settings.key_url_template,
        settings.region,
        cache_size=settings.key_cache_size,
        timeout_seconds=settings.key_fetch_timeout_seconds,
    )
    return AlbTokenValidator(
        public_keys,
        alb_arn=settings.alb_arn,
        valid_domains=settings.valid_domains,
        leeway_seconds=settings.leeway_seconds,
    )


def _refuse(auth_required: bool, status: int, fields: dict) -> Response:
    if not auth_required:
        # Soft launch: let the request through, without identity headers.
        fields["outcome"] = "passed_unauthenticated"
        return Response(status=200)
    fields["outcome"] = "denied" if status == 401 else "unavailable"
    return Response(status=status)


def identity_headers(identity: Identity) -> dict[str, str]:
    values = {
        "X-Auth-Email": identity.email,
        "X-Auth-Given-name": identity.given_name,
        "X-Auth-Family-name": identity.family_name,
        "X-Auth-Picture": identity.picture,
    }
    cleaned = {name: _header_value(value) for name, value in values.items() if value}
    return {name: value for name, value in cleaned.items() if value}


def _header_value(text: str) -> str:
    """Drops control characters (no header splitting) and sends UTF-8 on the wire: WSGI header
    values are latin-1 strings, so the UTF-8 bytes travel as their latin-1 reading."""
    printable = "".join(ch for ch in text if unicodedata.category(ch) != "Cc").strip()
    return printable.encode("utf-8").decode("latin-1")
