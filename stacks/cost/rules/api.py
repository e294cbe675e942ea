"""API Gateway HTTP APIs."""
from __future__ import annotations

from planning.offline import PlannedResource
from stacks.cost.model import Line, NotPriced, StackContext, rule


@rule("aws:apigatewayv2/api:Api")
def _http_api(api: PlannedResource, ctx: StackContext) -> list[Line]:
    if api.inputs.get("protocolType") != "HTTP":
        return [NotPriced(api.name, api.type, f"{api.inputs.get('protocolType')} APIs have no price in the price file")]
    price = ctx.prices["http_api_million_requests"]
    return [ctx.usage_line(api, "HTTP API requests", price, "1M requests", "api_requests", "per million requests",
                           unit_size=1e6)]
