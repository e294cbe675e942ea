"""HTTP Cloud Function: Cloud Vision label detection for the image at ``?imageUri=``.

Deployed as a 2nd-generation Cloud Function (Python 3.12) with entry point ``detect``.
Answers ``{"imageUri": ..., "labels": [{"description": ..., "score": ...}]}``;
400 for a URI that is not http(s):// or gs://, 502 when Cloud Vision fails.
"""

import functools
import logging
import os
from urllib.parse import urlsplit

import functions_framework
import requests
from google.api_core import exceptions as api_exceptions
from google.api_core import retry as api_retry
from google.auth import exceptions as auth_exceptions
from google.cloud import vision

DEFAULT_IMAGE_URI = os.environ.get(
    "DEFAULT_IMAGE_URI", "gs://cloud-samples-data/vision/label/wakeupcat.jpg"
)
MAX_LABELS = int(os.environ.get("MAX_LABELS", "10"))
# Must stay below the function's own timeout so a slow Vision call still gets a 502 answer.
VISION_DEADLINE_SECONDS = float(os.environ.get("VISION_DEADLINE_SECONDS", "20"))
MAX_URI_LENGTH = 2048
ALLOWED_SCHEMES = ("http", "https", "gs")

logger = logging.getLogger(__name__)


class InvalidImageUri(ValueError):
    """The caller's imageUri cannot be sent to Cloud Vision."""


class VisionFailure(RuntimeError):
    """Cloud Vision could not label the image; the message is Vision's own."""


def make_vision_client() -> vision.ImageAnnotatorClient:
    """Build the Vision client. VISION_API_ENDPOINT selects a regional endpoint
    (e.g. eu-vision.googleapis.com) or, in tests, a local fake of the Vision REST API."""
    endpoint = os.environ.get("VISION_API_ENDPOINT")
    # REST keeps the instance light: one unary call per request gains nothing from gRPC.
    return vision.ImageAnnotatorClient(
        transport="rest",
        client_options={"api_endpoint": endpoint} if endpoint else None,
    )


@functools.cache
def vision_client() -> vision.ImageAnnotatorClient:
    """One client per instance, created on first use (not at cold start)."""
    return make_vision_client()


def validate_image_uri(uri: str) -> str:
    if len(uri) > MAX_URI_LENGTH:
        raise InvalidImageUri(f"imageUri is longer than {MAX_URI_LENGTH} characters")
    try:
        parts = urlsplit(uri)
    except ValueError as error:
        raise InvalidImageUri(f"imageUri is not a valid URI: {error}") from None
    if parts.scheme.lower() not in ALLOWED_SCHEMES:
        raise InvalidImageUri("imageUri must use http://, https:// or gs://")
    if not parts.netloc:
        raise InvalidImageUri("imageUri has no host (or bucket)")
    if parts.scheme.lower() == "gs" and parts.path.strip("/") == "":
        raise InvalidImageUri("a gs:// imageUri needs an object name: gs://bucket/object")
    return uri


def loggable(uri: str) -> str:
    """The URI without query or fragment: a presigned URL's signature must not end up in logs."""
    parts = urlsplit(uri)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


def vision_message(error: api_exceptions.GoogleAPICallError) -> str:
    """Vision's own words: over REST the exception message is prefixed with the method and URL."""
    try:
        return error.response.json()["error"]["message"]
    except (AttributeError, ValueError, KeyError, TypeError):
        return error.message or str(error)


def detect_labels(image_uri: str) -> list[dict]:
    """Call Cloud Vision; raises VisionFailure with Vision's message on any failure."""
    image = vision.Image(source=vision.ImageSource(image_uri=image_uri))
    transient_retry = api_retry.Retry(
        predicate=api_retry.if_transient_error,
        initial=0.25,
        maximum=2.0,
        timeout=VISION_DEADLINE_SECONDS,
    )
    try:
        response = vision_client().label_detection(
            image=image,
            max_results=MAX_LABELS,
            retry=transient_retry,
            timeout=VISION_DEADLINE_SECONDS,
        )
    except api_exceptions.GoogleAPICallError as error:
        raise VisionFailure(vision_message(error)) from error
    except (
        api_exceptions.GoogleAPIError,
        auth_exceptions.GoogleAuthError,
        requests.RequestException,
    ) as error:
        raise VisionFailure(str(error)) from error
    # Per-image problems (unreachable URL, not an image, ...) come back inside a 200 response.
    if response.error.message:
        raise VisionFailure(response.error.message)
    return [
        {"description": label.description, "score": round(label.score, 4)}
        for label in response.label_annotations
    ]


@functions_framework.http
def detect(request):
    if request.method not in ("GET", "HEAD"):
        return {"error": "use GET /?imageUri=<http(s):// or gs:// URI>"}, 405, {"Allow": "GET"}
    image_uri = (request.args.get("imageUri") or "").strip() or DEFAULT_IMAGE_URI
    try:
        validate_image_uri(image_uri)
    except InvalidImageUri as error:
        return {"imageUri": image_uri, "error": str(error)}, 400
    try:
        labels = detect_labels(image_uri)
    except VisionFailure as error:
        logger.warning("Vision label detection failed for %s: %s", loggable(image_uri), error)
        return {"imageUri": image_uri, "error": f"Cloud Vision: {error}"}, 502
    return {"imageUri": image_uri, "labels": labels}, 200
