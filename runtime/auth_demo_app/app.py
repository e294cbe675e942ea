"""Answers every path with a JSON echo of the request (the names of the headers it got) and the identity nginx
passed along."""

from __future__ import annotations

from flask import Flask, jsonify, request

IDENTITY_HEADERS = {
    "email": "X-Auth-Email",
    "given_name": "X-Auth-Given-name",
    "family_name": "X-Auth-Family-name",
    "picture": "X-Auth-Picture",
}


def create_app() -> Flask:
    app = Flask(__name__)

    @app.get("/healthz")
    def healthz():
        return jsonify(status="ok")

    @app.route("/", defaults={"path": ""}, methods=["GET", "POST", "PUT", "DELETE", "PATCH"])
    @app.route("/<path:path>", methods=["GET", "POST", "PUT", "DELETE", "PATCH"])
    def echo(path: str):
        identity = {key: _utf8_header(name) for key, name in IDENTITY_HEADERS.items()}
        return jsonify(
            method=request.method,
            path="/" + path,
            body_bytes=len(request.get_data()),
            authenticated=identity["email"] is not None,
            identity={key: value for key, value in identity.items() if value is not None},
            headers=sorted(request.headers.keys()),
        )

    return app


def _utf8_header(name: str) -> str | None:
    # WSGI hands header values over as latin-1 text; the sidecar sends UTF-8 bytes.
    value = request.headers.get(name)
    return None if value is None else value.encode("latin-1").decode("utf-8", errors="replace")
