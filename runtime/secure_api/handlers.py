"""The secure API's routes (one Lambda behind every route, payload 2.0), with aws-lambda-powertools routing,
structured logs and validation.

``GET /public``, ``/private`` and ``/admin`` answer the seed's pages; ``POST /echo`` answers the first
article's ``<requestId> <request body> <component name> <API version>``. The authorizer has already decided
who may call a route; each handler checks the principal it passed against the same rule again, so a route
deployed without its authorizer answers 403 instead of serving the page. Errors are JSON ``{"error": …}``;
a client's mistake is a 4xx.
"""
from __future__ import annotations

import functools
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.validation import SchemaValidationError, validate

from runtime.secure_api import contract
from runtime.secure_api.contract import Principal

logger = Logger(service=os.environ.get(contract.ENV_SERVICE, "secure-api"))
app = APIGatewayHttpResolver()
TEXT = "text/plain; charset=utf-8"
ECHO_REQUEST = {"type": "object", "required": ["body"], "properties": {
    "body": {"type": "string", "minLength": 1, "maxLength": contract.ECHO_MAX_BODY_CHARS}}}


@dataclass(frozen=True)
class Settings:
    component_name: str
    api_version: str

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> "Settings":
        name, version = environ.get(contract.ENV_COMPONENT_NAME), environ.get(contract.ENV_API_VERSION)
        if not contract.valid_component_name(name) or not contract.valid_api_version(version):
            raise ValueError(f"{contract.ENV_COMPONENT_NAME} and {contract.ENV_API_VERSION} must be set to a "
                             "component name and a version")
        return cls(str(name), str(version))


@functools.cache
def settings() -> Settings:
    return Settings.from_env(os.environ)


class Refused(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


def error(status: int, message: str) -> Response:
    return Response(status_code=status, content_type="application/json", body={"error": message})


def text(body: str) -> Response:
    return Response(status_code=200, content_type=TEXT, body=body, headers={"X-Content-Type-Options": "nosniff"})


def guarded(route_key: str) -> Callable[[Callable[[], Response]], Callable[[], Response]]:
    """Registers a view for ``route_key`` that runs only for a principal the route's rule admits."""
    method, path = route_key.split(" ", 1)
    access = contract.ROUTES[route_key]

    def register(view: Callable[[], Response]) -> Callable[[], Response]:
        @functools.wraps(view)
        def checked() -> Response:
            passed = app.current_event.request_context.authorizer.get_lambda
            if not access.admits(Principal.from_context(passed) if passed else None):
                raise Refused(403, "this route needs a signed-in principal allowed by its authorizer")
            return view()
        app.route(path, method=method)(checked)
        return view
    return register


@guarded(contract.PUBLIC)
def public_page() -> Response:
    return text("Public Page")


@guarded(contract.PRIVATE)
def private_page() -> Response:
    return text("Private Page")


@guarded(contract.ADMINISTRATION)
def administrator_page() -> Response:
    return text("Administrator Page")


@guarded(contract.ECHO)
def echo() -> Response:
    event = app.current_event
    try:
        body = event.decoded_body or ""
    except (UnicodeDecodeError, ValueError):
        raise Refused(400, "the request body must be UTF-8 text") from None
    try:
        validate(event={"body": body}, schema=ECHO_REQUEST)
    except SchemaValidationError:
        raise Refused(400, f"the request body must be 1 to {contract.ECHO_MAX_BODY_CHARS} characters") from None
    config = settings()
    return text(f"{event.request_context.request_id} {body} {config.component_name} {config.api_version}")


@app.exception_handler(Refused)
def refused(refusal: Refused) -> Response:
    logger.info("refused", status=refusal.status, reason=refusal.message, route=app.current_event.route_key)
    return error(refusal.status, refusal.message)


@app.not_found
def not_found(_: Exception) -> Response:
    return error(404, "no such route")


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
def handler(event: dict, context) -> dict:
    return app.resolve(event, context)
