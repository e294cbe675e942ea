"""The image-workflow stack as its plan describes it, stood up in moto, with its definitions executed for real.

``deploy(plan)`` creates in moto what the plan says, with the plan's names and inputs: the bucket with its
EventBridge notification, the topics, every Lambda function (handler and environment as planned), the state
machines with the exact definitions the program emitted, and the trigger rule with its pattern, target and
input transformer. moto's Step Functions then runs those definitions (``execute_state_machine``).

Two narrow hooks stand in for what moto cannot do here, and nothing else is replaced:

- Lambda: moto runs function code only in Docker (not available). ``LambdaFunction._invoke_lambda`` (what
  moto's ``Invoke`` calls, for Step Functions' ``lambda:invoke`` too) is replaced by a call of the planned
  handler (``handlers.<name>``) in this process, with the function's planned environment; an exception becomes
  the payload Lambda returns for an unhandled error (``errorType``/``errorMessage``), with ``FunctionError``
  set, so Step Functions sees the error by name as it would. ``throttle`` makes the next invocations of a
  function answer 429 TooManyRequestsException, as Lambda does at its concurrency limit.
- EventBridge: moto's S3 sends each event to the rules, whose patterns it matches, but has no Step Functions
  target. ``Rule.send_to_targets`` starts the execution for a matching rule's ``states`` target, with the
  target's input transformer applied as EventBridge documents it (a placeholder outside quotes in a JSON
  template becomes the value as JSON).

And one fix of moto: its ``SendTaskFailure`` handler drops the ``cause`` parameter; it is passed on, as the
API does.
"""
from __future__ import annotations

import io
import json
import re
import threading
import time
import uuid
import zipfile
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import boto3
from moto.awslambda import models as lambda_models
from moto.core.exceptions import JsonRESTError
from moto.events import models as events_models
from moto.core.responses import EmptyResult
from moto.stepfunctions.responses import StepFunctionResponse, get_backend

from planning.mocks import autoname
from planning.offline import StackPlan
from runtime.image_workflow import contract
from runtime.image_workflow.handlers import Handlers

REGION = "us-east-1"
FUNCTION = "aws:lambda/function:Function"


class Throttled(JsonRESTError):
    code = 429

    def __init__(self) -> None:
        super().__init__("TooManyRequestsException", "Rate Exceeded.")


class LambdaStandIn:
    """Runs the planned handlers in-process for moto's Lambda; counts calls and concurrency per function."""

    def __init__(self) -> None:
        self.calls: dict[str, int] = defaultdict(int)
        self.active: dict[str, int] = defaultdict(int)
        self.peak: dict[str, int] = defaultdict(int)
        self.throttles: dict[str, int] = defaultdict(int)
        self.delay_seconds: dict[str, float] = {}
        self._handlers: dict[str, Handlers] = {}
        self._lock = threading.Lock()

    def invoke(self, function: Any, event: Any) -> tuple[str, bool, str]:
        key = function.function_name.rsplit("-", 1)[0].rsplit("-", 1)[-1]  # <stack>-<Key>-<suffix>
        with self._lock:
            self.calls[key] += 1
            if self.throttles[key]:
                self.throttles[key] -= 1
                raise Throttled()
            self.active[key] += 1
            self.peak[key] = max(self.peak[key], self.active[key])
            if function.function_name not in self._handlers:
                self._handlers[function.function_name] = Handlers(contract.Settings.from_env(
                    function.environment_vars))
        try:
            time.sleep(self.delay_seconds.get(key, 0))
            method = getattr(self._handlers[function.function_name], function.handler.split(".", 1)[1])
            result = method(json.loads(event) if isinstance(event, str) else event, None)
            return json.dumps(result), False, ""
        except Exception as error:  # Lambda's payload for an unhandled error
            return json.dumps({"errorType": type(error).__name__, "errorMessage": str(error)}), True, ""
        finally:
            with self._lock:
                self.active[key] -= 1


def transformed(template: str, paths: dict[str, str], event: dict) -> str:
    """EventBridge's input transformer for a JSON template: ``<name>`` outside quotes -> the value as JSON."""
    def value(path: str) -> Any:
        found: Any = event
        for part in path.removeprefix("$.").split("."):
            found = found.get(part) if isinstance(found, dict) else None
        return found
    return re.sub(r"<([\w.-]+)>", lambda m: json.dumps(value(paths[m.group(1)])) if m.group(1) in paths
                  else m.group(0), template)


@contextmanager
def stand_ins() -> Iterator[LambdaStandIn]:
    stand_in = LambdaStandIn()
    original_invoke = lambda_models.LambdaFunction._invoke_lambda
    original_send = events_models.Rule.send_to_targets

    def send_to_targets(rule, event, transform_input=True):
        states = [t for t in rule.targets if t["Arn"].split(":")[2] == "states"]
        if rule.event_pattern.matches_event(event):
            for target in states:
                transformer = target.get("InputTransformer") or {}
                execution_input = transformed(transformer["InputTemplate"], transformer.get("InputPathsMap", {}),
                                              event) if transformer else json.dumps(event)
                get_backend(rule.account_id, rule.region_name).start_execution(
                    state_machine_arn=target["Arn"], name=str(uuid.uuid4()), execution_input=execution_input)
        others = [t for t in rule.targets if t not in states]
        if others:
            saved, rule.targets = rule.targets, others
            try:
                original_send(rule, event, transform_input)
            finally:
                rule.targets = saved

    def send_task_failure(response):
        response.stepfunction_backend.send_task_failure(response._get_param("taskToken"),
                                                        error=response._get_param("error"),
                                                        cause=response._get_param("cause"))
        return EmptyResult()

    original_failure = StepFunctionResponse.send_task_failure
    lambda_models.LambdaFunction._invoke_lambda = lambda self, event=None: stand_in.invoke(self, event)
    events_models.Rule.send_to_targets = send_to_targets
    StepFunctionResponse.send_task_failure = send_task_failure
    try:
        yield stand_in
    finally:
        lambda_models.LambdaFunction._invoke_lambda = original_invoke
        events_models.Rule.send_to_targets = original_send
        StepFunctionResponse.send_task_failure = original_failure


def _of(plan: StackPlan, type_token: str) -> list:
    return plan.of_type(type_token)


def deploy(plan: StackPlan) -> dict[str, str]:
    """Creates the planned stack in moto; returns the ARNs and names the tests use."""
    iam = boto3.client("iam", region_name=REGION)
    role = iam.create_role(RoleName=f"moto-{plan.spec.name}", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    s3, sns = boto3.client("s3", region_name=REGION), boto3.client("sns", region_name=REGION)
    bucket = plan.outputs["bucket"]
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={
        "EventBridgeConfiguration": {}})
    for arn in plan.outputs["topics"].values():
        sns.create_topic(Name=arn.rsplit(":", 1)[-1])
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("handlers.py", "# the stand-in runs runtime/image_workflow/handlers.py in-process\n")
    lam = boto3.client("lambda", region_name=REGION)
    for function in _of(plan, FUNCTION):
        inputs = function.inputs
        lam.create_function(FunctionName=autoname(function.name, inputs), Runtime=inputs["runtime"], Role=role,
                            Handler=inputs["handler"], Code={"ZipFile": archive.getvalue()},
                            MemorySize=inputs["memorySize"], Timeout=inputs["timeout"],
                            Environment={"Variables": inputs["environment"]["variables"]})
    sfn = boto3.client("stepfunctions", region_name=REGION)
    for machine in _of(plan, "aws:sfn/stateMachine:StateMachine"):
        sfn.create_state_machine(name=machine.inputs["name"], definition=machine.inputs["definition"],
                                 roleArn=role, type=machine.inputs["type"])
    events = boto3.client("events", region_name=REGION)
    [rule] = _of(plan, "aws:cloudwatch/eventRule:EventRule")
    [target] = _of(plan, "aws:cloudwatch/eventTarget:EventTarget")
    rule_name = autoname(rule.name, rule.inputs)
    events.put_rule(Name=rule_name, EventPattern=rule.inputs["eventPattern"])
    transformer = target.inputs["inputTransformer"]
    events.put_targets(Rule=rule_name, Targets=[{"Id": "workflow", "Arn": target.inputs["arn"], "RoleArn": role,
                                                 "InputTransformer": {"InputPathsMap": transformer["inputPaths"],
                                                                      "InputTemplate": transformer["inputTemplate"]}}])
    return {"bucket": bucket, "processor": plan.outputs["processor_state_machine_arn"],
            "patterns": plan.outputs["patterns_state_machine_arn"], **plan.outputs["topics"]}


def subscribe(topic_arn: str) -> str:
    """An SQS queue subscribed (raw) to the topic; returns its URL."""
    sqs = boto3.client("sqs", region_name=REGION)
    url = sqs.create_queue(QueueName=f"watch-{topic_arn.rsplit(':', 1)[-1]}")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    boto3.client("sns", region_name=REGION).subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn,
                                                      Attributes={"RawMessageDelivery": "false"})
    return url


def messages(queue_url: str) -> list[dict]:
    sqs = boto3.client("sqs", region_name=REGION)
    found = []
    while True:
        batch = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
        if not batch:
            return found
        for message in batch:
            found.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])


def executions(state_machine_arn: str) -> list[dict]:
    sfn = boto3.client("stepfunctions", region_name=REGION)
    return sfn.list_executions(stateMachineArn=state_machine_arn)["executions"]


def finished(execution_arn: str, timeout: float = 30) -> dict:
    sfn = boto3.client("stepfunctions", region_name=REGION)
    deadline = time.monotonic() + timeout
    while True:
        described = sfn.describe_execution(executionArn=execution_arn)
        if described["status"] != "RUNNING":
            return described
        if time.monotonic() > deadline:
            raise AssertionError(f"{execution_arn} still running after {timeout} s")
        time.sleep(0.05)


def wait_for(condition, timeout: float = 20, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)
