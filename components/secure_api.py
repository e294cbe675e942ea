"""SecureApi: an API Gateway HTTP API whose routes are guarded, one by one, by a Lambda authorizer.

The routes, what each runs (an ``Integration``: a Lambda, or an HTTP backend in a VPC through a VPC link) and the authorizer are arguments; the component builds the API, the functions (with their own
roles, log groups and alarms), one ``$default`` stage with JSON access logs and throttling, and Lambda
permissions scoped to exactly the route (or the authorizer) that calls them.

A route is ``authorized`` (the default) or public (authorization NONE). The authorizer answers with a simple
response; API Gateway caches it per identity source values, so the route key is always one of them: an answer
for one route is never replayed for another. The headers the authorizer reads (``identity_headers``) are
identity sources too: a request without one is refused with 401 before the authorizer runs, and an added
required header (e.g. an origin secret) joins the cache key. Access logs never hold query strings or headers.
"""
from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Optional, Protocol

import pulumi
import pulumi_aws as aws

from components import alarms
from components.args import Args, Boolean, InvalidArgument, Number, Retention, Whole, setting, wiring
from components.lambda_function import LambdaFunction, LambdaFunctionArgs
from components.logs import log_group
from service_limits import API_GATEWAY_MAX_SECONDS

ROUTE_KEY = re.compile(r"(GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS|ANY) (/[A-Za-z0-9._~{}+/-]*)")
STAGE = "$default"
ACCESS_LOG_FORMAT = json.dumps({
    "requestId": "$context.requestId", "ip": "$context.identity.sourceIp", "requestTime": "$context.requestTime",
    "routeKey": "$context.routeKey", "status": "$context.status", "protocol": "$context.protocol",
    "responseLength": "$context.responseLength", "latencyMs": "$context.responseLatency",
    "integrationLatencyMs": "$context.integrationLatency", "integrationStatus": "$context.integrationStatus",
    "integrationError": "$context.integrationErrorMessage", "authorizerError": "$context.authorizer.error",
    "sub": "$context.authorizer.sub"})


@dataclass(frozen=True)
class Route:
    key: str
    """``METHOD /path`` (path parameters as ``{name}``)."""
    integration: str
    """The name of what it runs, a key of ``integrations``."""
    authorized: bool = True
    """False: anyone may call it (authorization NONE)."""

    @property
    def slug(self) -> str:
        method, path = self.key.split(" ", 1)
        return "-".join([method.lower(), *(re.findall(r"[a-z0-9]+", path.lower()) or ["root"])])

    def source_arn(self, execution_arn: pulumi.Input[str]) -> pulumi.Output[str]:
        """What API Gateway presents when this route calls its backend: any stage, this method and path."""
        method, path = self.key.split(" ", 1)
        return pulumi.Output.concat(execution_arn, "/*/", "*" if method == "ANY" else method,
                                    re.sub(r"\{[^}]+\}", "*", path))


class Integration(Protocol):
    def build(self, api: "SecureApi", key: str, routes: Sequence[Route]) -> aws.apigatewayv2.Integration:
        """The integration ``key`` (and what it runs, parented to ``api``) that ``routes`` target."""


@dataclass(frozen=True)
class LambdaIntegration:
    """A Lambda function built from ``function``; only this API's ``routes`` may invoke it."""

    function: LambdaFunctionArgs

    def build(self, api: "SecureApi", key: str, routes: Sequence[Route]) -> aws.apigatewayv2.Integration:
        name = f"{api.name}-{key}"
        function = LambdaFunction(name, self.function, opts=pulumi.ResourceOptions(parent=api))
        api.functions[key] = function
        for route in routes:
            aws.lambda_.Permission(
                f"{name}-{route.slug}", action="lambda:InvokeFunction", function=function.function.name,
                principal="apigateway.amazonaws.com", source_arn=route.source_arn(api.api.execution_arn),
                opts=pulumi.ResourceOptions(parent=function))
        return aws.apigatewayv2.Integration(
            name, api_id=api.api.id, integration_type="AWS_PROXY", integration_uri=function.function.invoke_arn,
            integration_method="POST", payload_format_version="2.0",
            timeout_milliseconds=API_GATEWAY_MAX_SECONDS * 1000, opts=pulumi.ResourceOptions(parent=api))


@dataclass(frozen=True)
class VpcLinkIntegration:
    """An HTTP backend in a VPC: API Gateway proxies the request (payload 1.0, path unchanged) through the VPC link
    to a private load balancer's listener (or a Cloud Map service). ``headers`` are set from the request's context
    (``{"x-caller-sub": "$context.authorizer.sub"}``), overwriting any value a client sent, so the backend can trust
    them: it is reachable only through this link."""

    vpc_link_id: pulumi.Input[str]
    listener_arn: pulumi.Input[str]
    """What the link targets: an NLB/ALB listener ARN or a Cloud Map service ARN."""
    headers: Mapping[str, str] = dataclasses.field(default_factory=dict)

    def build(self, api: "SecureApi", key: str, routes: Sequence[Route]) -> aws.apigatewayv2.Integration:
        return aws.apigatewayv2.Integration(
            f"{api.name}-{key}", api_id=api.api.id, integration_type="HTTP_PROXY", connection_type="VPC_LINK",
            connection_id=self.vpc_link_id, integration_uri=self.listener_arn, integration_method="ANY",
            payload_format_version="1.0", timeout_milliseconds=API_GATEWAY_MAX_SECONDS * 1000,
            request_parameters={f"overwrite:header.{name}": value for name, value in sorted(self.headers.items())}
            or None, opts=pulumi.ResourceOptions(parent=api))


@dataclass(frozen=True)
class LambdaAuthorizer:
    """A REQUEST authorizer (payload 2.0, simple responses) run by a function built from ``function``."""

    function: LambdaFunctionArgs
    identity_headers: Sequence[str] = ("Authorization",)
    """Headers every authorized request must carry (401 without) and that key the cached answers."""
    public_identity_headers: Sequence[str] = ()
    """Non-empty: public routes go through the same function too, as a second authorizer keyed by these headers
    (e.g. the edge's origin-secret header: the function checks it and no token); empty: public routes are open."""


@dataclass(frozen=True)
class SecureApiArgs(Args):
    throttling_rate_limit: float = setting(10.0, Number(1, 10000, "(requests per second)"),
                                           "Steady-state requests per second the stage admits (429 above).")
    throttling_burst_limit: int = setting(20, Whole(1, 5000, "(requests)"), "Requests the stage admits at once.")
    authorizer_cache_seconds: int = setting(300, Whole(0, 3600, "(seconds)"),
                                            "How long API Gateway reuses an authorizer's answer for the same token "
                                            "and route; 0: ask on every request.")
    log_retention_days: int = setting(30, Retention(), "Retention of the access logs and the functions' logs.")
    detailed_metrics: bool = setting(False, Boolean(), "Per-route CloudWatch metrics (billed as custom metrics).")
    server_errors_per_minute: int = setting(5, Whole(1, 100000), "5xx answers a minute, two minutes running, "
                                                                 "that raise the API's alarm.")
    routes: Sequence[Route] = wiring("The routes.", default=())
    integrations: Mapping[str, Integration] = wiring("What routes run, by name.", default={})
    authorizer: Optional[LambdaAuthorizer] = wiring("Guards every authorized route.", default=None)
    description: str = wiring("The API's description.", default="")
    alarm_topic_arn: Optional[pulumi.Input[str]] = wiring("The environment's alarm topic.", default=None)

    def check(self) -> None:
        keys, slugs = [r.key for r in self.routes], [r.slug for r in self.routes if ROUTE_KEY.fullmatch(r.key)]
        for route in self.routes:
            if not ROUTE_KEY.fullmatch(route.key):
                raise InvalidArgument("routes", route.key, "METHOD /path, e.g. GET /items/{id}")
            if route.integration not in self.integrations:
                raise InvalidArgument("routes", route.integration, "an integration among "
                                      + ", ".join(self.integrations))
            if route.authorized and self.authorizer is None:
                raise InvalidArgument("authorizer", None, f"an authorizer, since {route.key} is authorized")
        if len(set(keys)) != len(keys) or len(set(slugs)) != len(slugs):
            raise InvalidArgument("routes", keys, "distinct route keys (and distinct names: method and path words)")
        unused = sorted(set(self.integrations) - {r.integration for r in self.routes})
        if unused:
            raise InvalidArgument("integrations", unused, "integrations that some route uses")


class SecureApi(pulumi.ComponentResource):
    api: aws.apigatewayv2.Api
    functions: dict[str, LambdaFunction]
    """The Lambda integrations' functions, by integration name."""
    authorizer_function: Optional[LambdaFunction]
    authorizer: Optional[aws.apigatewayv2.Authorizer]
    public_authorizer: Optional[aws.apigatewayv2.Authorizer]
    """Public routes' authorizer (``LambdaAuthorizer.public_identity_headers``), or None: they are open."""
    routes: dict[str, aws.apigatewayv2.Route]
    stage: aws.apigatewayv2.Stage
    access_logs: aws.cloudwatch.LogGroup
    alarms: list[aws.cloudwatch.MetricAlarm]
    url: pulumi.Output[str]

    def __init__(self, name: str, args: SecureApiArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("cloud-patterns:serverless:SecureApi", name, None, opts)
        self.name, self.args = name, args
        child = pulumi.ResourceOptions(parent=self)
        self.api = aws.apigatewayv2.Api(f"{name}-api", protocol_type="HTTP", description=args.description, opts=child)
        self.functions = {}
        self.authorizer_function, self.authorizer, self.public_authorizer = None, None, None
        if args.authorizer is not None:
            self._authorize(name, args.authorizer)
        integrations = {key: integration.build(self, key, [r for r in args.routes if r.integration == key])
                        for key, integration in args.integrations.items()}
        self.routes = {route.key: aws.apigatewayv2.Route(
            f"{name}-{route.slug}", api_id=self.api.id, route_key=route.key,
            authorization_type="CUSTOM" if route.authorized or self.public_authorizer else "NONE",
            authorizer_id=(self.authorizer.id if route.authorized and self.authorizer
                           else self.public_authorizer.id if self.public_authorizer else None),
            target=pulumi.Output.concat("integrations/", integrations[route.integration].id), opts=child)
            for route in args.routes}
        self.access_logs = log_group(f"{name}-access-logs", args.log_retention_days, self)
        self.stage = aws.apigatewayv2.Stage(
            f"{name}-stage", api_id=self.api.id, name=STAGE, auto_deploy=True,
            access_log_settings=aws.apigatewayv2.StageAccessLogSettingsArgs(
                destination_arn=self.access_logs.arn, format=ACCESS_LOG_FORMAT),
            default_route_settings=aws.apigatewayv2.StageDefaultRouteSettingsArgs(
                throttling_rate_limit=args.throttling_rate_limit, throttling_burst_limit=args.throttling_burst_limit,
                detailed_metrics_enabled=args.detailed_metrics),
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(self.routes.values())))
        self.alarms = [alarm for f in [self.authorizer_function, *self.functions.values()] if f for alarm in f.alarms]
        if args.alarm_topic_arn is not None:
            self.alarms.append(alarms.metric_alarm(
                f"{name}-5xx", self, args.alarm_topic_arn, namespace="AWS/ApiGateway", metric="5xx",
                dimensions={"ApiId": self.api.id, "Stage": STAGE}, threshold=args.server_errors_per_minute,
                comparison="GreaterThanOrEqualToThreshold", evaluation_periods=2, datapoints_to_alarm=2,
                description=f"{name}: the API answers 5xx ({args.server_errors_per_minute}+ a minute)"))
        # The stage is $default, so routes hang directly off the API's endpoint.
        self.url = self.api.api_endpoint
        self.register_outputs({"url": self.url, "api_id": self.api.id, "access_log_group": self.access_logs.name})

    def _authorize(self, name: str, spec: LambdaAuthorizer) -> None:
        self.authorizer_function = LambdaFunction(f"{name}-authorizer", spec.function,
                                                  opts=pulumi.ResourceOptions(parent=self))
        self.authorizer = self._authorizer(f"{name}-authorizer", spec.identity_headers)
        if spec.public_identity_headers:
            self.public_authorizer = self._authorizer(f"{name}-public-authorizer", spec.public_identity_headers)

    def _authorizer(self, name: str, headers: Sequence[str]) -> aws.apigatewayv2.Authorizer:
        function = self.authorizer_function.function
        authorizer = aws.apigatewayv2.Authorizer(
            name, api_id=self.api.id, name=name, authorizer_type="REQUEST",
            authorizer_uri=function.invoke_arn, authorizer_payload_format_version="2.0", enable_simple_responses=True,
            identity_sources=[*(f"$request.header.{h}" for h in headers), "$context.routeKey"],
            authorizer_result_ttl_in_seconds=self.args.authorizer_cache_seconds,
            opts=pulumi.ResourceOptions(parent=self))
        aws.lambda_.Permission(
            f"{name}-from-api", action="lambda:InvokeFunction", function=function.name,
            principal="apigateway.amazonaws.com",
            source_arn=pulumi.Output.concat(self.api.execution_arn, "/authorizers/", authorizer.id),
            opts=pulumi.ResourceOptions(parent=self.authorizer_function))
        return authorizer
