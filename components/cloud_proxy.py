"""CloudProxy: one API Gateway HTTP API route in front of a Lambda that calls a service in another cloud.

The credential the Lambda presents to that service (e.g. a GCP service-account key) is kept in a Secrets
Manager secret that only the Lambda's role may read (``secretsmanager:GetSecretValue`` on that one ARN); the
Lambda gets the secret's ARN, under the variable the app names, never the credential.

The route always requires SigV4-signed requests (``AWS_IAM``): whatever the proxy calls is billed or private
upstream, so it is never anonymous; callers get ``execute-api:Invoke`` on exactly this route through the
managed policy ``invoke_policy`` (attach it to their roles). The stage logs every request as JSON (without the
query string) to a log group with retention and throttles the route; errors and throttles of the Lambda and
the API's 5xx answers alarm on the environment's topic.
"""
from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Optional

import pulumi
import pulumi_aws as aws

from components import alarms, iam
from components.args import Args, InvalidArgument, Maybe, Number, OneOf, Retention, Whole, setting, wiring
from components.lambda_function import LambdaFunction, LambdaFunctionArgs
from components.logs import log_group
from service_limits import API_GATEWAY_MAX_SECONDS, LAMBDA_MEMORY_MB

STAGE = "$default"
ROUTE_KEY = re.compile(r"^(GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS|ANY) (/[A-Za-z0-9._~{}/+-]*)$")
# The query string is left out on purpose: it may carry a presigned URL, whose signature is a credential.
ACCESS_LOG_FORMAT = json.dumps({
    "requestId": "$context.requestId", "ip": "$context.identity.sourceIp", "caller": "$context.identity.caller",
    "requestTime": "$context.requestTime", "routeKey": "$context.routeKey", "status": "$context.status",
    "responseLength": "$context.responseLength", "latencyMs": "$context.responseLatency",
    "integrationLatencyMs": "$context.integrationLatency", "integrationStatus": "$context.integrationStatus",
    "integrationError": "$context.integrationErrorMessage"})


@dataclass(frozen=True)
class CloudProxyArgs(Args):
    source_dir: str = wiring("Directory of the Lambda's code (the package root).")
    route: str = wiring("The route key, e.g. 'GET /detect'.")
    secret_value: pulumi.Input[str] = wiring("The credential the Lambda presents upstream; stored in Secrets "
                                             "Manager, never in the Lambda.")
    secret_arn_variable: str = wiring("The variable under which the Lambda gets the secret's ARN.")
    handler: str = wiring("The Lambda's entry point, module.function.", default="handler.handler")
    requirements_file: Optional[str] = wiring("The Lambda's third-party packages (a layer).", default=None)
    environment: Mapping[str, pulumi.Input[str]] = wiring("The Lambda's other variables.", default={})
    description: str = wiring("The Lambda's description.", default="")
    api_description: str = wiring("The HTTP API's description.", default="")
    secret_description: str = wiring("The secret's description.", default="")
    alarm_topic_arn: Optional[pulumi.Input[str]] = wiring("The environment's alarm topic; None: no alarms.",
                                                          default=None)
    authorization: str = setting("AWS_IAM", OneOf("AWS_IAM", described="AWS_IAM (NONE is refused: every request "
                                                  "is paid for upstream)"),
                                 "Who may call the route: principals allowed execute-api:Invoke on it (the "
                                 "stack's invoke_policy_arn), with SigV4-signed requests.")
    memory_mb: int = setting(256, Whole(*LAMBDA_MEMORY_MB), "Memory of the Lambda (MiB).")
    timeout_seconds: int = setting(29, Whole(3, API_GATEWAY_MAX_SECONDS - 1),
                                   "The Lambda's timeout; API Gateway stops waiting after 30 s.")
    throttling_rate_limit: float = setting(10.0, Number(1, 10000), "Steady-state requests per second for the "
                                           "whole stage.")
    throttling_burst_limit: int = setting(20, Whole(1, 5000), "Requests the stage admits at once above the rate.")
    log_retention_days: int = setting(30, Retention(), "For the Lambda's log group and the API's access-log group.")
    reserved_concurrency: Optional[int] = setting(None, Maybe(Whole(0, 1000)),
                                                  "Caps concurrent invocations (a cost guard); null: the account's "
                                                  "unreserved pool.")
    secret_recovery_window_days: int = setting(7, OneOf(0, *range(7, 31), described="0, or 7 to 30"),
                                               "0 deletes the secret at once on destroy; 7-30 keeps it "
                                               "recoverable that long.")
    server_errors_per_minute: int = setting(5, Whole(1, 100000), "The API's 5xx answers a minute, two minutes "
                                            "running, that alarm on the environment's topic.")

    def check(self) -> None:
        if not isinstance(self.route, str) or not ROUTE_KEY.match(self.route):
            raise InvalidArgument("route", self.route, "METHOD /path, e.g. GET /detect")

    @property
    def method_and_path(self) -> tuple[str, str]:
        method, path = self.route.split(" ", 1)
        return method, path


class CloudProxy(pulumi.ComponentResource):
    secret: aws.secretsmanager.Secret
    proxy: LambdaFunction
    api: aws.apigatewayv2.Api
    route: aws.apigatewayv2.Route
    stage: aws.apigatewayv2.Stage
    access_logs: aws.cloudwatch.LogGroup
    invoke_policy: aws.iam.Policy
    """execute-api:Invoke on this route only: what a caller's role needs."""
    alarms: list[aws.cloudwatch.MetricAlarm]
    url: pulumi.Output[str]

    def __init__(self, name: str, args: CloudProxyArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("cloud-patterns:multicloud:CloudProxy", name, None, opts)
        self.args = args
        child = pulumi.ResourceOptions(parent=self)
        method, path = args.method_and_path

        self.secret = aws.secretsmanager.Secret(
            f"{name}-gcp-caller-key", description=args.secret_description,
            recovery_window_in_days=args.secret_recovery_window_days, opts=child)
        self.secret_version = aws.secretsmanager.SecretVersion(
            f"{name}-gcp-caller-key", secret_id=self.secret.id,
            secret_string=pulumi.Output.secret(args.secret_value), opts=child)

        self.proxy = LambdaFunction(name, LambdaFunctionArgs(
            source_dir=args.source_dir, requirements_file=args.requirements_file, handler=args.handler,
            description=args.description, memory_mb=args.memory_mb, timeout_seconds=args.timeout_seconds,
            log_retention_days=args.log_retention_days, reserved_concurrency=args.reserved_concurrency,
            environment={**args.environment, args.secret_arn_variable: self.secret.arn},
            policy_statements=[iam.statement(["secretsmanager:GetSecretValue"], [self.secret.arn],
                                             sid="ReadGcpCallerKey")],
            alarm_topic_arn=args.alarm_topic_arn), opts=child)

        self.api = aws.apigatewayv2.Api(f"{name}-api", protocol_type="HTTP", description=args.api_description,
                                        opts=child)
        integration = aws.apigatewayv2.Integration(
            f"{name}-lambda", api_id=self.api.id, integration_type="AWS_PROXY",
            integration_uri=self.proxy.function.invoke_arn, integration_method="POST", payload_format_version="2.0",
            timeout_milliseconds=API_GATEWAY_MAX_SECONDS * 1000, opts=child)
        self.route = aws.apigatewayv2.Route(
            f"{name}-{path.strip('/').replace('/', '-') or 'root'}", api_id=self.api.id, route_key=args.route,
            authorization_type=args.authorization, target=pulumi.Output.concat("integrations/", integration.id),
            opts=child)
        self.access_logs = log_group(f"{name}-access-logs", args.log_retention_days, self)
        self.stage = aws.apigatewayv2.Stage(
            f"{name}-stage", api_id=self.api.id, name=STAGE, auto_deploy=True,
            access_log_settings=aws.apigatewayv2.StageAccessLogSettingsArgs(
                destination_arn=self.access_logs.arn, format=ACCESS_LOG_FORMAT),
            default_route_settings=aws.apigatewayv2.StageDefaultRouteSettingsArgs(
                throttling_rate_limit=args.throttling_rate_limit, throttling_burst_limit=args.throttling_burst_limit,
                detailed_metrics_enabled=True),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.route]))
        # Execution ARNs name the route as <stage>/<method>/<path>; ANY is written *.
        route_arn = f"{'*' if method == 'ANY' else method}{path}"
        aws.lambda_.Permission(
            f"{name}-from-api", action="lambda:InvokeFunction", function=self.proxy.function.name,
            principal="apigateway.amazonaws.com",
            source_arn=pulumi.Output.concat(self.api.execution_arn, "/*/", route_arn), opts=child)
        self.invoke_policy = aws.iam.Policy(
            f"{name}-invoke", description=f"Call {args.route} of the {name} API (SigV4-signed)",
            policy=iam.policy_document([iam.statement(
                ["execute-api:Invoke"], [pulumi.Output.concat(self.api.execution_arn, f"/{STAGE}/", route_arn)],
                sid="InvokeRoute")], self), opts=child)

        self.alarms = list(self.proxy.alarms)
        if args.alarm_topic_arn is not None:
            self.alarms.append(alarms.metric_alarm(
                f"{name}-5xx", self, args.alarm_topic_arn, namespace="AWS/ApiGateway", metric="5xx",
                dimensions={"ApiId": self.api.id, "Stage": STAGE}, threshold=args.server_errors_per_minute,
                comparison="GreaterThanOrEqualToThreshold", evaluation_periods=2, datapoints_to_alarm=2,
                description=f"{name}: the API answers 5xx ({args.server_errors_per_minute}+ a minute)"))

        # The stage is $default, so the route hangs directly off the API's endpoint (which has no trailing /).
        self.url = pulumi.Output.concat(self.api.api_endpoint, path)
        self.register_outputs({"url": self.url, "secret_arn": self.secret.arn,
                               "function_name": self.proxy.function.name, "access_log_group": self.access_logs.name,
                               "invoke_policy_arn": self.invoke_policy.arn})
