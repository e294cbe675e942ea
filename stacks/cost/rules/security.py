"""Secrets Manager secrets, KMS keys and Cognito user pools."""
from __future__ import annotations

from planning.offline import PlannedResource
from stacks.cost.formatting import _rate
from stacks.cost.model import FixedCost, Line, NotPriced, StackContext, rule


def _monthly_plus_requests(resource: PlannedResource, ctx: StackContext, what: str, unit: str, month_rate: str,
                           requests: str, request_rate: str, usage_key: str) -> list[Line]:
    """A fixed price per resource-month, plus a price per 10,000 API requests."""
    p = ctx.prices
    return [FixedCost(resource.name, resource.type, what, p[month_rate], f"{_rate(p[month_rate])}/{unit}-month"),
            ctx.usage_line(resource, requests, p[request_rate], f"10k {requests}", usage_key,
                           f"per 10,000 {requests}", unit_size=1e4)]


@rule("aws:secretsmanager/secret:Secret")
def _secret(secret: PlannedResource, ctx: StackContext) -> list[Line]:
    return _monthly_plus_requests(secret, ctx, "secret", "secret", "secret_month", "API calls", "secrets_ten_thousand_calls",
                                  "secret_api_calls")


@rule("aws:kms/key:Key")
def _kms_key(key: PlannedResource, ctx: StackContext) -> list[Line]:
    return _monthly_plus_requests(key, ctx, "customer managed key", "key", "kms_key_month", "requests", "kms_ten_thousand_requests",
                                  "kms_requests")


@rule("aws:cognito/userPool:UserPool")
def _user_pool(pool: PlannedResource, ctx: StackContext) -> list[Line]:
    p = ctx.prices
    tier = str(pool.inputs.get("userPoolTier", "ESSENTIALS")).lower()
    rate = f"cognito_{tier}_mau"
    if rate not in p.rates:
        return [NotPriced(pool.name, pool.type, f"the {tier} tier has no price in the price file")]
    free = p["cognito_free_mau"]
    return [ctx.usage_line(pool, f"monthly active users ({tier} tier, first {free:,.0f} free)", p[rate], "MAU",
                           "cognito_mau", f"per MAU above {free:,.0f}", free_quantity=free)]
