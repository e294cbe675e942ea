"""CloudProxy: an API Gateway HTTP API ``GET /detect`` in front of a Lambda that calls a GCP Cloud Function.

The GCP caller's service-account key is kept in a Secrets Manager secret that only the Lambda's role may
read (``secretsmanager:GetSecretValue`` on that one ARN); the Lambda gets the secret's ARN, never the key.
The stage logs every request as JSON to a log group with retention and throttles the route.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Optional

import pulumi
import pulumi_aws as aws

from components import iam, validation
from components.lambda_function import LambdaFunction, LambdaFunctionArgs
from components.logs import log_group
from service_limits import API_GATEWAY_MAX_SECONDS

ROUTE = "GET /detect"
AUTHORIZATION = ("AWS_IAM", "NONE")
# The query string is left out on purpose: imageUri may be a presigned URL, whose signature is a credential.
ACCESS_LOG_FORMAT = json.dumps({
    "requestId": "$context.requestId", "ip": "$context.identity.sourceIp", "caller": "$context.identity.caller",
    "requestTime": "$context.requestTime", "routeKey": "$context.routeKey", "status": "$context.status",
    "responseLength": "$context.responseLength", "latencyMs": "$context.responseLatency",
    "integrationLatencyMs": "$context.integrationLatency", "integrationStatus": "$context.integrationStatus",
    "integrationError": "$context.integrationErrorMessage"})


@dataclass(frozen=True)
class CloudProxyArgs:
    function_url: pulumi.Input[str]
    """The Cloud Function's URL (also the audience of the ID tokens the Lambda mints)."""
    caller_key_json: pulumi.Input[str]
    """The GCP caller service account's key file (JSON); stored in Secrets Manager, never in the Lambda."""
    default_image_uri: str = "gs://cloud-samples-data/vision/label/wakeupcat.jpg"
    authorization: str = "AWS_IAM"
    """Who may call GET /detect: AWS_IAM (SigV4-signed requests of principals allowed execute-api:Invoke)
    or NONE (anyone; throttling still applies)."""
    memory_mb: int = 256
    timeout_seconds: int = 29
    upstream_timeout_seconds: int = 25
    """How long the Lambda waits for the function; below timeout_seconds so it can still answer 504."""
    throttling_rate_limit: float = 10.0
    """Steady-state requests per second for the whole stage."""
    throttling_burst_limit: int = 20
    log_retention_days: int = 30
    """For the Lambda's log group and the API's access-log group."""
    reserved_concurrency: Optional[int] = None
    secret_recovery_window_days: int = 7
    """0 deletes the secret at once on destroy; 7-30 keeps it recoverable that long."""

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        if not str(self.default_image_uri).startswith(("http://", "https://", "gs://")):
            raise validation.InvalidArgument("default_image_uri", self.default_image_uri, "an http(s):// or gs:// URI")
        validation.one_of("authorization", self.authorization, AUTHORIZATION)
        validation.in_range("timeout_seconds", self.timeout_seconds, 3, API_GATEWAY_MAX_SECONDS - 1)
        validation.in_range("upstream_timeout_seconds", self.upstream_timeout_seconds, 1, self.timeout_seconds - 2)
        validation.in_range("throttling_rate_limit", self.throttling_rate_limit, 1, 10000)
        validation.in_range("throttling_burst_limit", self.throttling_burst_limit, 1, 5000)
        validation.log_retention("log_retention_days", self.log_retention_days)
        if self.secret_recovery_window_days != 0:
            validation.in_range("secret_recovery_window_days", self.secret_recovery_window_days, 7, 30)


class CloudProxy(pulumi.ComponentResource):
    secret: aws.secretsmanager.Secret
    proxy: LambdaFunction
    api: aws.apigatewayv2.Api
    route: aws.apigatewayv2.Route
    stage: aws.apigatewayv2.Stage
    access_logs: aws.cloudwatch.LogGroup
    detect_url: pulumi.Output[str]

    def __init__(self, name: str, args: CloudProxyArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("cloud-patterns:multicloud:CloudProxy", name, None, opts)
        self.args = args
        child = pulumi.ResourceOptions(parent=self)

        self.secret = aws.secretsmanager.Secret(
            f"{name}-gcp-caller-key", description="Service-account key the label proxy uses to call the GCP function",
            recovery_window_in_days=args.secret_recovery_window_days, opts=child)
        self.secret_version = aws.secretsmanager.SecretVersion(
            f"{name}-gcp-caller-key", secret_id=self.secret.id,
            secret_string=pulumi.Output.secret(args.caller_key_json), opts=child)

        self.proxy = LambdaFunction(name, LambdaFunctionArgs(
            source_dir="runtime/label_proxy", requirements_file="runtime/label_proxy/requirements.txt",
            description="GET /detect: labels an image through the GCP label-detector function",
            memory_mb=args.memory_mb, timeout_seconds=args.timeout_seconds,
            log_retention_days=args.log_retention_days, reserved_concurrency=args.reserved_concurrency,
            environment={"GFUNC_URL": args.function_url, "DEFAULT_IMAGE_URI": args.default_image_uri,
                         "GFUNC_TIMEOUT_SECONDS": str(args.upstream_timeout_seconds),
                         "GCP_CREDENTIALS_SECRET_ARN": self.secret.arn},
            policy_statements=[iam.statement(["secretsmanager:GetSecretValue"], [self.secret.arn],
                                             sid="ReadGcpCallerKey")]), opts=child)

        self.api = aws.apigatewayv2.Api(f"{name}-api", protocol_type="HTTP",
                                        description="Image labels from the GCP label detector", opts=child)
        integration = aws.apigatewayv2.Integration(
            f"{name}-lambda", api_id=self.api.id, integration_type="AWS_PROXY",
            integration_uri=self.proxy.function.invoke_arn, integration_method="POST", payload_format_version="2.0",
            timeout_milliseconds=API_GATEWAY_MAX_SECONDS * 1000, opts=child)
        self.route = aws.apigatewayv2.Route(
            f"{name}-detect", api_id=self.api.id, route_key=ROUTE, authorization_type=args.authorization,
            target=pulumi.Output.concat("integrations/", integration.id), opts=child)
        self.access_logs = log_group(f"{name}-access-logs", args.log_retention_days, self)
        self.stage = aws.apigatewayv2.Stage(
            f"{name}-stage", api_id=self.api.id, name="$default", auto_deploy=True,
            access_log_settings=aws.apigatewayv2.StageAccessLogSettingsArgs(
                destination_arn=self.access_logs.arn, format=ACCESS_LOG_FORMAT),
            default_route_settings=aws.apigatewayv2.StageDefaultRouteSettingsArgs(
                throttling_rate_limit=args.throttling_rate_limit, throttling_burst_limit=args.throttling_burst_limit,
                detailed_metrics_enabled=True),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.route]))
        # Only this API's GET /detect route may invoke the function.
        aws.lambda_.Permission(
            f"{name}-from-api", action="lambda:InvokeFunction", function=self.proxy.function.name,
            principal="apigateway.amazonaws.com",
            source_arn=pulumi.Output.concat(self.api.execution_arn, "/*/GET/detect"), opts=child)

        # The stage is $default, so the route hangs directly off the API's endpoint (which has no trailing /).
        self.detect_url = pulumi.Output.concat(self.api.api_endpoint, "/detect")
        self.register_outputs({"detect_url": self.detect_url, "secret_arn": self.secret.arn,
                               "function_name": self.proxy.function.name,
                               "access_log_group": self.access_logs.name})
