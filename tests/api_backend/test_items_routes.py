"""The secure API's /items routes in the planned environments: each goes through the token authorizer and the
private backend's VPC link to its NLB listener, with the caller's identity set by API Gateway (never by the
client); and the authorizer knows who may call them, so a route is never left without an access rule."""
from __future__ import annotations

import pytest

from runtime.items_service import contract as items
from runtime.secure_api import contract
from runtime.secure_api.contract import Principal
from tests.conftest import planned


@pytest.fixture(scope="module", params=["dev", "prod"])
def stacks(request):
    return {plan.spec.short_name: plan for plan in planned(request.param)}


def test_every_items_route_goes_through_the_authorizer_and_the_backends_vpc_link(stacks):
    api, backend = stacks["secure-api"], stacks["api-backend"]
    routes = {r.inputs["routeKey"]: r.inputs for r in api.of_type("aws:apigatewayv2/route:Route")}
    assert set(contract.BACKEND_ROUTES) == {"GET /items", "POST /items", "GET /items/{id}"} <= set(routes)
    token_authorizer = routes[contract.PRIVATE]["authorizerId"]
    integrations = {r.name: r.inputs for r in api.of_type("aws:apigatewayv2/integration:Integration")}
    [link] = [i for i in integrations.values() if i.get("connectionType") == "VPC_LINK"]
    for key in contract.BACKEND_ROUTES:
        assert routes[key]["authorizationType"] == "CUSTOM" and routes[key]["authorizerId"] == token_authorizer
        assert routes[key]["target"] == routes["GET /items"]["target"] != routes[contract.PRIVATE]["target"]
    assert (link["connectionId"], link["integrationUri"]) == (backend.outputs["vpc_link_id"],
                                                            backend.outputs["listener_arn"])
    assert link["integrationUri"].startswith("arn:aws:elasticloadbalancing:") and ":listener/net/" in link["integrationUri"]
    assert (link["integrationType"], link["integrationMethod"], link["payloadFormatVersion"]) == (
        "HTTP_PROXY", "ANY", "1.0")
    # API Gateway overwrites the header with the authorizer's verdict: a client cannot claim another identity.
    assert link["requestParameters"] == {f"overwrite:header.{items.CALLER_HEADER}": "$context.authorizer.sub"}


def test_the_stack_reads_the_backend_so_the_backend_is_deployed_first(stacks):
    assert "api-backend" in {name.split("-", 1)[1] for name in stacks["secure-api"].spec.depends_on}


@pytest.mark.parametrize("route, principal, admitted", [
    ("GET /items", Principal("u", "c", user=True, groups=frozenset({"USER"})), True),
    ("POST /items", Principal("u", "c", user=True, groups=frozenset({"USER"})), True),
    ("POST /items", Principal("u", "c", user=True, groups=frozenset({"ADMIN"})), False),
    ("GET /items/{id}", Principal("m", "c", user=False, scopes=frozenset({"read"})), True),
    ("POST /items", Principal("m", "c", user=False, scopes=frozenset({"read"})), False),
    ("POST /items", Principal("m", "c", user=False, scopes=frozenset({"write"})), True),
])
def test_the_authorizer_admits_users_and_scoped_clients_to_the_items_routes(route, principal, admitted):
    assert contract.ACCESS[route].admits(principal) is admitted
    assert principal.context()[contract.CALLER_CONTEXT_KEY] == principal.subject
