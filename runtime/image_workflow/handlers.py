"""Lambda entry points of both workflows (``handlers.<name>``), one per Task state.

A handler answers what the next state needs, or raises: a failed read or write raises boto's error (the
workflow retries it), an image that does not decode raises ``CorruptImage`` (not retried), an external service
that fails raises ``ServiceException`` (retried, then caught). A client's mistake (a non-image, a key outside
the prefixes) is an answer (``isValid: false`` with the reason), not an exception. Outputs are written
whole, one object per step, only under ``processed/`` and ``failed/``. Logs carry keys and sizes, never
task tokens or image bytes.

Settings come from the environment once per container (``contract.Settings``); ``Handlers`` takes them
explicitly, so one process can run the functions of several environments (the tests do).
"""
from __future__ import annotations

import json
import logging
import os
import time
import urllib.error
import urllib.request
from typing import Any, Optional

import boto3
from botocore.exceptions import ClientError

if __package__:
    from . import contract, images
else:  # in the Lambda package this directory's files are at the root
    import contract
    import images

logger = logging.getLogger()
logger.setLevel(logging.INFO)

CorruptImage = images.CorruptImage


class ServiceException(Exception):
    """The external service did not take the summary (5xx, 429, timeout, connection refused): try again later."""


class ExternalRequestRefused(Exception):
    """The external service refused the request itself (4xx other than 429): retrying the same cannot help."""


def _missing(error: ClientError) -> bool:
    return error.response.get("Error", {}).get("Code") in ("NoSuchKey", "404", "NotFound")


def _invalid(reason: str, **known: Any) -> dict[str, Any]:
    return {"isValid": False, "format": None, "width": 0, "height": 0, "bytes": 0, "reason": reason, **known}


class Handlers:
    def __init__(self, settings: contract.Settings, s3: Any = None, sns: Any = None):
        self.settings = settings
        self.s3 = s3 or boto3.client("s3")
        self._sns = sns

    @property
    def sns(self) -> Any:
        if self._sns is None:
            self._sns = boto3.client("sns")
        return self._sns

    def _get(self, key: str) -> bytes:
        return self.s3.get_object(Bucket=self.settings.bucket, Key=key)["Body"].read()

    def _put(self, key: str, data: bytes, content_type: str) -> None:
        self.s3.put_object(Bucket=self.settings.bucket, Key=key, Body=data, ContentType=content_type)

    # ----- the image processor -----
    def validate_image(self, event: dict[str, Any], context: Any = None) -> dict[str, Any]:
        key = str(event.get("key", ""))
        if event.get("bucket") != self.settings.bucket:
            return _invalid(f"the upload is not in the workflow's bucket {self.settings.bucket}")
        try:
            contract.source_key(key)
        except ValueError as error:
            return _invalid(str(error))
        try:
            size = self.s3.head_object(Bucket=self.settings.bucket, Key=key)["ContentLength"]
            if size > self.settings.max_image_bytes:
                return _invalid(f"{size} bytes is more than {self.settings.max_image_bytes}", bytes=size)
            data = self._get(key)
        except ClientError as error:
            if _missing(error):
                return _invalid("no such object (deleted after upload?)")
            raise
        found = images.inspect(data, self.settings.max_image_pixels)
        logger.info("validated", extra={"key": key, "bytes": len(data), "valid": found.is_valid})
        return {"isValid": found.is_valid, "format": found.format, "width": found.width, "height": found.height,
                "bytes": len(data), "reason": found.reason}

    def _write(self, prefix: str, key: str, output: images.Output) -> dict[str, Any]:
        target = contract.output_key(prefix, key)
        self._put(target, output.data, output.content_type)
        logger.info("wrote", extra={"key": target, "bytes": len(output.data)})
        return {"key": target, "width": output.width, "height": output.height, "bytes": len(output.data)}

    def resize_image(self, event: dict[str, Any], context: Any = None) -> dict[str, Any]:
        key = event["key"]
        output = images.fill(self._get(key), event["format"], self.settings.width, self.settings.height)
        return self._write(contract.RESIZED_PREFIX, key, output)

    def apply_filters(self, event: dict[str, Any], context: Any = None) -> dict[str, Any]:
        key = event["key"]
        return self._write(contract.FILTERED_PREFIX, key, images.filtered(self._get(key), event["format"]))

    def optimize_image(self, event: dict[str, Any], context: Any = None) -> dict[str, Any]:
        resized = self._get(event["resized"])
        written = self._write(contract.OPTIMIZED_PREFIX, event["key"], images.optimised(resized, event["format"]))
        return {"key": written["key"], "bytes": written["bytes"], "savedBytes": len(resized) - written["bytes"]}

    def move_to_failed(self, event: dict[str, Any], context: Any = None) -> dict[str, Any]:
        """Moves the upload to ``failed/`` beside ``<name>.error.json`` and deletes any partial outputs. Safe to
        run again (the workflow retries it): a copy already made is kept, deletes of what is gone succeed."""
        key = str(event.get("key", ""))
        try:
            name = contract.source_key(key)
        except ValueError:
            return {"failedKey": "", "errorKey": ""}  # not an upload: nothing of ours to move
        error = event.get("error") or {}
        failed, record = contract.FAILED_PREFIX + name, contract.FAILED_PREFIX + name + contract.ERROR_RECORD_SUFFIX
        try:
            self.s3.copy_object(Bucket=self.settings.bucket, Key=failed,
                                CopySource={"Bucket": self.settings.bucket, "Key": key})
        except ClientError as copy_error:
            if not _missing(copy_error):
                raise
        self._put(record, json.dumps({"key": key, "error": error.get("Error", ""), "cause": _readable(error),
                                      "execution": event.get("execution", ""),
                                      "failedAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())},
                                     indent=2).encode(), "application/json")
        for stale in (key, *(prefix + name for prefix in contract.OUTPUT_PREFIXES)):
            self.s3.delete_object(Bucket=self.settings.bucket, Key=stale)
        logger.info("moved to failed", extra={"key": key, "error": error.get("Error", "")})
        return {"failedKey": failed, "errorKey": record}

    # ----- the reference patterns -----
    def describe_image(self, event: dict[str, Any], context: Any = None) -> dict[str, Any]:
        key = str(event.get("key", ""))
        if not key.startswith(contract.PROCESSED_PREFIX):
            return {"key": key, **_invalid(f"{key!r} is not under {contract.PROCESSED_PREFIX}")}
        try:
            data = self._get(key)
        except ClientError as error:
            if _missing(error):
                return {"key": key, **_invalid("no such object")}
            raise
        found = images.inspect(data, self.settings.max_image_pixels)
        return {"key": key, "isValid": found.is_valid, "format": found.format, "width": found.width,
                "height": found.height, "bytes": len(data), "reason": found.reason}

    def aggregate_results(self, event: dict[str, Any], context: Any = None) -> dict[str, Any]:
        results = list(event.get("images") or [])
        valid = [r for r in results if r.get("isValid")]
        formats: dict[str, int] = {}
        for result in valid:
            formats[result["format"]] = formats.get(result["format"], 0) + 1
        return {"count": len(results), "valid": len(valid), "invalid": len(results) - len(valid),
                "bytes": sum(int(r.get("bytes") or 0) for r in valid), "formats": dict(sorted(formats.items()))}

    def call_external_service(self, event: dict[str, Any], context: Any = None) -> dict[str, Any]:
        url = self.settings.external_service_url
        if not url:
            return {"delivered": False, "status": 0}
        body = json.dumps({"execution": event.get("execution"), "summary": event.get("summary")}).encode()
        request = urllib.request.Request(url, data=body, method="POST",
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=self.settings.external_timeout_seconds) as response:
                status = response.status
        except urllib.error.HTTPError as error:
            if error.code == 429 or error.code >= 500:
                raise ServiceException(f"the external service answered {error.code}") from None
            raise ExternalRequestRefused(f"the external service refused the summary: {error.code}") from None
        except (urllib.error.URLError, TimeoutError, ConnectionError) as error:
            raise ServiceException(f"the external service could not be reached: {error}") from None
        return {"delivered": True, "status": status}

    def request_review(self, event: dict[str, Any], context: Any = None) -> dict[str, Any]:
        """Tells the reviewers a batch waits for them. The task token stays out of the message: the review CLI
        finds it in the execution's history, for those allowed to read it."""
        execution, summary = str(event["execution"]), event.get("summary") or {}
        self.sns.publish(TopicArn=self.settings.review_topic_arn, Subject=contract.REVIEW_SUBJECT, Message=(
            f"{execution} waits for a decision: {summary.get('valid', 0)} of {summary.get('count', 0)} images "
            f"valid ({summary.get('bytes', 0)} bytes).\n"
            f"Approve: python -m runtime.image_workflow.review approve {execution}\n"
            f"Reject:  python -m runtime.image_workflow.review reject {execution} --note 'why'"))
        return {"requested": True}

    def process_result(self, event: dict[str, Any], context: Any = None) -> dict[str, Any]:
        review = event.get("review") or {}
        if review.get("Error") == contract.REVIEW_REJECTED:
            decision, details = "rejected", _json_object(review.get("Cause"))
        else:
            decision, details = ("approved" if review.get("approved") else "rejected"), review
        key = f"{contract.REVIEWS_PREFIX}{event['execution']}.json"
        self._put(key, json.dumps({"decision": decision, "reviewer": details.get("reviewer", ""),
                                   "note": details.get("note", ""), "summary": event.get("summary"),
                                   "decidedAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())},
                                  indent=2).encode(), "application/json")
        return {"decision": decision, "key": key}


def _json_object(text: Any) -> dict[str, Any]:
    try:
        value = json.loads(text) if isinstance(text, str) else text
    except json.JSONDecodeError:
        return {"note": text}
    return value if isinstance(value, dict) else {"note": str(value)}


def _readable(error: dict[str, Any]) -> str:
    """A Lambda error's Cause is its JSON payload: keep the message, not the stack trace."""
    cause = error.get("Cause", "")
    parsed = _json_object(cause)
    return str(parsed.get("errorMessage") or parsed.get("note") or cause)


_DEFAULT: Optional[Handlers] = None


def _handlers() -> Handlers:
    global _DEFAULT
    if _DEFAULT is None:
        _DEFAULT = Handlers(contract.Settings.from_env(os.environ))
    return _DEFAULT


def _entry(name: str):
    def handler(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
        return getattr(_handlers(), name)(event, context)
    handler.__name__ = name
    return handler


validate_image = _entry("validate_image")
resize_image = _entry("resize_image")
apply_filters = _entry("apply_filters")
optimize_image = _entry("optimize_image")
move_to_failed = _entry("move_to_failed")
describe_image = _entry("describe_image")
aggregate_results = _entry("aggregate_results")
call_external_service = _entry("call_external_service")
request_review = _entry("request_review")
process_result = _entry("process_result")
