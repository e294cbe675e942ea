"""A local stand-in for API Gateway's HTTP API data plane, built from a stack's offline plan, that runs the
planned Lambda handlers in-process (moto runs Lambda code only in Docker, and there is none here).

It takes from the plan, and only from the plan: the routes with their authorization type and authorizer, each
authorizer's identity sources, cache TTL and payload version, each integration's function (its handler and
environment), and the Lambda permissions: a function is invoked only if one of its permissions' source ARNs
matches the caller (the route, or the authorizer), as API Gateway needs. What it does with them follows the
documented behaviour of HTTP APIs with Lambda authorizers (payload 2.0, simple responses):

- no route for the method and path: 404 ``{"message":"Not Found"}``;
- an identity source missing or empty: 401 ``{"message":"Unauthorized"}``, without invoking the authorizer;
- answers cached for the TTL under the identity source values (nothing cached when the authorizer fails);
- ``isAuthorized`` false: 403 ``{"message":"Forbidden"}``; an authorizer that raises, or answers without a
  boolean ``isAuthorized``, or that may not be invoked: 500 ``{"message":"Internal Server Error"}``;
- the integration gets the authorizer's ``context`` as ``requestContext.authorizer.lambda``.
"""
from __future__ import annotations

import base64
import fnmatch
import importlib
import itertools
import json
import os
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable
from unittest import mock
from urllib.parse import urlsplit

from planning.mocks import ACCOUNT_ID, ProviderMocks
from planning.offline import StackPlan

FORBIDDEN = (403, {"message": "Forbidden"})
UNAUTHORIZED = (401, {"message": "Unauthorized"})
NOT_FOUND = (404, {"message": "Not Found"})
SERVER_ERROR = (500, {"message": "Internal Server Error"})


class IdRecordingMocks(ProviderMocks):
    """The offline plan's mocks, remembering the id and outputs each resource got (the plan keeps inputs only)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.created: dict[tuple[str, str], tuple[str, dict]] = {}
        """(type, name) -> (id, outputs)."""

    def new_resource(self, args):
        resource_id, outputs = super().new_resource(args)
        self.created[(args.typ, args.name)] = (resource_id, outputs)
        return resource_id, outputs


@dataclass(frozen=True)
class Function:
    handler: str
    environment: dict[str, str]
    permitted: tuple[str, ...]
    """Source ARN patterns of its Lambda permissions."""

    def entry_point(self) -> Callable:
        module, _, name = self.handler.rpartition(".")
        return getattr(importlib.import_module(module), name)


@dataclass(frozen=True)
class Authorizer:
    id: str
    function: Function
    identity_sources: tuple[str, ...]
    ttl_seconds: int


@dataclass(frozen=True)
class PlannedRoute:
    key: str
    function: Function
    authorizer: Authorizer | None


@dataclass
class HttpApi:
    api_id: str
    region: str
    routes: dict[str, PlannedRoute]
    environment: dict[str, str] = field(default_factory=dict)
    """Set for every invocation over the planned environment (e.g. where the test's identity provider is)."""
    clock: Callable[[], float] = time.monotonic
    authorizer_calls: int = 0
    _cache: dict[tuple, tuple[float, dict]] = field(default_factory=dict)
    _ids: itertools.count = field(default_factory=itertools.count)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def from_plan(cls, plan: StackPlan, mocks: IdRecordingMocks) -> "HttpApi":
        by_id = {mocks.created[(r.type, r.name)][0]: r for r in plan.resources if r.custom}
        [api] = plan.of_type("aws:apigatewayv2/api:Api")
        api_id = mocks.created[(api.type, api.name)][0]
        permissions: dict[str, list[str]] = {}
        for permission in plan.of_type("aws:lambda/permission:Permission"):
            if permission.inputs["principal"] == "apigateway.amazonaws.com":
                permissions.setdefault(permission.inputs["function"], []).append(permission.inputs["sourceArn"])
        functions = {}
        for function in plan.of_type("aws:lambda/function:Function"):
            name_arn = mocks.created[(function.type, function.name)][1]
            functions[name_arn["arn"]] = Function(
                function.inputs["handler"], dict((function.inputs.get("environment") or {}).get("variables") or {}),
                tuple(permissions.get(name_arn["name"], ())))

        def function_of(uri: str) -> Function:
            return functions[uri.split("/functions/")[1].removesuffix("/invocations")]

        routes = {}
        for route in plan.of_type("aws:apigatewayv2/route:Route"):
            integration = by_id[route.inputs["target"].removeprefix("integrations/")]
            authorizer = None
            if route.inputs.get("authorizationType") == "CUSTOM":
                spec = by_id[route.inputs["authorizerId"]]
                assert spec.inputs["authorizerPayloadFormatVersion"] == "2.0" and spec.inputs["enableSimpleResponses"]
                authorizer = Authorizer(route.inputs["authorizerId"], function_of(spec.inputs["authorizerUri"]),
                                        tuple(spec.inputs["identitySources"]),
                                        int(spec.inputs.get("authorizerResultTtlInSeconds", 300)))
            else:
                assert route.inputs.get("authorizationType", "NONE") == "NONE", route.inputs
            routes[route.inputs["routeKey"]] = PlannedRoute(route.inputs["routeKey"],
                                                            function_of(integration.inputs["integrationUri"]),
                                                            authorizer)
        return cls(api_id, plan.spec.region, routes)

    # ----- one request ----------------------------------------------------------------------------------------
    def request(self, method: str, path: str, headers: dict[str, str] | None = None,
                body: bytes = b"") -> tuple[int, dict[str, str], bytes]:
        with self._lock:
            request_id = f"emu{next(self._ids):06d}"
            status, response_headers, response_body = self._request(method, path, _lower(headers or {}), body,
                                                                     request_id)
            return status, {**response_headers, "apigw-requestid": request_id}, response_body

    def _request(self, method, path, headers, body, request_id):
        route = self.routes.get(f"{method} {path}")
        if route is None:
            return _json(*NOT_FOUND)
        event = self._event(route, method, path, headers, body, request_id)
        context = None
        if route.authorizer is not None:
            decision = self._authorize(route, event)
            if isinstance(decision, tuple):
                return _json(*decision)
            context = decision.get("context")
        if context:
            event["requestContext"]["authorizer"] = {"lambda": context}
        if not self._may_invoke(route.function, f"{self._arn_prefix()}/$default/{method}{path}"):
            return _json(*SERVER_ERROR)
        return _response(self._invoke(route.function, event))

    def _authorize(self, route: PlannedRoute, event: dict) -> dict | tuple[int, dict]:
        authorizer = route.authorizer
        values = [self._identity(source, route, event) for source in authorizer.identity_sources]
        if not all(values):
            return UNAUTHORIZED
        key = (authorizer.id, tuple(values))
        cached = self._cache.get(key)
        if cached and cached[0] > self.clock():
            answer = cached[1]
        else:
            if not self._may_invoke(authorizer.function, f"{self._arn_prefix()}/authorizers/{authorizer.id}"):
                return SERVER_ERROR
            self.authorizer_calls += 1
            try:
                answer = self._invoke(authorizer.function, {**event, "type": "REQUEST", "identitySource": values,
                                                            "routeArn": f"{self._arn_prefix()}/$default/"
                                                                        f"{event['requestContext']['http']['method']}"
                                                                        f"{event['rawPath']}"})
            except Exception:  # noqa: BLE001 - API Gateway answers 500 to an authorizer that fails
                return SERVER_ERROR
            if not isinstance(answer, dict) or not isinstance(answer.get("isAuthorized"), bool):
                return SERVER_ERROR
            if authorizer.ttl_seconds > 0:
                self._cache[key] = (self.clock() + authorizer.ttl_seconds, answer)
        return answer if answer["isAuthorized"] else FORBIDDEN

    @staticmethod
    def _identity(source: str, route: PlannedRoute, event: dict) -> str | None:
        if source.startswith("$request.header."):
            return event["headers"].get(source.removeprefix("$request.header.").lower()) or None
        if source == "$context.routeKey":
            return route.key
        raise AssertionError(f"identity source {source} is not emulated")

    def _arn_prefix(self) -> str:
        return f"arn:aws:execute-api:{self.region}:{ACCOUNT_ID}:{self.api_id}"

    @staticmethod
    def _may_invoke(function: Function, source_arn: str) -> bool:
        return any(fnmatch.fnmatchcase(source_arn, pattern) for pattern in function.permitted)

    def _invoke(self, function: Function, event: dict) -> Any:
        context = mock.Mock(function_name=function.handler, memory_limit_in_mb=256, aws_request_id="lambda-request",
                            invoked_function_arn=f"arn:aws:lambda:{self.region}:{ACCOUNT_ID}:function:emulated")
        with mock.patch.dict(os.environ, {**function.environment, **self.environment}):
            return function.entry_point()(json.loads(json.dumps(event)), context)

    def _event(self, route, method, path, headers, body, request_id) -> dict:
        text_body = body.decode("utf-8", errors="strict") if _is_text(headers) else None
        return {"version": "2.0", "routeKey": route.key, "rawPath": path, "rawQueryString": "", "headers": headers,
                "body": text_body if text_body is not None else base64.b64encode(body).decode(),
                "isBase64Encoded": text_body is None,
                "requestContext": {"accountId": ACCOUNT_ID, "apiId": self.api_id, "requestId": request_id,
                                   "routeKey": route.key, "stage": "$default", "domainName": "emulated",
                                   "http": {"method": method, "path": path, "protocol": "HTTP/1.1",
                                            "sourceIp": "127.0.0.1", "userAgent": headers.get("user-agent", "")},
                                   "time": "", "timeEpoch": 0}}

    # ----- over HTTP, for clients such as requests or curl --------------------------------------------------
    def serve(self) -> tuple[ThreadingHTTPServer, str]:
        api = self

        class Handler(BaseHTTPRequestHandler):
            def _any(self):
                length = int(self.headers.get("content-length") or 0)
                status, headers, body = api.request(self.command, urlsplit(self.path).path, dict(self.headers),
                                                    self.rfile.read(length))
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_PUT = do_DELETE = _any

            def log_message(self, *args):
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return server, f"http://127.0.0.1:{server.server_address[1]}"


def _lower(headers: dict[str, str]) -> dict[str, str]:
    return {k.lower(): v for k, v in headers.items()}


def _is_text(headers: dict[str, str]) -> bool:
    kind = headers.get("content-type", "text/plain")
    return kind.startswith("text/") or "json" in kind or "x-www-form-urlencoded" in kind


def _json(status: int, body: dict) -> tuple[int, dict[str, str], bytes]:
    return status, {"content-type": "application/json"}, json.dumps(body).encode()


def _response(result: dict) -> tuple[int, dict[str, str], bytes]:
    body = result.get("body") or ""
    raw = base64.b64decode(body) if result.get("isBase64Encoded") else body.encode()
    return int(result["statusCode"]), {k.lower(): v for k, v in (result.get("headers") or {}).items()}, raw
