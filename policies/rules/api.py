"""API Gateway: a route needs authorisation, unless it is listed as public in ``policies/public_routes.yaml``.

A stack rule, because whether a route may be public depends on the stack it is in: the stack's name is read
from its resources' URNs (``urn:pulumi:<stack>::<project>::…``), as the engine and the offline plan write them.
"""
from __future__ import annotations

import fnmatch
import functools
from collections.abc import Iterable, Mapping
from pathlib import Path

import yaml

from policies.rules.core import Finding, Resource, Stack, _true, known, stack_rule

HTTP_ROUTE = "aws:apigatewayv2/route:Route"
REST_METHOD = "aws:apigateway/method:Method"
REST_RESOURCE = "aws:apigateway/resource:Resource"
REST_API = "aws:apigateway/restApi:RestApi"
PUBLIC_ROUTES_FILE = Path(__file__).resolve().parent.parent / "public_routes.yaml"


@functools.cache
def public_routes(path: Path = PUBLIC_ROUTES_FILE) -> dict[str, tuple[str, ...]]:
    """Stack-name glob -> route keys that may be public (the file's format is documented at its top)."""
    loaded = yaml.safe_load(path.read_text()) or {}
    if not isinstance(loaded, Mapping) or not all(
            isinstance(glob, str) and isinstance(keys, list) and all(isinstance(k, str) for k in keys)
            for glob, keys in loaded.items()):
        raise ValueError(f"{path}: expected a mapping from stack-name globs to lists of route keys, e.g. "
                         '"*-secure-api": ["GET /public"]')
    return {glob: tuple(keys) for glob, keys in loaded.items()}


def is_public(stack_name: str, route_key: str, listed: Mapping[str, Iterable[str]]) -> bool:
    return any(fnmatch.fnmatchcase(stack_name, glob) and route_key in keys for glob, keys in listed.items())


def stack_name(resource: Resource) -> str:
    parts = resource.urn.split("::")
    return parts[0].removeprefix("urn:pulumi:") if len(parts) >= 4 else ""


def _rest_route_key(method: Resource, stack: Stack) -> str:
    resource_id = method.props.get("resourceId")
    if any(resource_id == api.props.get("rootResourceId") for api in stack.of_type(REST_API)):
        path = "/"
    else:
        targets = stack.targets(method, "resourceId", resource_id, (REST_RESOURCE,))
        path = next((t.props.get("path") for t in targets if known(t.props.get("path"))), None) or (
            f"<resource {resource_id}>")
    return f"{method.props.get('httpMethod')} {path}"


def _open_routes(stack: Stack) -> Iterable[tuple[Resource, str]]:
    for route in stack.of_type(HTTP_ROUTE):
        authorization = route.props.get("authorizationType", "NONE")
        if known(authorization) and (authorization or "NONE") == "NONE" and known(route.props.get("routeKey")):
            yield route, route.props["routeKey"]
    for method in stack.of_type(REST_METHOD):
        authorization = method.props.get("authorization")
        if known(authorization) and authorization == "NONE" and not _true(method.props.get("apiKeyRequired")):
            yield method, _rest_route_key(method, stack)


@stack_rule("api-route-authorized", "API Gateway routes require authorisation (IAM, JWT, a Lambda authorizer or, on "
            "REST APIs, an API key) unless policies/public_routes.yaml lists them as public for the stack")
def api_route_authorized(stack: Stack, listed: Mapping[str, Iterable[str]] | None = None) -> Iterable[Finding]:
    listed = public_routes() if listed is None else listed
    for resource, route_key in _open_routes(stack):
        name = stack_name(resource)
        if not is_public(name, route_key, listed):
            yield Finding(resource, f"{route_key} has authorization NONE, so anyone may call it: require "
                                    f"authorisation, or list it for {name or 'the stack'} in "
                                    "policies/public_routes.yaml if it is meant to be public")
