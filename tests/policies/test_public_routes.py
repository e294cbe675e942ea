"""The public-routes list the rule ``api-route-authorized`` reads: its format, and routes judged by stack name."""
from __future__ import annotations

import pytest

from policies.rules import Resource, Stack
from policies.rules.api import PUBLIC_ROUTES_FILE, api_route_authorized, is_public, public_routes, stack_name

ROUTE = "aws:apigatewayv2/route:Route"


def route(stack: str, key: str) -> Resource:
    return Resource(ROUTE, "r", {"routeKey": key, "authorizationType": "NONE"},
                    urn=f"urn:pulumi:{stack}::cloud-patterns::cloud-patterns:api:Api${ROUTE}::r")


def test_the_projects_file_lists_the_secure_apis_public_page():
    listed = public_routes()
    assert is_public("dev-secure-api", "GET /public", listed)
    assert is_public("prod-secure-api", "GET /public", listed)
    assert not is_public("dev-secure-api", "GET /private", listed)
    assert not is_public("dev-label-proxy", "GET /public", listed)


def test_a_route_is_public_only_in_the_stacks_its_glob_matches():
    listed = {"dev-*": ["GET /health"], "*-site": ["$default", "ANY /{proxy+}"]}
    stack = Stack([route("dev-shop", "GET /health"), route("prod-shop", "GET /health"),
                   route("prod-site", "ANY /{proxy+}"), route("prod-site", "GET /admin")])
    findings = list(api_route_authorized(stack, listed))
    assert [(stack_name(f.resource), f.message.split(" has")[0]) for f in findings] == [
        ("prod-shop", "GET /health"), ("prod-site", "GET /admin")]
    assert "list it for prod-shop in policies/public_routes.yaml" in findings[0].message


@pytest.mark.parametrize("text", ['["GET /public"]', '"*-api": "GET /public"', '"*-api": [1]'])
def test_a_file_of_another_shape_is_refused_naming_the_format(tmp_path, text):
    path = tmp_path / "public_routes.yaml"
    path.write_text(text)
    with pytest.raises(ValueError, match="mapping from stack-name globs to lists of route keys"):
        public_routes(path)


def test_the_file_documents_its_format_at_the_top():
    header = PUBLIC_ROUTES_FILE.read_text().split("\n\n")[0]
    assert header.startswith("# API routes that may be called without authorisation")
    assert "stack-name glob" in PUBLIC_ROUTES_FILE.read_text()
