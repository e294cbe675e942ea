"""StateMachine: a Step Functions workflow whose definition is built in Python and checked before registration.

The definition is a function of the ARNs it uses (``definition(arns) -> dict``), keyed by names the caller
chooses: ``functions`` are Lambda functions it invokes, ``topics`` SNS topics it publishes to. The Args' check
renders it with placeholder ARNs and runs ``components.asl`` on it, so a definition that breaks the language,
or cannot run as the chosen workflow type, is refused (naming the setting) before any resource is registered;
the rendered definition is checked again with the real ARNs.

- Standard or Express (``workflow_type``); the execution timeout is written into the definition
  (``TimeoutSeconds``), so an execution that hangs ends as timed out and alarms.
- Logs to its own log group (``/aws/vendedlogs/states/…``, the prefix Step Functions recommends, so the log
  resource policy stays small) at level ALL, without execution data unless asked: states' inputs and outputs
  may hold data. X-Ray tracing is an option.
- Its role may invoke exactly its functions, publish to exactly its topics, deliver its logs (the log-delivery
  actions take no resource ARN: ``*`` is the only form IAM accepts), and write traces when tracing; only Step
  Functions acting for this state machine in this account may assume it.
- Alarms on the environment's topic: executions failed, timed out, and throttled.
"""
from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Optional

import pulumi
import pulumi_aws as aws

from components import alarms, asl, iam
from components.args import Args, Boolean, InvalidArgument, OneOf, Retention, Whole, setting, wiring
from components.logs import log_group

EXPRESS_MAX_SECONDS = 300
STANDARD_MAX_SECONDS = 31_536_000  # a year
LOG_DELIVERY = ["logs:CreateLogDelivery", "logs:GetLogDelivery", "logs:UpdateLogDelivery", "logs:DeleteLogDelivery",
                "logs:ListLogDeliveries", "logs:PutResourcePolicy", "logs:DescribeResourcePolicies",
                "logs:DescribeLogGroups"]
TRACING = ["xray:PutTraceSegments", "xray:PutTelemetryRecords", "xray:GetSamplingRules", "xray:GetSamplingTargets"]


def placeholder(key: str, kind: str) -> str:
    """A well-formed ARN standing in for ``key`` until the real one is known."""
    return (f"arn:aws:lambda:us-east-1:123456789012:function:{key}" if kind == "function"
            else f"arn:aws:sns:us-east-1:123456789012:{key}")


@dataclass(frozen=True)
class StateMachineArgs(Args):
    workflow_type: str = setting("STANDARD", OneOf("STANDARD", "EXPRESS"),
                                 "STANDARD: exactly once, up to a year, priced per state transition; EXPRESS: at "
                                 "least once, up to 5 minutes, priced per request and duration (high volume). "
                                 "Callbacks need STANDARD.")
    execution_timeout_seconds: int = setting(900, Whole(1, STANDARD_MAX_SECONDS),
                                             "An execution still running after this fails as timed out (and "
                                             "alarms); EXPRESS allows at most 300.")
    log_level: str = setting("ALL", OneOf("ALL", "ERROR", "FATAL", "OFF"), "Which execution events are logged.")
    include_execution_data: bool = setting(False, Boolean(), "Log the states' input and output too (they may hold "
                                           "data, so off unless needed).")
    tracing: bool = setting(False, Boolean(), "X-Ray traces of executions (billed per trace beyond the free tier).")
    log_retention_days: int = setting(30, Retention(), "Retention of the execution log group.")
    failed_alarm_threshold: int = setting(0, Whole(0, 100000), "Alarm when more executions than this fail, time "
                                          "out or are throttled in 5 minutes.")
    definition: Callable[[Mapping[str, str]], dict] = wiring(
        "Builds the ASL definition (a dict) from the ARN of each function and topic, by key.", default=None)
    functions: Sequence[str] = wiring("Keys of the Lambda functions the definition invokes.", default=())
    topics: Sequence[str] = wiring("Keys of the SNS topics the definition publishes to.", default=())
    arns: Mapping[str, pulumi.Input[str]] = wiring("The ARN of each function and topic key (whoever made them "
                                                   "passes them).", default={})
    alarm_topic_arn: Optional[pulumi.Input[str]] = wiring("The environment's alarm topic; None: no alarms.",
                                                          default=None)

    def check(self) -> None:
        if self.definition is not None:  # first: what the definition needs names workflow_type, whatever else
            self.refuse_problems({**{k: placeholder(k, "function") for k in self.functions},
                                  **{k: placeholder(k, "topic") for k in self.topics}})
        if self.workflow_type == "EXPRESS" and self.execution_timeout_seconds > EXPRESS_MAX_SECONDS:
            raise InvalidArgument("execution_timeout_seconds", self.execution_timeout_seconds,
                                  f"at most {EXPRESS_MAX_SECONDS} for an EXPRESS workflow")

    def render(self, arns: Mapping[str, str]) -> dict[str, Any]:
        return {**self.definition(arns), "TimeoutSeconds": self.execution_timeout_seconds}

    def refuse_problems(self, arns: Mapping[str, str]) -> str:
        """The definition as JSON, or InvalidArgument for its first problem."""
        definition = self.render(arns)
        found = asl.problems(definition, self.workflow_type, {arns[k] for k in self.functions},
                             {arns[k] for k in self.topics})
        if found:
            field, message = found[0]
            value = self.workflow_type if field == "workflow_type" else "(the built definition)"
            raise InvalidArgument(field, value, message + (f" (and {len(found) - 1} more)" if len(found) > 1 else ""))
        return json.dumps(definition, indent=2)


class StateMachine(pulumi.ComponentResource):
    log_group: aws.cloudwatch.LogGroup
    role: aws.iam.Role
    state_machine: aws.sfn.StateMachine
    alarms: list[aws.cloudwatch.MetricAlarm]

    def __init__(self, name: str, args: StateMachineArgs, opts: Optional[pulumi.ResourceOptions] = None):
        missing = sorted((set(args.functions) | set(args.topics)) - set(args.arns))
        if args.definition is None or missing:
            raise ValueError(f"StateMachine {name}: a definition and the ARNs of {', '.join(missing) or 'its keys'}")
        super().__init__("cloud-patterns:workflow:StateMachine", name, None, opts)
        self.args = args
        self.log_group = log_group(f"{name}-executions", args.log_retention_days, self,
                                   log_group_name=f"/aws/vendedlogs/states/{name}")
        function_arns = [args.arns[k] for k in args.functions]
        topic_arns = [args.arns[k] for k in args.topics]
        statements = []
        if function_arns:
            statements.append(iam.statement(["lambda:InvokeFunction"], function_arns, sid="InvokeItsFunctions"))
        if topic_arns:
            statements.append(iam.statement(["sns:Publish"], topic_arns, sid="PublishToItsTopics"))
        if args.log_level != "OFF":
            statements.append(iam.statement(LOG_DELIVERY, ["*"], sid="DeliverItsLogs"))
        if args.tracing:
            statements.append(iam.statement(TRACING, ["*"], sid="WriteTraces"))
        self.role = iam.service_role(f"{name}-role", "states.amazonaws.com", iam.policy_document(statements, self),
                                     self, f"Runs the {name} workflow",
                                     source_arns=[iam.arn_of("states", f"stateMachine:{name}", self)])
        keys = [*args.functions, *args.topics]
        definition = pulumi.Output.all(*[args.arns[k] for k in keys]).apply(
            lambda values: args.refuse_problems(dict(zip(keys, values))))
        self.state_machine = aws.sfn.StateMachine(
            name, name=name, type=args.workflow_type, role_arn=self.role.arn, definition=definition,
            logging_configuration=aws.sfn.StateMachineLoggingConfigurationArgs(
                level=args.log_level, include_execution_data=args.include_execution_data,
                log_destination=pulumi.Output.concat(self.log_group.arn, ":*")) if args.log_level != "OFF" else
            aws.sfn.StateMachineLoggingConfigurationArgs(level="OFF"),
            tracing_configuration=aws.sfn.StateMachineTracingConfigurationArgs(enabled=args.tracing),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[*self.role.permissions]))
        self.alarms = self._alarms(name, args)
        self.register_outputs({"arn": self.state_machine.arn, "name": self.state_machine.name,
                               "role_arn": self.role.arn, "log_group_name": self.log_group.name})

    def _alarms(self, name: str, args: StateMachineArgs) -> list[aws.cloudwatch.MetricAlarm]:
        if args.alarm_topic_arn is None:
            return []
        dimensions = {"StateMachineArn": self.state_machine.arn}
        return [alarms.metric_alarm(f"{name}-{suffix}", self, args.alarm_topic_arn, namespace="AWS/States",
                                    metric=metric, dimensions=dimensions, period_seconds=300,
                                    threshold=args.failed_alarm_threshold, description=f"{name}: {what}")
                for suffix, metric, what in (
                    ("failed", "ExecutionsFailed", "executions failed (see the execution log group)"),
                    ("timed-out", "ExecutionsTimedOut", f"executions ran longer than "
                                                        f"{args.execution_timeout_seconds} s"),
                    ("throttled", "ExecutionThrottled", "executions were throttled (a service quota)"))]
