"""The image-workflow stack under the mock engine: the seed's parameters in the emitted definitions, least-privilege
roles, logging, the trigger's pattern, the shared Pillow layer, alarms on the environment's topic, config refused
before any resource, and the cost of an image."""
from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from components import asl
from components.args import InvalidArgument
from components.lambda_function import LambdaFunctionArgs
from components.state_machine import StateMachine, StateMachineArgs, placeholder
from components.upload_workflows import Step, UploadWorkflowsArgs, trigger_pattern
from planning.mocks import ACCOUNT_ID, ProviderMocks, autoname
from planning.offline import RecordingMonitor
from programs.common import ConfigError
from runtime.image_workflow import contract, contract_definitions as definitions
from stacks.cost import estimate_environment, load_prices
from tests.conftest import run_components, run_program
from tests.image_workflow.conftest import plan_with

STATE_MACHINE = "aws:sfn/stateMachine:StateMachine"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
PREFIX = f"arn:aws:lambda:us-east-1:{ACCOUNT_ID}:function:"


@pytest.fixture(scope="module")
def plan(alerts):
    """The program with its defaults: the seed's parameters."""
    return run_program("image-workflow", {}, upstream={"alerts": "test-alerts"}, upstream_outputs=alerts,
                       short_name="image-workflow")


def one(plan, type_token, suffix=""):
    [found] = [r for r in plan.of_type(type_token) if r.name.endswith(suffix)]
    return found


def definition(plan, key):
    return json.loads(one(plan, STATE_MACHINE, f"-{key}").inputs["definition"])


def states(plan, key):
    return {name: state for name, _, state in asl.states(definition(plan, key))}


def policy(plan, role_suffix):
    return {s["Sid"]: s for s in json.loads(one(plan, ROLE_POLICY, f"{role_suffix}-policy").inputs["policy"])[
        "Statement"]}


def as_list(value):
    return value if isinstance(value, list) else [value]


def test_the_processor_has_the_seed_s_states_retry_and_error_path(plan):
    found = states(plan, "processor")
    assert set(found) == {"ValidateImage", "ImageValid", "RejectImage", "ProcessImage", "ResizeImage",
                          "ApplyFilters", "OptimizeImage", "NotifySuccess", "MoveToFailed", "NotifyError",
                          "ProcessingFailed"}
    assert definition(plan, "processor")["StartAt"] == "ValidateImage"
    for task in ("ValidateImage", "ResizeImage", "ApplyFilters", "OptimizeImage"):
        assert found[task]["Retry"] == [{"ErrorEquals": ["CorruptImage"], "MaxAttempts": 0},
                                        {"ErrorEquals": ["States.TaskFailed"], "IntervalSeconds": 3,
                                         "MaxAttempts": 2, "BackoffRate": 1.5}]
    assert found["ValidateImage"]["ResultPath"] == "$.validation"  # keeps bucket and key
    assert found["ValidateImage"]["Catch"] == [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error",
                                                "Next": "MoveToFailed"}]
    assert found["ImageValid"]["Choices"] == [{"Variable": "$.validation.isValid", "BooleanEquals": True,
                                               "Next": "ProcessImage"}]
    assert found["ProcessImage"]["ResultSelector"] == {"resized.$": "$[0]", "filtered.$": "$[1]"}
    assert found["NotifyError"]["Parameters"]["Subject"] == "Image Processing Error"
    assert found["NotifyError"]["Parameters"]["TopicArn"] == plan.outputs["topics"]["errors"]
    assert found["ProcessingFailed"] == {"Type": "Fail", "ErrorPath": "$.error.Error", "CausePath": "$.error.Cause"}


def test_the_patterns_have_the_seed_s_map_retry_catch_and_callback(plan):
    found = states(plan, "patterns")
    images = found["ProcessImages"]
    assert (images["Type"], images["ItemsPath"], images["MaxConcurrency"]) == ("Map", "$.images", 5)
    assert images["ItemProcessor"]["StartAt"] == "ProcessSingleImage" and images["Next"] == "AggregateResults"
    external = found["CallExternalService"]
    assert external["Retry"] == [
        {"ErrorEquals": ["States.Timeout"], "IntervalSeconds": 1, "MaxAttempts": 2},
        {"ErrorEquals": ["ServiceException", "Lambda.ServiceException"], "IntervalSeconds": 2, "MaxAttempts": 3,
         "BackoffRate": 2.0}]
    assert external["Catch"][0]["ErrorEquals"] == ["ServiceException", "Lambda.ServiceException"]
    wait = found["WaitForCallback"]
    assert wait["Resource"] == "arn:aws:states:::lambda:invoke.waitForTaskToken"
    assert (wait["TimeoutSeconds"], wait["HeartbeatSeconds"], wait["Next"]) == (3600, 900, "ProcessResult")
    assert wait["Parameters"]["Payload"]["token.$"] == "$$.Task.Token"
    assert wait["Parameters"]["FunctionName"].startswith(PREFIX + "test-image-workflow-MyCallbackFunction-")
    assert definition(plan, "patterns")["TimeoutSeconds"] == 3600 + 3600


def test_each_state_machine_may_invoke_exactly_its_functions_and_publish_to_its_topics(plan):
    for key, functions in (("processor", contract.PROCESSOR_FUNCTIONS), ("patterns", contract.PATTERN_FUNCTIONS)):
        granted = policy(plan, f"-{key}-role")
        invoked = {s["Parameters"]["FunctionName"] for s in states(plan, key).values()
                   if s.get("Resource", "").startswith("arn:aws:states:::lambda:")}
        assert set(as_list(granted["InvokeItsFunctions"]["Resource"])) == invoked
        assert {arn.removeprefix(PREFIX).rsplit("-", 1)[0] for arn in invoked} == {
            f"test-image-workflow-{k}" for k in functions}
        assert granted["DeliverItsLogs"]["Resource"] == "*" and "logs:CreateLogDelivery" in granted[
            "DeliverItsLogs"]["Action"]
        trust = json.loads(one(plan, "aws:iam/role:Role", f"-{key}-role").inputs["assumeRolePolicy"])["Statement"]
        assert trust[0]["Principal"] == {"Service": "states.amazonaws.com"}
        assert trust[0]["Condition"]["ArnLike"] == {"aws:SourceArn": f"arn:aws:states:us-east-1:{ACCOUNT_ID}:"
                                                                     f"stateMachine:test-image-workflow-{key}"}
    assert set(as_list(policy(plan, "-processor-role")["PublishToItsTopics"]["Resource"])) == {
        plan.outputs["topics"]["processed"], plan.outputs["topics"]["errors"]}
    assert "PublishToItsTopics" not in policy(plan, "-patterns-role")  # its callback function publishes


def test_steps_touch_only_their_prefixes_and_none_writes_under_raw(plan):
    bucket = f"arn:aws:s3:::{plan.outputs['bucket']}"
    validate = policy(plan, "-ValidateImage-role")
    assert validate["ReadItsPrefixes"]["Resource"] == f"{bucket}/raw/*"
    assert {"WriteItsPrefixes", "DeleteItsPrefixes"}.isdisjoint(validate)
    assert policy(plan, "-ResizeImage-role")["WriteItsPrefixes"]["Resource"] == f"{bucket}/processed/resized/*"
    moved = policy(plan, "-MoveToFailed-role")
    assert moved["WriteItsPrefixes"]["Resource"] == f"{bucket}/failed/*"
    assert f"{bucket}/raw/*" in moved["DeleteItsPrefixes"]["Resource"]
    writes = [r for p in plan.of_type(ROLE_POLICY) for s in json.loads(p.inputs["policy"])["Statement"]
              if "s3:PutObject" in as_list(s["Action"]) for r in as_list(s["Resource"])]
    assert writes and not [w for w in writes if w.startswith(f"{bucket}/raw/")]
    assert policy(plan, "-MyCallbackFunction-role")["PublishToItsTopics"]["Resource"] == plan.outputs["topics"][
        "reviews"]


def test_executions_log_everything_but_their_data_to_their_own_log_group(plan):
    for key in ("processor", "patterns"):
        machine = one(plan, STATE_MACHINE, f"-{key}").inputs
        assert machine["loggingConfiguration"] == {
            "level": "ALL", "includeExecutionData": False,
            "logDestination": f"arn:aws:logs:us-east-1:{ACCOUNT_ID}:log-group:/aws/vendedlogs/states/"
                              f"test-image-workflow-{key}:*"}
        assert machine["tracingConfiguration"] == {"enabled": False} and machine["type"] == "STANDARD"
        assert one(plan, "aws:cloudwatch/logGroup:LogGroup", f"-{key}-executions").inputs["retentionInDays"] == 30


def test_the_bucket_sends_events_to_eventbridge_and_only_raw_uploads_start_the_processor(plan):
    [notification] = plan.of_type("aws:s3/bucketNotification:BucketNotification")
    assert notification.inputs == {"bucket": plan.outputs["bucket"], "eventbridge": True}
    rule = one(plan, "aws:cloudwatch/eventRule:EventRule")
    assert json.loads(rule.inputs["eventPattern"]) == trigger_pattern(plan.outputs["bucket"], "raw/") == {
        "source": ["aws.s3"], "detail-type": ["Object Created"],
        "detail": {"bucket": {"name": [plan.outputs["bucket"]]}, "object": {"key": [{"prefix": "raw/"}]}}}
    target = one(plan, "aws:cloudwatch/eventTarget:EventTarget").inputs
    assert target["arn"] == plan.outputs["processor_state_machine_arn"]
    assert target["inputTransformer"]["inputPaths"] == {"bucket": "$.detail.bucket.name",
                                                        "key": "$.detail.object.key", "size": "$.detail.object.size"}
    started = policy(plan, "-uploads")["StartTheWorkflow"]
    assert (started["Action"], started["Resource"]) == ("states:StartExecution",
                                                        plan.outputs["processor_state_machine_arn"])
    trust = json.loads(one(plan, "aws:iam/role:Role", "-uploads").inputs["assumeRolePolicy"])["Statement"][0]
    assert trust["Condition"]["ArnLike"]["aws:SourceArn"] == (f"arn:aws:events:us-east-1:{ACCOUNT_ID}:rule/"
                                                              f"{autoname(rule.name, rule.inputs)}")


def test_pillow_comes_from_one_layer_built_for_arm64(plan):
    [layer] = plan.of_type("aws:lambda/layerVersion:LayerVersion")
    assert layer.inputs["compatibleArchitectures"] == ["arm64"]
    functions = {f.name.rsplit("-", 1)[-1]: f.inputs for f in plan.of_type("aws:lambda/function:Function")}
    decoders = {k for k, f in {**contract.PROCESSOR_FUNCTIONS, **contract.PATTERN_FUNCTIONS}.items() if f.pillow}
    assert {k for k, f in functions.items() if f.get("layers")} == decoders
    assert all((f["memorySize"], f["timeout"]) == (1024, 30) for k, f in functions.items() if k in decoders)
    built = Path(layer.inputs["code"]["path"])
    wheels = list((Path(__file__).resolve().parents[2] / built / "python").glob("pillow-13.0.0.dist-info"))
    assert wheels, "the layer holds the pinned Pillow"
    assert "aarch64" in (wheels[0] / "WHEEL").read_text()
    assert "handlers.py" in functions["ValidateImage"]["code"]["assets"]


def test_alarms_on_failed_timed_out_and_throttled_executions_notify_the_environment_s_topic(plan, alerts):
    topic = alerts["test-alerts"]["topic_arn"]
    found = {a.name: a.inputs for a in plan.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")}
    assert set(found) == {f"test-image-workflow-{k}-{m}" for k in ("processor", "patterns")
                          for m in ("failed", "timed-out", "throttled")} | {"test-image-workflow-trigger-failures"}
    assert all(a["alarmActions"] == [topic] and a["okActions"] == [topic] for a in found.values())
    failed = found["test-image-workflow-processor-failed"]
    assert (failed["namespace"], failed["metricName"], failed["threshold"]) == ("AWS/States", "ExecutionsFailed", 0)
    assert failed["dimensions"] == {"StateMachineArn": plan.outputs["processor_state_machine_arn"]}
    assert found["test-image-workflow-processor-timed-out"]["metricName"] == "ExecutionsTimedOut"
    assert plan.outputs["alarms"] == 7


@pytest.mark.parametrize(("settings", "key", "allowed"), [
    ({"workflow_patterns": {"workflow_type": "EXPRESS"}}, "workflow_patterns.workflow_type", "cannot wait"),
    ({"image_processor": {"workflow_type": "EXPRESS", "execution_timeout_seconds": 900}},
     "image_processor.execution_timeout_seconds", "at most 300 for an EXPRESS workflow"),
    ({"workflow_patterns": {"review_heartbeat_seconds": 3600}}, "workflow_patterns.review_heartbeat_seconds",
     "less than review_timeout_seconds"),
    ({"workflow_patterns": {"external_service_url": "http://example.com/x"}},
     "workflow_patterns.external_service_url", "an https:// URL"),
    ({"image_workflow": {"trigger_prefix": "processed/"}}, "image_workflow.trigger_prefix", "unknown setting"),
])
def test_config_the_workflows_cannot_run_is_refused_before_any_resource(alerts, settings, key, allowed):
    monitor = RecordingMonitor(ProviderMocks())
    with pytest.raises(ConfigError) as error:
        plan_with(alerts, settings, monitor=monitor)
    assert f"cloud-patterns:{key}:" in str(error.value) and allowed in str(error.value)
    assert [r for r in monitor.recorded if r.custom and r.type != "pulumi:pulumi:StackReference"] == []


def test_an_express_processor_keeps_the_definition_and_is_traced_when_asked(alerts):
    plan = plan_with(alerts, {"image_processor": {"workflow_type": "EXPRESS", "execution_timeout_seconds": 300,
                                                  "tracing": True}})
    machine = one(plan, STATE_MACHINE, "-processor").inputs
    assert machine["type"] == "EXPRESS" and machine["tracingConfiguration"] == {"enabled": True}
    assert json.loads(machine["definition"])["TimeoutSeconds"] == 300
    assert "xray:PutTraceSegments" in policy(plan, "-processor-role")["WriteTraces"]["Action"]


# ----- the checker and the generic components, on definitions made to be wrong -----

FUNCTIONS = {"f": placeholder("f", "function")}


def task(arn: str, **fields):
    return {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {"FunctionName": arn, "Payload.$": "$"}, **fields}


@pytest.mark.parametrize(("broken", "found"), [
    ({"StartAt": "A", "States": {"A": task(FUNCTIONS["f"], Next="B")}}, 'No state found named "B"'),
    ({"StartAt": "A", "States": {"A": task(FUNCTIONS["f"], End=True), "Z": {"Type": "Succeed"}}},
     "No transition found to state"),
    ({"StartAt": "A", "States": {"A": task(FUNCTIONS["f"], End=True, Retry=[
        {"ErrorEquals": ["States.ALL"]}, {"ErrorEquals": ["X"]}])}}, "States.ALL must be alone in the last retrier"),
    ({"StartAt": "A", "States": {"A": task(FUNCTIONS["f"], End=True, TimeoutSeconds=10, HeartbeatSeconds=10)}},
     "HeartbeatSeconds (10) must be smaller than TimeoutSeconds (10)"),
    ({"StartAt": "A", "States": {"A": task(placeholder("other", "function"), End=True)}},
     "is not one of the given ARNs"),
    ({"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": "arn:aws:states:::dynamodb:putItem",
                                       "Parameters": {}, "End": True}}}, "is not an integration this component"),
    ({"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}}, "is given but no state uses it"),
    ({"StartAt": "A", "States": {"A": task(FUNCTIONS["f"], End=True, ResultPath="x")}}, "a Reference Path"),
])
def test_the_checker_finds_what_step_functions_would_refuse(broken, found):
    messages = [m for _, m in asl.problems(broken, "STANDARD", set(FUNCTIONS.values()), set())]
    assert any(found in m for m in messages), messages


def test_a_definition_the_checker_refuses_registers_nothing():
    monitor = RecordingMonitor(ProviderMocks())

    def main():
        StateMachine("broken", StateMachineArgs(definition=lambda arns: {"StartAt": "A", "States": {
            "A": task(arns["f"], Next="Missing")}}, functions=("f",), arns={"f": "arn:aws:lambda:x"}))
    with pytest.raises(Exception, match='definition.*No state found named "Missing"'):
        run_components(main, monitor=monitor)
    assert [r for r in monitor.recorded if r.custom] == []


def test_a_step_writing_under_the_trigger_prefix_is_refused_as_the_loop_it_would_start():
    step = Step(LambdaFunctionArgs(source_dir=contract.SOURCE_DIR), writes=("uploads/thumbs/",))
    with pytest.raises(InvalidArgument, match="trigger_prefix.*its outputs would start the workflow again"):
        UploadWorkflowsArgs(trigger_prefix="uploads/", steps={"Thumb": step})


def test_a_callback_definition_cannot_be_express():
    refs = {k: placeholder(k, "function") for k in contract.PATTERN_FUNCTIONS}
    found = asl.problems(definitions.reference_patterns(refs), "EXPRESS", set(refs.values()), set())
    assert [f for f, _ in found] == ["workflow_type"]


def test_an_image_costs_its_transitions_and_lambda_time(plan):
    [stack] = estimate_environment([plan]).stacks
    lines = {line.resource: line for line in stack.usage if line.usage_key == "workflow_executions"}
    prices = load_prices()
    invocation = prices["lambda_million_requests"] / 1e6 + 1.0 * 0.2 * prices["lambda_arm_gb_second"]
    # Validate, ImageValid, ProcessImage, Resize, Filter, Optimize, NotifySuccess; four 1 GB arm64 Lambdas of 0.2 s
    assert lines["test-image-workflow-processor"].price == pytest.approx(7 * 0.025 / 1000 + 4 * invocation)
    assert stack.not_priced == []
    assert {line.reason for line in stack.free if line.type == "aws:lambda/function:Function"} == {
        f"priced in each execution of state machine test-image-workflow-{k} (a step of its path)"
        for k in ("processor", "patterns")}
