"""The items API (WSGI, served by gunicorn; see __main__.py).

    GET  /health                  200 when a pooled connection runs SELECT 1, 503 otherwise
    GET  /items?limit=&after=     keyset pagination by id: {"items": [...], "next": "/items?..." or null}
    POST /items                   {"name": str 1..200, "quantity": int 0..1e9} -> 201, the item, Location
    GET  /items/{id}              the item, 404 if none

Every client mistake is a 4xx with {"error": "..."}; an unreachable database is a 503 with Retry-After.

``x-caller-sub`` is trusted as the caller's identity (stored as ``created_by``): the service sits behind an
internal NLB whose security group admits only the secure API's VPC link, and the API's authorizer sets the
header after verifying the caller's token (API Gateway overwrites any value the client sent).
"""
from __future__ import annotations

import json
import logging
from typing import Any

from flask import Flask, Response, jsonify, request
from werkzeug.exceptions import HTTPException

from runtime.serving import json_error as _error
from .contract import (CALLER_HEADER, DEFAULT_PAGE_SIZE, HEALTH_PATH, ITEMS_PATH, MAX_BODY_BYTES, MAX_CALLER_LENGTH, MAX_ITEM_ID,
                       MAX_NAME_LENGTH, MAX_PAGE_SIZE, MAX_QUANTITY, RETRY_AFTER_SECONDS)
from .db import Database, Unavailable

log = logging.getLogger("items.app")
FIELDS = ("name", "quantity")
HEADERS = {"X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"}


class ClientError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


def create_app(db: Database) -> Flask:
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES

    @app.get(HEALTH_PATH)
    def health():
        if db.ping():
            return jsonify(status="ok")
        return _unavailable("the database is unreachable")

    @app.get(ITEMS_PATH)
    def list_items():
        limit = _whole_arg("limit", DEFAULT_PAGE_SIZE, 1, MAX_PAGE_SIZE)
        after = _whole_arg("after", 0, 0, MAX_ITEM_ID)
        items, more = db.page(after, limit)
        following = f"{ITEMS_PATH}?limit={limit}&after={items[-1]['id']}" if more else None
        return jsonify(items=items, next=following)

    @app.post(ITEMS_PATH)
    def create_item():
        name, quantity = _new_item(_json_object())
        item = db.create(name, quantity, _caller())
        log.info("item created", extra={"fields": {"id": item["id"]}})
        response = jsonify(item)
        response.status_code = 201
        response.headers["Location"] = f"{ITEMS_PATH}/{item['id']}"
        return response

    @app.get(f"{ITEMS_PATH}/<raw_id>")
    def get_item(raw_id: str):
        if not (raw_id.isascii() and raw_id.isdigit() and len(raw_id) <= 19) or not 1 <= int(raw_id) <= MAX_ITEM_ID:
            raise ClientError(400, f"the item id must be a whole number from 1 to {MAX_ITEM_ID}")
        item = db.get(int(raw_id))
        if item is None:
            raise ClientError(404, f"no item {int(raw_id)}")
        return jsonify(item)

    @app.after_request
    def headers(response: Response) -> Response:
        response.headers.update(HEADERS)
        return response

    @app.errorhandler(ClientError)
    def client_error(error: ClientError):
        return _error(error.status, error.message)

    @app.errorhandler(Unavailable)
    def unavailable(error: Unavailable):
        return _unavailable(str(error))

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        if error.code == 413:
            return _error(413, f"the body is larger than {MAX_BODY_BYTES} bytes")
        return _error(error.code or 500, error.description or error.name)

    @app.errorhandler(Exception)
    def unexpected(error: Exception):
        log.error("unexpected error", extra={"fields": {"error": type(error).__name__}})
        return _error(500, "internal error")

    return app


def _json_object() -> dict[str, Any]:
    if request.mimetype != "application/json":
        raise ClientError(415, "send the item as application/json")
    try:
        body = json.loads(request.get_data(cache=False))
    except (ValueError, UnicodeDecodeError):
        raise ClientError(400, "the body is not valid JSON") from None
    if not isinstance(body, dict):
        raise ClientError(400, 'the body must be a JSON object: {"name": ..., "quantity": ...}')
    return body


def _new_item(body: dict[str, Any]) -> tuple[str, int]:
    unknown = sorted(set(body) - set(FIELDS))
    if unknown:
        raise ClientError(400, f"unknown fields: {', '.join(unknown)} (allowed: {', '.join(FIELDS)})")
    name, quantity = body.get("name"), body.get("quantity")
    if not isinstance(name, str) or not 1 <= len(name) <= MAX_NAME_LENGTH or not name.strip():
        raise ClientError(400, f"name must be a string of 1 to {MAX_NAME_LENGTH} characters, not blank")
    if "\x00" in name:
        raise ClientError(400, "name must not contain NUL characters")
    if isinstance(quantity, bool) or not isinstance(quantity, int) or not 0 <= quantity <= MAX_QUANTITY:
        raise ClientError(400, f"quantity must be a whole number from 0 to {MAX_QUANTITY}")
    return name, quantity


def _caller() -> str | None:
    caller = request.headers.get(CALLER_HEADER)
    if caller is None:
        return None
    if not 1 <= len(caller) <= MAX_CALLER_LENGTH or not caller.isprintable():
        raise ClientError(400, f"{CALLER_HEADER} must be 1 to {MAX_CALLER_LENGTH} printable characters")
    return caller


def _whole_arg(name: str, default: int, low: int, high: int) -> int:
    raw = request.args.get(name)
    if raw is None:
        return default
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 19) or not low <= int(raw) <= high:
        raise ClientError(400, f"{name} must be a whole number from {low} to {high}")
    return int(raw)


def _unavailable(message: str) -> Response:
    response = _error(503, f"{message}: retry in {RETRY_AFTER_SECONDS} s")
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


