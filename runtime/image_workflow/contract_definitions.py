"""The two workflows' Amazon States Language definitions, built in Python (standard library only).

Part of the app's contract (hence the name): the states' names, the shapes each step receives and answers, and
the error names the handlers raise are what the program, the handlers and the review CLI agree on.

``image_processor`` is the seed article's workflow with its template defects fixed; ``reference_patterns`` holds
its reference patterns (Map, Retry and Catch, the human-review callback) as one batch-review workflow. Each takes
``refs``, the ARNs of the functions (by the seed's state names) and topics (by ``contract.TOPIC_*``) it uses, and
its parameters; the ``StateMachine`` component checks the result against the ASL rules before registering it.

How the template's defects are fixed here:
- validation keeps the input: ``ResultSelector`` picks the answer's fields and ``ResultPath: $.validation``
  puts them beside ``bucket`` and ``key`` (the template replaced the whole input with the answer);
- a Catch writes ``{Error, Cause}`` to ``$.error`` (``ResultPath``), and the error path reads those two fields;
- the Parallel's output is a list, one entry per branch: ``ResultSelector`` names them (``$[0]``, ``$[1]``);
- the handlers raise, so Retry and Catch see failures; a corrupt image is not retried (``MaxAttempts: 0``);
- the error path ends in a ``Fail`` state, so a failed image counts as a failed execution.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Optional

if __package__:
    from . import contract
else:  # in the Lambda package this directory's files are at the root
    import contract

LAMBDA_INVOKE = "arn:aws:states:::lambda:invoke"
LAMBDA_CALLBACK = "arn:aws:states:::lambda:invoke.waitForTaskToken"
SNS_PUBLISH = "arn:aws:states:::sns:publish"


@dataclass(frozen=True)
class Retry:
    interval_seconds: int
    max_attempts: int
    backoff_rate: Optional[float] = None

    def on(self, *errors: str) -> dict[str, Any]:
        retrier: dict[str, Any] = {"ErrorEquals": list(errors), "IntervalSeconds": self.interval_seconds,
                                   "MaxAttempts": self.max_attempts}
        if self.backoff_rate is not None:
            retrier["BackoffRate"] = self.backoff_rate
        return retrier


SEED_TASK_RETRY = Retry(3, 2, 1.5)
"""The image processor's Retry on ``States.TaskFailed``."""
SEED_PATTERN_RETRY = Retry(2, 3, 2.0)
SEED_TIMEOUT_RETRY = Retry(1, 2)
SEED_REVIEW_TIMEOUT_SECONDS = 3600
SEED_MAX_CONCURRENCY = 5


@dataclass(frozen=True)
class ProcessorParameters:
    retry: Retry = SEED_TASK_RETRY


@dataclass(frozen=True)
class PatternParameters:
    retry: Retry = SEED_PATTERN_RETRY
    timeout_retry: Retry = SEED_TIMEOUT_RETRY
    max_concurrency: int = SEED_MAX_CONCURRENCY
    review_timeout_seconds: int = SEED_REVIEW_TIMEOUT_SECONDS
    review_heartbeat_seconds: int = 900
    """A reviewer holds a review (``review hold``) at least this often, or it times out as abandoned."""
    external_timeout_seconds: int = contract.EXTERNAL_TIMEOUT_SECONDS + 5


def _invoke(function_arn: str, payload: Mapping[str, Any], selected: tuple[str, ...], result_path: Optional[str],
            **fields: Any) -> dict[str, Any]:
    """A Lambda task (the optimised integration) whose result keeps only the payload's ``selected`` fields."""
    return {"Type": "Task", "Resource": LAMBDA_INVOKE,
            "Parameters": {"FunctionName": function_arn, "Payload": dict(payload)},
            "ResultSelector": {f"{name}.$": f"$.Payload.{name}" for name in selected},
            "ResultPath": result_path, **fields}


def _publish(topic_arn: str, subject: str, message: Mapping[str, str], **fields: Any) -> dict[str, Any]:
    return {"Type": "Task", "Resource": SNS_PUBLISH,
            "Parameters": {"TopicArn": topic_arn, "Subject": subject, "Message": dict(message)},
            "ResultPath": None, **fields}


UPLOAD = {"bucket.$": "$.bucket", "key.$": "$.key"}
OUTPUT = ("key", "width", "height", "bytes")


def image_processor(refs: Mapping[str, str], parameters: ProcessorParameters = ProcessorParameters()
                    ) -> dict[str, Any]:
    """``raw/`` upload -> ValidateImage -> ImageValid -> ProcessImage (ResizeImage | ApplyFilters) -> OptimizeImage
    -> NotifySuccess; an invalid image or a failed step -> MoveToFailed -> NotifyError -> ProcessingFailed.
    The input is ``{"bucket", "key"}`` (the trigger's input transformer makes it from the S3 event)."""
    retry = [{"ErrorEquals": [contract.CORRUPT_IMAGE], "MaxAttempts": 0}, parameters.retry.on("States.TaskFailed")]
    catch = [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "MoveToFailed"}]

    def branch(name: str) -> dict[str, Any]:
        return {"StartAt": name, "States": {name: _invoke(
            refs[name], {**UPLOAD, "format.$": "$.validation.format"}, OUTPUT, "$", Retry=retry, End=True)}}

    return {
        "Comment": "Image processor: validate, resize and filter in parallel, optimise, notify",
        "StartAt": "ValidateImage",
        "States": {
            "ValidateImage": _invoke(refs["ValidateImage"], UPLOAD, ("isValid", "format", "width", "height", "bytes",
                                                                     "reason"), "$.validation",
                                     Retry=retry, Catch=catch, Next="ImageValid"),
            "ImageValid": {"Type": "Choice", "Choices": [{"Variable": "$.validation.isValid", "BooleanEquals": True,
                                                          "Next": "ProcessImage"}], "Default": "RejectImage"},
            "RejectImage": {"Type": "Pass", "Parameters": {"Error": contract.INVALID_IMAGE,
                                                           "Cause.$": "$.validation.reason"},
                            "ResultPath": "$.error", "Next": "MoveToFailed"},
            "ProcessImage": {"Type": "Parallel", "Branches": [branch("ResizeImage"), branch("ApplyFilters")],
                             "ResultSelector": {"resized.$": "$[0]", "filtered.$": "$[1]"},
                             "ResultPath": "$.processed", "Catch": catch, "Next": "OptimizeImage"},
            "OptimizeImage": _invoke(refs["OptimizeImage"], {**UPLOAD, "format.$": "$.validation.format",
                                                             "resized.$": "$.processed.resized.key"},
                                     ("key", "bytes", "savedBytes"), "$.processed.optimized",
                                     Retry=retry, Catch=catch, Next="NotifySuccess"),
            "NotifySuccess": _publish(refs[contract.TOPIC_PROCESSED], contract.SUCCESS_SUBJECT, {
                **UPLOAD, "resized.$": "$.processed.resized.key", "filtered.$": "$.processed.filtered.key",
                "optimized.$": "$.processed.optimized.key"}, Retry=[parameters.retry.on("States.TaskFailed")],
                End=True),
            "MoveToFailed": _invoke(refs["MoveToFailed"], {**UPLOAD, "error.$": "$.error",
                                                           "execution.$": "$$.Execution.Id"},
                                    ("failedKey", "errorKey"), "$.failure",
                                    Retry=[parameters.retry.on("States.TaskFailed")], Next="NotifyError"),
            "NotifyError": _publish(refs[contract.TOPIC_ERRORS], contract.ERROR_SUBJECT, {
                **UPLOAD, "failedKey.$": "$.failure.failedKey", "error.$": "$.error.Error",
                "cause.$": "$.error.Cause"}, Retry=[parameters.retry.on("States.TaskFailed")],
                Next="ProcessingFailed"),
            "ProcessingFailed": {"Type": "Fail", "ErrorPath": "$.error.Error", "CausePath": "$.error.Cause"},
        },
    }


def reference_patterns(refs: Mapping[str, str], parameters: PatternParameters = PatternParameters()
                       ) -> dict[str, Any]:
    """A batch review: ProcessImages (Map over ``$.images``, ProcessSingleImage) -> AggregateResults ->
    CallExternalService (Retry, then Catch) -> WaitForCallback (a human decides) -> ProcessResult.
    The input is ``{"images": ["processed/…", …]}``."""
    service_errors = [contract.SERVICE_EXCEPTION, "Lambda.ServiceException"]
    describe = _invoke(refs["ProcessSingleImage"], {"key.$": "$.key"}, ("key", "isValid", "format", "width",
                                                                       "height", "bytes", "reason"), "$",
                       Retry=[{"ErrorEquals": [contract.CORRUPT_IMAGE], "MaxAttempts": 0},
                              parameters.retry.on("States.TaskFailed")], End=True)
    return {
        "Comment": "Reference patterns: Map, Retry and Catch, and a human review by callback",
        "StartAt": "ProcessImages",
        "States": {
            "ProcessImages": {"Type": "Map", "ItemsPath": "$.images", "MaxConcurrency": parameters.max_concurrency,
                              "ItemSelector": {"key.$": "$$.Map.Item.Value"},
                              "ItemProcessor": {"ProcessorConfig": {"Mode": "INLINE"},
                                                "StartAt": "ProcessSingleImage",
                                                "States": {"ProcessSingleImage": describe}},
                              "ResultPath": "$.results", "Next": "AggregateResults"},
            "AggregateResults": _invoke(refs["AggregateResults"], {"images.$": "$.results"},
                                        ("count", "valid", "invalid", "bytes", "formats"), "$.summary",
                                        Next="CallExternalService"),
            "CallExternalService": _invoke(
                refs["CallExternalService"], {"summary.$": "$.summary", "execution.$": "$$.Execution.Id"},
                ("delivered", "status"), "$.external", TimeoutSeconds=parameters.external_timeout_seconds,
                Retry=[parameters.timeout_retry.on("States.Timeout"), parameters.retry.on(*service_errors)],
                Catch=[{"ErrorEquals": service_errors, "ResultPath": "$.externalError",
                        "Next": "ExternalServiceFailed"}], Next=contract.REVIEW_STATE),
            "ExternalServiceFailed": {"Type": "Pass", "Result": {"delivered": False, "status": 0},
                                      "ResultPath": "$.external", "Next": contract.REVIEW_STATE},
            contract.REVIEW_STATE: {
                "Type": "Task", "Resource": LAMBDA_CALLBACK,
                "Parameters": {"FunctionName": refs["MyCallbackFunction"],
                               "Payload": {"token.$": "$$.Task.Token", "execution.$": "$$.Execution.Id",
                                           "summary.$": "$.summary"}},
                "TimeoutSeconds": parameters.review_timeout_seconds,
                "HeartbeatSeconds": parameters.review_heartbeat_seconds, "ResultPath": "$.review",
                "Catch": [{"ErrorEquals": [contract.REVIEW_REJECTED], "ResultPath": "$.review",
                           "Next": "ProcessResult"}], "Next": "ProcessResult"},
            "ProcessResult": _invoke(refs["ProcessResult"], {"execution.$": "$$.Execution.Name",
                                                             "review.$": "$.review", "summary.$": "$.summary"},
                                     ("decision", "key"), "$.decision", End=True),
        },
    }
