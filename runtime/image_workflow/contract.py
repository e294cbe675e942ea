"""What the image workflow's handlers, its state machine definitions, its review CLI and its program share.

Standard library only. Uploads land under ``raw/``; everything the workflow writes goes under ``processed/``
(never under ``raw/``, which the trigger watches), and an image that failed is moved to ``failed/`` beside a
``.error.json`` record. The handlers raise: a step that fails fails its task, so the definitions' Retry and
Catch see it (the names in ``ERRORS`` are the errors they route on).
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

SOURCE_DIR = "runtime/image_workflow"
REQUIREMENTS_FILE = "runtime/image_workflow/requirements.txt"
"""Pillow, pinned to the project's version: installed into one layer for the functions' platform."""

RAW_PREFIX = "raw/"
PROCESSED_PREFIX = "processed/"
FAILED_PREFIX = "failed/"
RESIZED_PREFIX = PROCESSED_PREFIX + "resized/"
FILTERED_PREFIX = PROCESSED_PREFIX + "filtered/"
OPTIMIZED_PREFIX = PROCESSED_PREFIX + "optimized/"
REVIEWS_PREFIX = PROCESSED_PREFIX + "reviews/"
OUTPUT_PREFIXES = (RESIZED_PREFIX, FILTERED_PREFIX, OPTIMIZED_PREFIX)
ERROR_RECORD_SUFFIX = ".error.json"

ENV_BUCKET = "IMAGE_BUCKET"
ENV_WIDTH = "RESIZE_WIDTH"
ENV_HEIGHT = "RESIZE_HEIGHT"
ENV_MAX_IMAGE_BYTES = "MAX_IMAGE_BYTES"
ENV_MAX_IMAGE_PIXELS = "MAX_IMAGE_PIXELS"
ENV_REVIEW_TOPIC_ARN = "REVIEW_TOPIC_ARN"
ENV_EXTERNAL_SERVICE_URL = "EXTERNAL_SERVICE_URL"
"""Where ``CallExternalService`` POSTs a batch's summary; empty: the call is skipped."""
ENV_EXTERNAL_TIMEOUT_SECONDS = "EXTERNAL_TIMEOUT_SECONDS"

FORMATS = ("JPEG", "PNG", "WEBP")
"""What ``ValidateImage`` accepts (Pillow's format names); outputs keep the upload's format."""
WIDTH, HEIGHT = 800, 600
"""The seed's ResizeImage size; filled (cropped to the aspect, then LANCZOS), never stretched."""
MAX_IMAGE_BYTES = 25 * 1024 * 1024
MAX_IMAGE_PIXELS = 50_000_000
"""Larger images are refused as invalid before decoding (a decompression bomb fits in a small file)."""
JPEG_QUALITY = 85
EXTERNAL_TIMEOUT_SECONDS = 10

# Error names (Lambda's errorType is the exception class's name; SendTaskFailure's error for a rejection).
INVALID_IMAGE = "InvalidImage"
CORRUPT_IMAGE = "CorruptImage"
SERVICE_EXCEPTION = "ServiceException"
REVIEW_REJECTED = "ReviewRejected"
ERRORS = (INVALID_IMAGE, CORRUPT_IMAGE, SERVICE_EXCEPTION, REVIEW_REJECTED)

ERROR_SUBJECT = "Image Processing Error"
SUCCESS_SUBJECT = "Image Processed"
REVIEW_SUBJECT = "Image batch waiting for review"

# Topics the workflows publish to, by key (the program names them ``<stack>-<key>``).
TOPIC_PROCESSED, TOPIC_ERRORS, TOPIC_REVIEWS = "processed", "errors", "reviews"

# The state the review CLI finds waiting executions at.
REVIEW_STATE = "WaitForCallback"


@dataclass(frozen=True)
class Function:
    """One Lambda of the workflows: its handler and what it may do with the bucket (prefixes) and topics."""

    handler: str
    description: str
    reads: tuple[str, ...] = ()
    writes: tuple[str, ...] = ()
    deletes: tuple[str, ...] = ()
    publishes: tuple[str, ...] = ()
    pillow: bool = True


PROCESSOR_FUNCTIONS: dict[str, Function] = {
    "ValidateImage": Function("handlers.validate_image", "Checks that an upload is an image it can process",
                              reads=(RAW_PREFIX,)),
    "ResizeImage": Function("handlers.resize_image", "Fills 800x600 (LANCZOS) into processed/resized/",
                            reads=(RAW_PREFIX,), writes=(RESIZED_PREFIX,)),
    "ApplyFilters": Function("handlers.apply_filters", "Sharpens and auto-contrasts into processed/filtered/",
                             reads=(RAW_PREFIX,), writes=(FILTERED_PREFIX,)),
    "OptimizeImage": Function("handlers.optimize_image", "Re-encodes the resized image into processed/optimized/",
                              reads=(RESIZED_PREFIX,), writes=(OPTIMIZED_PREFIX,)),
    "MoveToFailed": Function("handlers.move_to_failed", "Moves a failed upload to failed/ with its error, removes "
                             "its partial outputs", reads=(RAW_PREFIX,), writes=(FAILED_PREFIX,),
                             deletes=(RAW_PREFIX, *OUTPUT_PREFIXES), pillow=False),
}
PATTERN_FUNCTIONS: dict[str, Function] = {
    "ProcessSingleImage": Function("handlers.describe_image", "Describes one image of a batch",
                                   reads=(PROCESSED_PREFIX,)),
    "AggregateResults": Function("handlers.aggregate_results", "Sums up a batch", pillow=False),
    "CallExternalService": Function("handlers.call_external_service", "POSTs a batch's summary to the external "
                                    "service", pillow=False),
    "MyCallbackFunction": Function("handlers.request_review", "Asks a reviewer for a decision",
                                   publishes=(TOPIC_REVIEWS,), pillow=False),
    "ProcessResult": Function("handlers.process_result", "Records the reviewer's decision",
                              writes=(REVIEWS_PREFIX,), pillow=False),
}

HTTPS_URL = re.compile(r"https://[A-Za-z0-9.-]+(:\d{1,5})?(/\S*)?")
"""What the program's config accepts for the external service."""
LOCAL_URL = re.compile(r"http://(127\.0\.0\.1|localhost)(:\d{1,5})?(/\S*)?")
"""Plain HTTP only to this machine, for running the handlers locally."""


def source_key(key: str) -> str:
    """The part of an upload's key under ``raw/`` (``raw/a/b.jpg`` -> ``a/b.jpg``); ValueError outside it."""
    if not key.startswith(RAW_PREFIX) or len(key) == len(RAW_PREFIX) or key.endswith("/"):
        raise ValueError(f"{key!r} is not an upload under {RAW_PREFIX}")
    return key[len(RAW_PREFIX):]


def output_key(prefix: str, key: str) -> str:
    """Where a step writes its output for the upload ``key`` (``processed/resized/a/b.jpg``)."""
    return prefix + source_key(key)


def _whole(environ: Mapping[str, str], name: str, default: int, low: int = 1) -> int:
    text = environ.get(name)
    try:
        value = int(text) if text else default
    except ValueError:
        raise ValueError(f"{name} must be a whole number, not {text!r}") from None
    if value < low:
        raise ValueError(f"{name} must be at least {low}, not {value}")
    return value


@dataclass(frozen=True)
class Settings:
    bucket: str
    width: int = WIDTH
    height: int = HEIGHT
    max_image_bytes: int = MAX_IMAGE_BYTES
    max_image_pixels: int = MAX_IMAGE_PIXELS
    review_topic_arn: str = ""
    external_service_url: str = ""
    external_timeout_seconds: int = EXTERNAL_TIMEOUT_SECONDS

    def environment(self) -> dict[str, str]:
        """The functions' environment (what ``from_env`` reads back); empty values are left out."""
        values = {ENV_BUCKET: self.bucket, ENV_WIDTH: str(self.width), ENV_HEIGHT: str(self.height),
                  ENV_MAX_IMAGE_BYTES: str(self.max_image_bytes), ENV_MAX_IMAGE_PIXELS: str(self.max_image_pixels),
                  ENV_REVIEW_TOPIC_ARN: self.review_topic_arn, ENV_EXTERNAL_SERVICE_URL: self.external_service_url,
                  ENV_EXTERNAL_TIMEOUT_SECONDS: str(self.external_timeout_seconds)}
        return {k: v for k, v in values.items() if v}

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> "Settings":
        """Raises ``ValueError`` naming the variable when the environment is not a usable configuration."""
        bucket = environ.get(ENV_BUCKET, "")
        if not bucket:
            raise ValueError(f"{ENV_BUCKET} must name the image bucket")
        url = environ.get(ENV_EXTERNAL_SERVICE_URL, "")
        if url and not (HTTPS_URL.fullmatch(url) or LOCAL_URL.fullmatch(url)):
            raise ValueError(f"{ENV_EXTERNAL_SERVICE_URL} must be an https:// URL")
        return cls(bucket, _whole(environ, ENV_WIDTH, WIDTH), _whole(environ, ENV_HEIGHT, HEIGHT),
                   _whole(environ, ENV_MAX_IMAGE_BYTES, MAX_IMAGE_BYTES),
                   _whole(environ, ENV_MAX_IMAGE_PIXELS, MAX_IMAGE_PIXELS),
                   environ.get(ENV_REVIEW_TOPIC_ARN, ""), url,
                   _whole(environ, ENV_EXTERNAL_TIMEOUT_SECONDS, EXTERNAL_TIMEOUT_SECONDS))
