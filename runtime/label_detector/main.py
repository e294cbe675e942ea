"""HTTP Cloud Function: Cloud Vision label detection for the image at ``?imageUri=``.

Deployed as a 2nd-generation Cloud Function (Python 3.12) with entry point ``detect``.
``GET ?imageUri=`` has Vision read the image itself (gs:// or http(s)://); ``POST`` with the image's bytes as
the body labels those bytes (the proxy fetches http(s) images itself, behind its SSRF guard, and posts them).
Answers ``{"imageUri": ..., "labels": [{"description": ..., "score": ...}]}``;
400 for a URI that is not http(s):// or gs:// or an empty body, 413 for a body above ``MAX_IMAGE_BYTES``,
502 when Cloud Vision fails.
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

try:
    from . import contract
except ImportError:  # deployed: the function's directory is the source root
    import contract

SETTINGS = contract.Settings.from_env(os.environ)

logger = logging.getLogger(__name__)


class VisionFailure(RuntimeError):
    """Cloud Vision could not label the image; the message is Vision's own."""


def make_vision_client() -> vision.ImageAnnotatorClient:
    """Build the Vision client. VISION_API_ENDPOINT selects a regional endpoint
    (e.g. eu-vision.googleapis.com) or, in tests, a local fake of the Vision REST API."""
    endpoint = SETTINGS.vision_api_endpoint
    # REST keeps the instance light: one unary call per request gains nothing from gRPC.
    return vision.ImageAnnotatorClient(
        transport="rest",
        client_options={"api_endpoint": endpoint} if endpoint else None,
    )


@functools.cache
def vision_client() -> vision.ImageAnnotatorClient:
    """One client per instance, created on first use (not at cold start)."""
    return make_vision_client()


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


def detect_labels(image: vision.Image) -> list[dict]:
    """Call Cloud Vision; raises VisionFailure with Vision's message on any failure."""
    transient_retry = api_retry.Retry(
        predicate=api_retry.if_transient_error,
        initial=0.25,
        maximum=2.0,
        timeout=SETTINGS.vision_deadline_seconds,
    )
    try:
        response = vision_client().label_detection(
            image=image,
            max_results=SETTINGS.max_labels,
            retry=transient_retry,
            timeout=SETTINGS.vision_deadline_seconds,
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


def labels_answer(image: vision.Image, image_uri: str | None, described: str):
    try:
        labels = detect_labels(image)
    except VisionFailure as error:
        logger.warning("Vision label detection failed for %s: %s", described, error)
        return {"imageUri": image_uri, "error": f"Cloud Vision: {error}"}, 502
    return {"imageUri": image_uri, "labels": labels}, 200


@functions_framework.http
def detect(request):
    if request.method == "POST":
        return detect_posted(request)
    if request.method not in ("GET", "HEAD"):
        return {"error": "use GET /?imageUri=<http(s):// or gs:// URI> or POST the image"}, 405, {"Allow": "GET, POST"}
    image_uri = (request.args.get("imageUri") or "").strip() or SETTINGS.default_image_uri
    try:
        contract.validate_image_uri(image_uri)
    except contract.InvalidImageUri as error:
        return {"imageUri": image_uri, "error": str(error)}, 400
    return labels_answer(vision.Image(source=vision.ImageSource(image_uri=image_uri)), image_uri, loggable(image_uri))


def detect_posted(request):
    """The image's bytes as the body; read at most one byte past the limit, so a huge body costs nothing."""
    if (request.content_length or 0) > contract.MAX_IMAGE_BYTES:
        return {"imageUri": None, "error": f"the image is larger than {contract.MAX_IMAGE_BYTES} bytes"}, 413
    content = request.stream.read(contract.MAX_IMAGE_BYTES + 1)
    if len(content) > contract.MAX_IMAGE_BYTES:
        return {"imageUri": None, "error": f"the image is larger than {contract.MAX_IMAGE_BYTES} bytes"}, 413
    if not content:
        return {"imageUri": None, "error": "POST the image's bytes as the request body"}, 400
    return labels_answer(vision.Image(content=content), None, f"{len(content)} posted bytes")
