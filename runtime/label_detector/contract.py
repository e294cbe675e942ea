"""What the label-detector function and the program that deploys it share (standard library only).

The function reads its settings through ``Settings.from_env``; ``programs/label_detector.py`` builds that
environment with ``environment()`` and checks ``default_image_uri`` with the same ``validate_image_uri``.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

SOURCE_DIR = "runtime/label_detector"
ENTRY_POINT = "detect"
APIS = ("vision.googleapis.com",)
"""The Google APIs the function calls (the platform's own APIs are the component's business)."""

ENV_DEFAULT_IMAGE_URI = "DEFAULT_IMAGE_URI"
ENV_MAX_LABELS = "MAX_LABELS"
ENV_VISION_DEADLINE_SECONDS = "VISION_DEADLINE_SECONDS"
ENV_VISION_API_ENDPOINT = "VISION_API_ENDPOINT"
"""A regional endpoint (eu-vision.googleapis.com) or, in tests, a local fake of the Vision REST API."""

DEFAULT_IMAGE_URI = "gs://cloud-samples-data/vision/label/wakeupcat.jpg"
DEFAULT_MAX_LABELS = 10
VISION_MARGIN_SECONDS = 5
"""Vision gets the function's timeout minus this, so a slow Vision call is still answered (502)."""
MAX_URI_LENGTH = 2048
ALLOWED_SCHEMES = ("http", "https", "gs")
MAX_IMAGE_BYTES = 7 * 1024 * 1024
"""Largest image POSTed as bytes: Vision takes JSON requests up to 10 MiB, and base64 adds a third."""


class InvalidImageUri(ValueError):
    """The imageUri cannot be sent to Cloud Vision."""


def validate_image_uri(uri: str) -> str:
    """The URI when Vision can read it (http(s) or gs://bucket/object); InvalidImageUri saying why not."""
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


@dataclass(frozen=True)
class Settings:
    default_image_uri: str = DEFAULT_IMAGE_URI
    max_labels: int = DEFAULT_MAX_LABELS
    vision_deadline_seconds: float = 20.0
    vision_api_endpoint: str | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> "Settings":
        return cls(default_image_uri=environ.get(ENV_DEFAULT_IMAGE_URI) or DEFAULT_IMAGE_URI,
                   max_labels=int(environ.get(ENV_MAX_LABELS) or DEFAULT_MAX_LABELS),
                   vision_deadline_seconds=float(environ.get(ENV_VISION_DEADLINE_SECONDS) or 20),
                   vision_api_endpoint=environ.get(ENV_VISION_API_ENDPOINT) or None)


def environment(default_image_uri: str, max_labels: int, timeout_seconds: int) -> dict[str, str]:
    """The function's variables for a function that may run ``timeout_seconds``."""
    return {ENV_DEFAULT_IMAGE_URI: default_image_uri,
            ENV_VISION_DEADLINE_SECONDS: str(timeout_seconds - VISION_MARGIN_SECONDS),
            ENV_MAX_LABELS: str(max_labels)}
