"""LambdaFunction: a Python Lambda with its own role, log group and (optionally) a dependency layer.

Every Lambda of every pattern is built here, so each one gets the same guarantees: a role that may write
only to its own log group plus exactly the statements the pattern passes in, a log group with retention
(created before the function, so no unmanaged ``/aws/lambda/…`` group appears), JSON logs, and a
bounded timeout.
"""
from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import pulumi
import pulumi_aws as aws

from components import alarms, iam, packaging
from components.args import (
    Args,
    Boolean,
    Custom,
    InvalidArgument,
    Maybe,
    OneOf,
    Retention,
    Text,
    Whole,
    required,
    setting,
    wiring,
)
from components.logs import log_group
from service_limits import LAMBDA_MAX_TIMEOUT_SECONDS, LAMBDA_MEMORY_MB

RUNTIMES = ("python3.12", "python3.13")
ARCHITECTURES = ("arm64", "x86_64")
ENV_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
# Values of these must come from Secrets Manager (pass the secret's ARN), never as plaintext variables.
SECRET_LOOKING = re.compile(r"(PASSWORD|SECRET(?!_ARN$)|TOKEN|PRIVATE_KEY|API_KEY|CREDENTIALS(?!_SECRET_ARN$))",
                            re.IGNORECASE)



@dataclass(frozen=True)
class LambdaFunctionArgs(Args):
    source_dir: str = required(Custom(lambda d: isinstance(d, str) and packaging.project_path(d).is_dir(),
                                      "an existing directory of this project"),
                               "Directory (relative to the project) whose files form the package root.")
    description: str = setting("", Custom(lambda d: isinstance(d, str) and len(d) <= 256, "a text of at most 256 "
                                          "characters"), "The function's description.")
    keep_path: bool = setting(False, Boolean(), "Keep source_dir's project path in the archive (runtime/app/…), so "
                              "modules import each other by their full names; false: its files at the root.")
    handler: str = setting("handler.handler", Text(r"[A-Za-z_][\w.]*\.[A-Za-z_]\w*", "module.function"),
                           "The entry point, module.function relative to source_dir.")
    runtime: str = setting("python3.12", OneOf(*RUNTIMES), "The Python runtime.")
    architecture: str = setting("arm64", OneOf(*ARCHITECTURES),
                                "arm64 (Graviton) costs 20% less per GB-second than x86_64.")
    memory_mb: int = setting(128, Whole(*LAMBDA_MEMORY_MB), "Memory (MiB); CPU grows with it.")
    timeout_seconds: int = setting(30, Whole(1, LAMBDA_MAX_TIMEOUT_SECONDS), "How long an invocation may run.")
    environment: Mapping[str, pulumi.Input[str]] = wiring(
        "Variables of the function (names of letters, digits and _, not starting with AWS_; never secrets: pass a "
        "Secrets Manager ARN as NAME_SECRET_ARN).", default={})
    policy_statements: Sequence[iam.Statement] = wiring("What the function may do besides writing its own logs.",
                                                        default=())
    log_retention_days: int = setting(30, Retention(), "Retention of the function's log group.")
    requirements_file: Optional[str] = setting(None, Maybe(Custom(
        lambda f: isinstance(f, str) and packaging.project_path(f).is_file(), "an existing file")),
        "Third-party packages, installed into a layer for the function's platform.")
    layers: Sequence[pulumi.Input[str]] = wiring("Layer version ARNs made elsewhere (one layer shared by several "
                                                 "functions), after the function's own.", default=())
    reserved_concurrency: Optional[int] = setting(None, Maybe(Whole(0, 1000)),
                                                  "Caps concurrent invocations (a cost guard); null: the account's "
                                                  "unreserved pool.")
    alarm_topic_arn: Optional[pulumi.Input[str]] = wiring(
        "The environment's alarm topic: errors and throttles alarm there; None: no alarms.", default=None)

    def check(self) -> None:
        for name in self.environment:
            if not isinstance(name, str) or not ENV_NAME.match(name) or name.startswith("AWS_"):
                raise InvalidArgument("environment", name, "names of letters, digits and _, not starting with AWS_")
            if SECRET_LOOKING.search(name):
                raise InvalidArgument("environment", name, "no secrets in plaintext variables: store the value in "
                                      "Secrets Manager and pass its ARN (NAME_SECRET_ARN)")


def dependency_layer(name: str, requirements_file: str, runtime: str, architecture: str,
                     parent: pulumi.Resource) -> aws.lambda_.LayerVersion:
    """A layer of the requirements built for the runtime and architecture (functions may share one)."""
    layer_dir = packaging.python_dependencies(requirements_file, runtime.removeprefix("python"), architecture)
    return aws.lambda_.LayerVersion(
        name, layer_name=name, code=pulumi.FileArchive(str(Path(layer_dir).relative_to(packaging.PROJECT_DIR))),
        compatible_runtimes=[runtime], compatible_architectures=[architecture],
        description=f"Python packages of {requirements_file}", opts=pulumi.ResourceOptions(parent=parent))


class LambdaFunction(pulumi.ComponentResource):
    function: aws.lambda_.Function
    role: aws.iam.Role
    log_group: aws.cloudwatch.LogGroup
    layer: Optional[aws.lambda_.LayerVersion]
    alarms: list[aws.cloudwatch.MetricAlarm]
    """Errors and throttles, on the environment's topic (none without ``alarm_topic_arn``)."""

    def __init__(self, name: str, args: LambdaFunctionArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("cloud-patterns:lambda:LambdaFunction", name, None, opts)
        self.args = args
        self.log_group = log_group(f"{name}-logs", args.log_retention_days, self)
        write_logs = iam.statement(["logs:CreateLogStream", "logs:PutLogEvents"],
                                   [pulumi.Output.concat(self.log_group.arn, ":*")], sid="WriteOwnLogs")
        self.role = iam.service_role(f"{name}-role", "lambda.amazonaws.com",
                                     iam.policy_document([write_logs, *args.policy_statements], self),
                                     self, f"Runs the {name} function")
        self.layer = dependency_layer(f"{name}-dependencies", args.requirements_file, args.runtime,
                                      args.architecture, self) if args.requirements_file else None
        self.function = aws.lambda_.Function(
            name, description=args.description, role=self.role.arn, runtime=args.runtime, handler=args.handler,
            architectures=[args.architecture], memory_size=args.memory_mb, timeout=args.timeout_seconds,
            code=packaging.source_archive(args.source_dir, args.keep_path),
            layers=[*([self.layer.arn] if self.layer else []), *args.layers] or None,
            environment=aws.lambda_.FunctionEnvironmentArgs(variables=dict(args.environment))
            if args.environment else None,
            logging_config=aws.lambda_.FunctionLoggingConfigArgs(log_format="JSON", log_group=self.log_group.name),
            reserved_concurrent_executions=args.reserved_concurrency,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.role, *self.role.permissions]))
        self.alarms = [] if args.alarm_topic_arn is None else alarms.lambda_alarms(
            name, self, args.alarm_topic_arn, self.function.name)
        self.register_outputs({"function_name": self.function.name, "function_arn": self.function.arn,
                               "role_arn": self.role.arn, "log_group_name": self.log_group.name})
