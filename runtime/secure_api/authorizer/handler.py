"""The HTTP API's Lambda authorizer (payload 2.0, simple responses): is this request's route open to the
bearer of its access token?

API Gateway caches the answer per identity source values, and the component puts the route key among them,
so an answer for ``GET /private`` is never replayed for ``GET /admin``. A denial answers 403 (API Gateway's
``{"message":"Forbidden"}``); a request without an ``Authorization`` header never gets here (401). When the
issuer's keys cannot be fetched the function raises, so API Gateway answers 500 and caches nothing, instead
of caching a denial of valid tokens for the cache's lifetime.

``checks()`` run in order and each returns why it denies (or None): further request checks (a required header
whose value must match a secret) go before the token's. With ``ORIGIN_SECRET_ARN`` set (an edge in front), the
origin-secret check runs first, on every route, public ones too: a public route's authorizer checks only that.
"""
from __future__ import annotations

import functools
import os
from collections.abc import Callable, Mapping
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.data_classes.api_gateway_authorizer_event import (
    APIGatewayAuthorizerEventV2,
    APIGatewayAuthorizerResponseV2,
)

from runtime.secure_api import contract
from runtime.secure_api.authorizer import origin_secret
from runtime.secure_api.authorizer.tokens import AccessTokens, Settings, TokenRefused
from runtime.secure_api.contract import Principal

logger = Logger(service=os.environ.get(contract.ENV_SERVICE, "secure-api-authorizer"))


@functools.cache
def access_tokens() -> AccessTokens:
    """Built on the first request of a container, from its environment; its key cache lives as long."""
    return AccessTokens(Settings.from_env(os.environ))


def decide(event: APIGatewayAuthorizerEventV2, tokens: AccessTokens) -> tuple[Principal | None, str | None]:
    """The principal and why the request is denied (None: allowed)."""
    access = contract.ACCESS.get(event.route_key)
    if access is None:
        return None, "route has no access rule"  # fail closed: a route added without deciding who may call it
    if access.public:
        return None, None  # reached only through the request checks (the origin secret): no token needed
    try:
        principal = tokens.principal(event.get_header_value(contract.AUTHORIZATION_HEADER, ""))
    except TokenRefused as refused:
        return None, refused.reason
    if not access.admits(principal):
        return principal, "not in a group or scope of the route"
    return principal, None


Check = Callable[[APIGatewayAuthorizerEventV2], "str | None"]


@functools.cache
def checks() -> tuple[Check, ...]:
    """Request checks before the token's, from the environment (built once per container)."""
    import boto3  # in the Lambda runtime; imported only when an origin secret is configured

    secret = origin_secret.from_env(os.environ, lambda: boto3.client("secretsmanager"))
    return () if secret is None else (lambda request: secret.check({k.lower(): v for k, v in (request.headers or {}).items()}),)


def handler(event: Mapping[str, Any], context: Any) -> dict:
    request = APIGatewayAuthorizerEventV2(dict(event))
    denial = next((reason for check in checks() if (reason := check(request))), None)
    principal = None
    if denial is None:
        principal, denial = decide(request, access_tokens())
    # Never the token or the headers: who, which route, and the decision.
    logger.info("authorization", route=request.route_key, allowed=denial is None, reason=denial,
                sub=principal.subject if principal else None, client_id=principal.client_id if principal else None,
                request_id=request.request_context.request_id)
    return APIGatewayAuthorizerResponseV2(authorize=denial is None,
                                          context=principal.context() if denial is None and principal else None
                                          ).asdict()
