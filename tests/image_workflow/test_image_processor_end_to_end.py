"""The image processor's definition, as the program emits it, executed by moto's Step Functions.

Uploads go into the planned bucket with ``put_object``; moto's S3 sends the event to EventBridge, whose rule (the
planned pattern) starts the planned state machine with the planned input transformer, and each Task invokes the
planned function, whose handler runs in this process (see ``workflow_support`` for the two narrow hooks: Lambda
code runs in-process instead of Docker; a rule's Step Functions target starts the execution). Retries run at
1 s (the seed's 3 s is checked on the default plan in ``test_image_workflow_stack.py``).
"""
from __future__ import annotations

import io
import json

import boto3
import pytest
from PIL import Image

from runtime.image_workflow import contract
from tests.image_workflow.conftest import image_bytes
from tests.image_workflow.workflow_support import deploy, executions, finished, messages, subscribe, wait_for

REGION = "us-east-1"


@pytest.fixture(scope="module")
def stack(aws, fast_plan):
    deployed = deploy(fast_plan)
    deployed["processed_queue"] = subscribe(deployed["processed"])
    deployed["errors_queue"] = subscribe(deployed["errors"])
    return deployed


@pytest.fixture(scope="module")
def s3(aws):
    return boto3.client("s3", region_name=REGION)


def upload(stack, s3, key: str, data: bytes) -> dict:
    """Puts the object and returns the execution its event started (there must be exactly one new one)."""
    before = {e["executionArn"] for e in executions(stack["processor"])}
    s3.put_object(Bucket=stack["bucket"], Key=key, Body=data)
    started = wait_for(lambda: [e for e in executions(stack["processor"]) if e["executionArn"] not in before],
                       what=f"an execution for {key}")
    assert len(started) == 1
    return finished(started[0]["executionArn"])


def read_image(s3, bucket: str, key: str) -> Image.Image:
    return Image.open(io.BytesIO(s3.get_object(Bucket=bucket, Key=key)["Body"].read()))


def keys(s3, bucket: str, prefix: str) -> list[str]:
    return sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", []))


def test_a_jpeg_and_a_png_are_resized_filtered_optimised_and_announced(stack, s3, aws):
    jpeg = upload(stack, s3, "raw/photos/beach.jpg", image_bytes("JPEG", (1600, 1000)))
    png = upload(stack, s3, "raw/logo.png", image_bytes("PNG", (900, 900), "RGBA"))
    assert (jpeg["status"], png["status"]) == ("SUCCEEDED", "SUCCEEDED")
    output = json.loads(jpeg["output"])  # validation and outputs were added beside the input, not instead of it
    assert (output["bucket"], output["key"], output["size"]) == (stack["bucket"], "raw/photos/beach.jpg",
                                                                 s3.head_object(Bucket=stack["bucket"],
                                                                                Key="raw/photos/beach.jpg")[
                                                                     "ContentLength"])
    assert output["validation"] == {"isValid": True, "format": "JPEG", "width": 1600, "height": 1000,
                                    "bytes": output["size"], "reason": ""}
    assert output["processed"]["resized"]["key"] == "processed/resized/photos/beach.jpg"
    for name, kind, mode, source_size in (("photos/beach.jpg", "JPEG", "RGB", (1600, 1000)),
                                          ("logo.png", "PNG", "RGBA", (900, 900))):
        resized = read_image(s3, stack["bucket"], f"processed/resized/{name}")
        filtered = read_image(s3, stack["bucket"], f"processed/filtered/{name}")
        optimised = read_image(s3, stack["bucket"], f"processed/optimized/{name}")
        assert (resized.format, resized.size, resized.mode) == (kind, (800, 600), mode)
        assert (filtered.format, filtered.size, filtered.mode) == (kind, source_size, mode)
        assert (optimised.format, optimised.size) == (kind, (800, 600))
    announced = messages(stack["processed_queue"])
    assert sorted(m["Subject"] for m in announced) == [contract.SUCCESS_SUBJECT] * 2
    beach = next(json.loads(m["Message"]) for m in announced if "beach" in m["Message"])
    assert beach == {"bucket": stack["bucket"], "key": "raw/photos/beach.jpg",
                     "resized": "processed/resized/photos/beach.jpg", "filtered": "processed/filtered/photos/beach.jpg",
                     "optimized": "processed/optimized/photos/beach.jpg"}
    assert keys(s3, stack["bucket"], "raw/") == ["raw/logo.png", "raw/photos/beach.jpg"]  # the upload stays


def test_a_non_image_takes_the_error_path_and_is_moved_to_failed_with_its_reason(stack, s3, aws):
    calls = dict(aws.calls)
    done = upload(stack, s3, "raw/notes.txt", b"not an image at all")
    assert (done["status"], done["error"]) == ("FAILED", contract.INVALID_IMAGE)
    assert "not an image" in done["cause"]
    assert aws.calls["ResizeImage"] == calls.get("ResizeImage", 0)  # ImageValid sent it to the error path
    assert keys(s3, stack["bucket"], "raw/notes") == []
    assert s3.get_object(Bucket=stack["bucket"], Key="failed/notes.txt")["Body"].read() == b"not an image at all"
    record = json.loads(s3.get_object(Bucket=stack["bucket"], Key="failed/notes.txt.error.json")["Body"].read())
    assert (record["key"], record["error"]) == ("raw/notes.txt", contract.INVALID_IMAGE)
    assert "not an image" in record["cause"] and record["execution"].endswith(done["name"])
    [error] = [m for m in messages(stack["errors_queue"]) if "notes.txt" in m["Message"]]
    assert error["Subject"] == contract.ERROR_SUBJECT
    assert json.loads(error["Message"])["failedKey"] == "failed/notes.txt"


def test_a_corrupt_image_is_caught_without_retry_and_leaves_no_partial_output(stack, s3, aws):
    whole = image_bytes("JPEG", (1200, 900))
    calls = dict(aws.calls)
    done = upload(stack, s3, "raw/broken.jpg", whole[: len(whole) // 2])  # the header is fine, the data is cut
    assert (done["status"], done["error"]) == ("FAILED", contract.CORRUPT_IMAGE)
    assert "does not decode" in done["cause"]
    # each branch ran once: CorruptImage has MaxAttempts 0, so the seed's States.TaskFailed retrier never ran
    assert aws.calls["ResizeImage"] - calls.get("ResizeImage", 0) == 1
    assert aws.calls["ApplyFilters"] - calls.get("ApplyFilters", 0) == 1
    assert keys(s3, stack["bucket"], "failed/broken") == ["failed/broken.jpg", "failed/broken.jpg.error.json"]
    assert [k for k in keys(s3, stack["bucket"], "processed/") if "broken" in k] == []
    assert keys(s3, stack["bucket"], "raw/broken") == []
    [error] = [m for m in messages(stack["errors_queue"]) if "broken" in m["Message"]]
    assert json.loads(error["Message"])["error"] == contract.CORRUPT_IMAGE


def test_a_throttled_step_is_retried_and_the_image_still_goes_through(stack, s3, aws):
    calls = aws.calls["OptimizeImage"]
    aws.throttles["OptimizeImage"] = 1  # Lambda answers 429 once, as at a concurrency limit
    done = upload(stack, s3, "raw/retry.jpg", image_bytes("JPEG", (640, 480)))
    assert done["status"] == "SUCCEEDED"
    assert aws.calls["OptimizeImage"] - calls == 2
    history = boto3.client("stepfunctions", region_name=REGION).get_execution_history(
        executionArn=done["executionArn"])["events"]
    failures = [e["taskFailedEventDetails"]["error"] for e in history if e["type"] == "TaskFailed"]
    assert failures == ["Lambda.TooManyRequestsException"]
    assert read_image(s3, stack["bucket"], "processed/optimized/retry.jpg").size == (800, 600)


def test_uploads_outside_raw_start_nothing(stack, s3):
    before = len(executions(stack["processor"]))
    for key in ("processed/resized/elsewhere.jpg", "failed/again.jpg", "rawish/photo.jpg", "photo.jpg"):
        s3.put_object(Bucket=stack["bucket"], Key=key, Body=image_bytes("JPEG", (64, 64)))
    assert len(executions(stack["processor"])) == before  # moto delivers S3's events while put_object runs
    s3.put_object(Bucket=stack["bucket"], Key="raw/control.jpg", Body=image_bytes("JPEG", (64, 64)))
    assert len(executions(stack["processor"])) == before + 1  # ...and the same upload under raw/ does start one
