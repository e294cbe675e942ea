"""The reference-patterns definition, as the program emits it, executed by moto's Step Functions, and the human
review through ``python -m runtime.image_workflow.review`` (its typer app, against the same moto).

The Lambda tasks run the planned handlers in-process (``workflow_support``: moto runs Lambda code only in
Docker). ``CallExternalService`` is pointed at a local HTTP server on port 0 by updating the deployed
function's configuration (the program accepts only https:// URLs, which a deployed function reaches).
"""
from __future__ import annotations

import json
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import boto3
import pytest
from typer.testing import CliRunner

from runtime.image_workflow import contract, review
from tests.image_workflow.conftest import image_bytes, plan_with
from tests.image_workflow.workflow_support import (
    FUNCTION,
    deploy,
    finished,
    messages,
    subscribe,
    wait_for,
)
from planning.mocks import autoname

REGION = "us-east-1"


class ExternalService(BaseHTTPRequestHandler):
    answers: dict[str, list[int]] = {}
    """Statuses to answer, by execution ARN (then 200)."""
    received: list[dict] = []

    def do_POST(self):  # noqa: N802 (http.server's name)
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        ExternalService.received.append(body)
        planned = ExternalService.answers.get(body["execution"]) or []
        status = planned.pop(0) if planned else 200
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def service():
    server = ThreadingHTTPServer(("127.0.0.1", 0), ExternalService)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/batches"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def stack(aws, fast_plan, service):
    plan = fast_plan
    deployed = deploy(plan)
    deployed["reviews_queue"] = subscribe(deployed["reviews"])
    [caller] = [f for f in plan.of_type(FUNCTION) if f.name.endswith("-CallExternalService")]
    variables = {**caller.inputs["environment"]["variables"], contract.ENV_EXTERNAL_SERVICE_URL: service}
    boto3.client("lambda", region_name=REGION).update_function_configuration(
        FunctionName=autoname(caller.name, caller.inputs), Environment={"Variables": variables})
    s3 = boto3.client("s3", region_name=REGION)
    for index in range(12):
        s3.put_object(Bucket=deployed["bucket"], Key=f"processed/batch/{index:02d}.png",
                      Body=image_bytes("PNG", (64 + index, 48)))
    return deployed


@pytest.fixture(scope="module")
def timing_out(aws, alerts):
    return deploy(plan_with(alerts, {"workflow_patterns": {"review_timeout_seconds": 3,
                                                           "review_heartbeat_seconds": 1}},
                            environment="short"))


def start(state_machine_arn: str, images: list[str], name: str = "") -> str:
    sfn = boto3.client("stepfunctions", region_name=REGION)
    return sfn.start_execution(stateMachineArn=state_machine_arn, name=name or str(uuid.uuid4()),  # moto: None
                               input=json.dumps({"images": images}))["executionArn"]


def cli(*args: str):
    result = CliRunner().invoke(review.app, list(args))
    return result


def waiting(stack, execution_arn: str) -> str:
    """Waits until ``review list`` shows the execution; returns the listing."""
    def listed():
        result = cli("list", "--state-machine", stack["patterns"], "--region", REGION)
        return result.stdout if execution_arn in result.stdout else None
    return wait_for(listed, what="the review to be listed")


BATCH = [f"processed/batch/{index:02d}.png" for index in range(12)]


def test_the_map_limits_concurrency_and_an_approved_review_is_recorded(stack, aws):
    aws.delay_seconds["ProcessSingleImage"] = 0.5  # long enough for 5 to overlap on a busy machine
    execution = start(stack["patterns"], [*BATCH, "raw/not-processed.jpg"])
    listing = waiting(stack, execution)
    assert "12 of 13 images valid" in listing
    assert aws.peak["ProcessSingleImage"] == 5  # MaxConcurrency 5: 13 items, never more than 5 at once
    assert cli("hold", execution, "--region", REGION).exit_code == 0  # SendTaskHeartbeat
    approved = cli("approve", execution, "--note", "looks right", "--reviewer", "ada", "--region", REGION)
    assert approved.exit_code == 0, approved.output
    done = finished(execution)
    assert done["status"] == "SUCCEEDED"
    output = json.loads(done["output"])
    assert output["summary"]["count"] == 13 and output["summary"]["valid"] == 12
    assert output["summary"]["formats"] == {"PNG": 12}
    assert output["external"] == {"delivered": True, "status": 200}
    assert ExternalService.received[-1]["summary"] == output["summary"]
    record = json.loads(boto3.client("s3", region_name=REGION).get_object(
        Bucket=stack["bucket"], Key=output["decision"]["key"])["Body"].read())
    assert (record["decision"], record["reviewer"], record["note"]) == ("approved", "ada", "looks right")
    [asked] = [m for m in messages(stack["reviews_queue"]) if execution in m["Message"]]
    assert asked["Subject"] == contract.REVIEW_SUBJECT and "AAAA" not in asked["Message"]
    assert cli("approve", execution, "--region", REGION).exit_code == 1  # nothing waits any more


def test_a_rejected_review_is_recorded_with_its_reason(stack):
    execution = start(stack["patterns"], BATCH[:2])
    waiting(stack, execution)
    rejected = cli("reject", execution, "--note", "blurry", "--reviewer", "bob", "--region", REGION)
    assert rejected.exit_code == 0, rejected.output
    done = finished(execution)
    assert done["status"] == "SUCCEEDED" and json.loads(done["output"])["decision"]["decision"] == "rejected"
    key = json.loads(done["output"])["decision"]["key"]
    record = json.loads(boto3.client("s3", region_name=REGION).get_object(Bucket=stack["bucket"], Key=key)[
        "Body"].read())
    assert (record["decision"], record["reviewer"], record["note"]) == ("rejected", "bob", "blurry")


def test_a_review_nobody_holds_times_out_and_the_execution_fails(timing_out):
    execution = start(timing_out["patterns"], [])
    done = finished(execution, timeout=20)
    assert (done["status"], done["error"]) == ("FAILED", "States.Timeout")
    history = boto3.client("stepfunctions", region_name=REGION).get_execution_history(executionArn=execution)
    assert "TaskTimedOut" in [e["type"] for e in history["events"]]


def test_a_failing_external_service_is_retried_then_caught_and_the_batch_still_goes_to_review(stack):
    recovered, failing = (str(uuid.uuid4()) for _ in range(2))
    arn = stack["patterns"].replace(":stateMachine:", ":execution:")
    ExternalService.answers[f"{arn}:{recovered}"] = [503]  # fails once: Retry absorbs it
    ExternalService.answers[f"{arn}:{failing}"] = [503] * 4  # every time: after 3 retries the Catch takes over
    recovered, failing = (start(stack["patterns"], BATCH[:1], name) for name in (recovered, failing))
    for execution in (recovered, failing):
        waiting(stack, execution)
    assert ExternalService.answers == {recovered: [], failing: []}
    for execution in (recovered, failing):
        assert cli("approve", execution, "--region", REGION).exit_code == 0
    first, second = (json.loads(finished(e)["output"]) for e in (recovered, failing))
    assert first["external"] == {"delivered": True, "status": 200} and "externalError" not in first
    assert second["external"] == {"delivered": False, "status": 0}
    assert second["externalError"]["Error"] == contract.SERVICE_EXCEPTION
    assert "503" in second["externalError"]["Cause"]
