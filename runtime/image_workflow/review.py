"""The human review of the reference-patterns workflow: ``python -m runtime.image_workflow.review``.

    list    --state-machine ARN        executions waiting at WaitForCallback, oldest first
    approve EXECUTION [--note TEXT]    SendTaskSuccess: the workflow goes on to ProcessResult (approved)
    reject  EXECUTION --note TEXT      SendTaskFailure (ReviewRejected): ProcessResult records the rejection
    hold    EXECUTION                  SendTaskHeartbeat: still being looked at (else it times out after
                                       HeartbeatSeconds as abandoned)

The task token is read from the execution's history (the ``TaskScheduled`` event of ``WaitForCallback`` carries
the parameters, token included), so it is never stored, mailed or logged elsewhere; whoever runs this needs
``states:ListExecutions``, ``states:GetExecutionHistory`` and ``states:SendTask*``. The state machine's ARN is
the ``patterns_state_machine_arn`` output of the ``<env>-image-workflow`` stack.
"""
from __future__ import annotations

import getpass
import json
from dataclasses import dataclass
from typing import Any, Optional

import boto3
import typer
from botocore.exceptions import ClientError

if __package__:
    from . import contract
else:
    import contract

app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__.split("\n\n")[0])
ENDED = {"TaskSucceeded", "TaskFailed", "TaskTimedOut", "TaskStateExited"}


@dataclass(frozen=True)
class Waiting:
    execution_arn: str
    name: str
    since: str
    token: str
    summary: dict[str, Any]


def _client(region: Optional[str]) -> Any:
    return boto3.client("stepfunctions", region_name=region)


def waiting_review(sfn: Any, execution_arn: str) -> Optional[Waiting]:
    """The review the execution waits for now, or None."""
    state, found = None, None
    for page in sfn.get_paginator("get_execution_history").paginate(executionArn=execution_arn):
        for event in page["events"]:
            kind = event["type"]
            if kind == "TaskStateEntered":
                state = event["stateEnteredEventDetails"]["name"]
                found = None
            elif kind == "TaskScheduled" and state == contract.REVIEW_STATE:
                details = event["taskScheduledEventDetails"]
                payload = json.loads(details["parameters"]).get("Payload", {})
                found = (payload.get("token"), str(event["timestamp"]), payload.get("summary") or {})
            elif kind in ENDED:
                found = None
    if not found or not found[0]:
        return None
    return Waiting(execution_arn, execution_arn.rsplit(":", 1)[-1], found[1], found[0], found[2])


def waiting_reviews(sfn: Any, state_machine_arn: str) -> list[Waiting]:
    found = []
    for page in sfn.get_paginator("list_executions").paginate(stateMachineArn=state_machine_arn,
                                                              statusFilter="RUNNING"):
        for execution in page["executions"]:
            waiting = waiting_review(sfn, execution["executionArn"])
            if waiting is not None:
                found.append(waiting)
    return sorted(found, key=lambda w: (w.since, w.name))


def _the_review(sfn: Any, execution_arn: str) -> Waiting:
    waiting = waiting_review(sfn, execution_arn)
    if waiting is None:
        typer.echo(f"{execution_arn} is not waiting for a decision (see `list`)", err=True)
        raise typer.Exit(1)
    return waiting


def _send(action: str, call) -> None:
    try:
        call()
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        reason = {"TaskTimedOut": "the review timed out", "TaskDoesNotExist": "the review is over",
                  "InvalidToken": "the review is over"}.get(code, str(error))
        typer.echo(f"could not {action}: {reason}", err=True)
        raise typer.Exit(1) from None


RegionOption = typer.Option(None, "--region", help="AWS region (default: the AWS configuration's).")


@app.command("list")
def list_reviews(state_machine: str = typer.Option(..., "--state-machine", help="The patterns workflow's ARN."),
                 region: Optional[str] = RegionOption) -> None:
    """Executions waiting for a decision, oldest first."""
    reviews = waiting_reviews(_client(region), state_machine)
    if not reviews:
        typer.echo("nothing waits for a decision")
    for review in reviews:
        summary = review.summary
        typer.echo(f"{review.execution_arn}  waiting since {review.since}  {summary.get('valid', 0)} of "
                   f"{summary.get('count', 0)} images valid, {summary.get('bytes', 0)} bytes")


@app.command()
def approve(execution: str, note: str = typer.Option("", "--note"),
            reviewer: str = typer.Option(getpass.getuser(), "--reviewer"),
            region: Optional[str] = RegionOption) -> None:
    """Approve: the workflow records the approval and succeeds."""
    sfn = _client(region)
    review = _the_review(sfn, execution)
    output = json.dumps({"approved": True, "reviewer": reviewer, "note": note})
    _send("approve", lambda: sfn.send_task_success(taskToken=review.token, output=output))
    typer.echo(f"approved {review.name}")


@app.command()
def reject(execution: str, note: str = typer.Option(..., "--note", help="Why (recorded with the decision)."),
           reviewer: str = typer.Option(getpass.getuser(), "--reviewer"),
           region: Optional[str] = RegionOption) -> None:
    """Reject: the workflow records the rejection and the reason."""
    sfn = _client(region)
    review = _the_review(sfn, execution)
    cause = json.dumps({"reviewer": reviewer, "note": note})
    _send("reject", lambda: sfn.send_task_failure(taskToken=review.token, error=contract.REVIEW_REJECTED,
                                                  cause=cause))
    typer.echo(f"rejected {review.name}")


@app.command()
def hold(execution: str, region: Optional[str] = RegionOption) -> None:
    """Still being reviewed: resets the heartbeat timeout."""
    sfn = _client(region)
    review = _the_review(sfn, execution)
    _send("hold", lambda: sfn.send_task_heartbeat(taskToken=review.token))
    typer.echo(f"holding {review.name}")


if __name__ == "__main__":
    app()
