"""Mock shapes: API Gateway v2 authorizers (the API, stages, routes and integrations are in ``aws_edge``)."""
from __future__ import annotations

from planning.mocks import ProviderMocks, digest, shape


@shape("aws:apigatewayv2/authorizer:Authorizer")
def _authorizer(m: ProviderMocks, name: str, inputs: dict) -> tuple[str, dict]:
    # Authorizer ids are short and lower-case alphanumeric; the permission's source ARN ends with one.
    return digest("authorizer", name, length=6), {}


@shape("aws:apigatewayv2/vpcLink:VpcLink")
def _vpc_link(m: ProviderMocks, name: str, inputs: dict) -> tuple[str, dict]:
    link_id = digest("vpc-link", name, length=6)
    return link_id, {"arn": f"arn:aws:apigateway:{m.region}::/vpclinks/{link_id}"}
