"""LambdaFunction: a Python Lambda with its own role, log group and (optionally) a dependency layer.

Every Lambda of every pattern is built here, so each one gets the same guarantees: a role that may write
only to its own log group plus exactly the statements the pattern passes in, a log group with retention
(created before the function, so no unmanaged ``/aws/lambda/…`` group appears), JSON logs, and a
bounded timeout.
"""
from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import pulumi
import pulumi_aws as aws

from components import iam, packaging, validation
from components.logs import log_group

RUNTIMES = ("python3.12", "python3.13")
ARCHITECTURES = ("arm64", "x86_64")
ENV_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
# Values of these must come from Secrets Manager (pass the secret's ARN), never as plaintext variables.
SECRET_LOOKING = re.compile(r"(PASSWORD|SECRET(?!_ARN$)|TOKEN|PRIVATE_KEY|API_KEY|CREDENTIALS(?!_SECRET_ARN$))",
                            re.IGNORECASE)


@dataclass(frozen=True)
class LambdaFunctionArgs:
    source_dir: str
    """Directory (relative to the project) whose files form the package root."""
    description: str = ""
    handler: str = "handler.handler"
    runtime: str = "python3.12"
    architecture: str = "arm64"
    """arm64 (Graviton) costs 20% less per GB-second than x86_64."""
    memory_mb: int = 128
    timeout_seconds: int = 30
    environment: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    policy_statements: Sequence[iam.Statement] = ()
    """What the function may do besides writing its own logs."""
    log_retention_days: int = 30
    requirements_file: Optional[str] = None
    """Third-party packages, installed into a layer for the function's platform."""
    reserved_concurrency: Optional[int] = None

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        if not packaging.project_path(self.source_dir).is_dir():
            raise validation.InvalidArgument("source_dir", self.source_dir, "an existing directory of this project")
        validation.one_of("runtime", self.runtime, RUNTIMES)
        validation.one_of("architecture", self.architecture, ARCHITECTURES)
        validation.in_range("memory_mb", self.memory_mb, 128, 10240)
        validation.in_range("timeout_seconds", self.timeout_seconds, 1, 900)
        validation.log_retention("log_retention_days", self.log_retention_days)
        for name in self.environment:
            if not ENV_NAME.match(name) or name.startswith("AWS_"):
                raise validation.InvalidArgument("environment", name,
                                                 "names of letters, digits and _, not starting with AWS_")
            if SECRET_LOOKING.search(name):
                raise validation.InvalidArgument("environment", name, "no secrets in plaintext variables: store "
                                                 "the value in Secrets Manager and pass its ARN (NAME_SECRET_ARN)")
        if self.requirements_file and not packaging.project_path(self.requirements_file).is_file():
            raise validation.InvalidArgument("requirements_file", self.requirements_file, "an existing file")
        if self.reserved_concurrency is not None:
            validation.in_range("reserved_concurrency", self.reserved_concurrency, 0, 1000)


class LambdaFunction(pulumi.ComponentResource):
    function: aws.lambda_.Function
    role: aws.iam.Role
    log_group: aws.cloudwatch.LogGroup
    layer: Optional[aws.lambda_.LayerVersion]

    def __init__(self, name: str, args: LambdaFunctionArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("cloud-patterns:lambda:LambdaFunction", name, None, opts)
        self.args = args
        self.log_group = log_group(f"{name}-logs", args.log_retention_days, self)
        write_logs = iam.statement(["logs:CreateLogStream", "logs:PutLogEvents"],
                                   [pulumi.Output.concat(self.log_group.arn, ":*")], sid="WriteOwnLogs")
        self.role = iam.service_role(f"{name}-role", "lambda.amazonaws.com",
                                     iam.policy_document([write_logs, *args.policy_statements], self),
                                     self, f"Runs the {name} function")
        self.layer = None
        if args.requirements_file:
            layer_dir = packaging.python_dependencies(args.requirements_file, args.runtime.removeprefix("python"),
                                                      args.architecture)
            self.layer = aws.lambda_.LayerVersion(
                f"{name}-dependencies", layer_name=f"{name}-dependencies",
                code=pulumi.FileArchive(str(Path(layer_dir).relative_to(packaging.PROJECT_DIR))),
                compatible_runtimes=[args.runtime], compatible_architectures=[args.architecture],
                description=f"Python packages of {args.requirements_file}",
                opts=pulumi.ResourceOptions(parent=self))
        self.function = aws.lambda_.Function(
            name, description=args.description, role=self.role.arn, runtime=args.runtime, handler=args.handler,
            architectures=[args.architecture], memory_size=args.memory_mb, timeout=args.timeout_seconds,
            code=packaging.source_archive(args.source_dir),
            layers=[self.layer.arn] if self.layer else None,
            environment=aws.lambda_.FunctionEnvironmentArgs(variables=dict(args.environment))
            if args.environment else None,
            logging_config=aws.lambda_.FunctionLoggingConfigArgs(log_format="JSON", log_group=self.log_group.name),
            reserved_concurrent_executions=args.reserved_concurrency,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.role, *self.role.permissions]))
        self.register_outputs({"function_name": self.function.name, "function_arn": self.function.arn,
                               "role_arn": self.role.arn, "log_group_name": self.log_group.name})
