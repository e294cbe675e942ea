"""Cognito app clients: those allowed the client-credentials grant are machine-to-machine (M2M) clients, billed
per client-month and per token request; every other client is billed through its pool's monthly active users.
(User pools themselves are priced in ``security``.)"""
from __future__ import annotations

from planning.offline import PlannedResource
from stacks.cost.formatting import _rate
from stacks.cost.model import FixedCost, Line, StackContext, rule


@rule("aws:cognito/userPoolClient:UserPoolClient")
def _app_client(client: PlannedResource, ctx: StackContext) -> list[Line] | None:
    if "client_credentials" not in (client.inputs.get("allowedOauthFlows") or []):
        return None  # the free list: billed through the pool's MAU
    p = ctx.prices
    return [FixedCost(client.name, client.type, "M2M app client", p["cognito_m2m_client_month"],
                      f"{_rate(p['cognito_m2m_client_month'])}/client-month"),
            ctx.usage_line(client, "M2M token requests", p["cognito_m2m_thousand_tokens"], "1k token requests",
                           "m2m_token_requests", "per 1,000 client-credentials token requests", unit_size=1000)]
