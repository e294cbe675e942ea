"""API Gateway v2 stages: detailed (per-route) metrics are CloudWatch custom metrics, billed per metric-month;
without them a stage is billed through its API's requests (the free list)."""
from __future__ import annotations

from planning.offline import PlannedResource
from stacks.cost.formatting import _rate
from stacks.cost.model import FixedCost, Line, StackContext, rule

HTTP_API_METRICS = ("Count", "4xx", "5xx", "Latency", "IntegrationLatency", "DataProcessed")


@rule("aws:apigatewayv2/stage:Stage")
def _stage(stage: PlannedResource, ctx: StackContext) -> list[Line] | None:
    if not (stage.inputs.get("defaultRouteSettings") or {}).get("detailedMetricsEnabled"):
        return None
    routes = [r for r in ctx.plan.of_type("aws:apigatewayv2/route:Route")
              if r.inputs.get("apiId") == stage.inputs.get("apiId")]
    metrics = len(routes) * len(HTTP_API_METRICS)
    rate = ctx.prices["cloudwatch_metric_month"]
    return [FixedCost(stage.name, stage.type, f"detailed metrics: {len(HTTP_API_METRICS)} per route × {len(routes)} "
                      "routes", metrics * rate, f"{metrics} metrics × {_rate(rate)}/metric-month")]
