"""What the label proxy (a Lambda behind API Gateway) and the program that deploys it share (standard library only).

The handler reads its settings through ``Settings.from_env``; ``programs/label_proxy.py`` builds that
environment with ``environment()`` and checks its settings with the same validators.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

SOURCE_DIR = "runtime/label_proxy"
REQUIREMENTS_FILE = "runtime/label_proxy/requirements.txt"
HANDLER = "handler.handler"
ROUTE = "GET /detect"

ENV_FUNCTION_URL = "GFUNC_URL"
ENV_UPSTREAM_TIMEOUT_SECONDS = "GFUNC_TIMEOUT_SECONDS"
ENV_CREDENTIALS_SECRET_ARN = "GCP_CREDENTIALS_SECRET_ARN"
"""The Secrets Manager secret holding the GCP caller's service-account key; unset: calls without a token."""
ENV_DEFAULT_IMAGE_URI = "DEFAULT_IMAGE_URI"
ENV_GS_BUCKETS = "ALLOWED_GS_BUCKETS"
"""Comma-separated: the only buckets a gs:// imageUri may name."""
ENV_MAX_IMAGE_BYTES = "MAX_IMAGE_BYTES"
"""The largest http(s) image the proxy fetches and posts to the function (the function's own limit)."""

DEFAULT_IMAGE_URI = "gs://cloud-samples-data/vision/label/wakeupcat.jpg"
DEFAULT_GS_BUCKETS = ("cloud-samples-data",)
DEFAULT_UPSTREAM_TIMEOUT_SECONDS = 25.0
"""API Gateway gives up on a Lambda integration after 30 s, so waiting longer is pointless."""
UPSTREAM_TIMEOUT_MARGIN_SECONDS = 2
"""The Lambda's timeout minus this is the longest the upstream wait may be, so it can still answer 504."""
DEFAULT_MAX_IMAGE_BYTES = 7 * 1024 * 1024
MAX_URI_LENGTH = 2048
SCHEMES = ("http", "https", "gs")
# Cloud Storage bucket names (without gs://): 3-63 characters per dot-separated name, at most 222 in all.
BUCKET = re.compile(r"[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]")


class BadImageUri(ValueError):
    """The caller's imageUri cannot be served (answered with 400)."""


def check_image_uri(uri: str, gs_buckets: Iterable[str] | None) -> tuple[str, str]:
    """(scheme, host or bucket) of an http(s) URI, or of a gs:// URI whose bucket is in ``gs_buckets`` (None:
    any bucket); BadImageUri saying why not. Where an http(s) host may lead is the handler's guard's question."""
    if len(uri) > MAX_URI_LENGTH:
        raise BadImageUri(f"imageUri is longer than {MAX_URI_LENGTH} characters")
    try:
        parts = urlsplit(uri)
        host = parts.hostname
    except ValueError as error:
        raise BadImageUri(f"imageUri is not a valid URI: {error}") from None
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        raise BadImageUri("imageUri must use http://, https:// or gs://")
    if not host:
        raise BadImageUri("imageUri has no host (or bucket)")
    if scheme == "gs" and gs_buckets is not None and parts.netloc not in set(gs_buckets):
        raise BadImageUri(f"imageUri names bucket {parts.netloc!r}, which this proxy does not serve")
    return scheme, host


def is_bucket_name(name: object) -> bool:
    return isinstance(name, str) and BUCKET.fullmatch(name) is not None


@dataclass(frozen=True)
class Settings:
    function_url: str
    credentials_secret_arn: str | None
    default_image_uri: str
    gs_buckets: frozenset[str]
    upstream_timeout_seconds: float
    max_image_bytes: int

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> "Settings":
        buckets = environ.get(ENV_GS_BUCKETS)
        return cls(
            function_url=environ.get(ENV_FUNCTION_URL, ""),
            credentials_secret_arn=environ.get(ENV_CREDENTIALS_SECRET_ARN) or None,
            default_image_uri=environ.get(ENV_DEFAULT_IMAGE_URI) or DEFAULT_IMAGE_URI,
            gs_buckets=frozenset(DEFAULT_GS_BUCKETS if buckets is None else filter(None, buckets.split(","))),
            upstream_timeout_seconds=float(environ.get(ENV_UPSTREAM_TIMEOUT_SECONDS)
                                           or DEFAULT_UPSTREAM_TIMEOUT_SECONDS),
            max_image_bytes=int(environ.get(ENV_MAX_IMAGE_BYTES) or DEFAULT_MAX_IMAGE_BYTES))


def environment(function_url: str, default_image_uri: str, upstream_timeout_seconds: int,
                gs_buckets: Iterable[str], max_image_bytes: int) -> dict:
    """The handler's variables (the credentials secret's ARN is added by the component, under
    ``ENV_CREDENTIALS_SECRET_ARN``). ``function_url`` may be a Pulumi Output: it is passed through."""
    return {ENV_FUNCTION_URL: function_url, ENV_DEFAULT_IMAGE_URI: default_image_uri,
            ENV_UPSTREAM_TIMEOUT_SECONDS: str(upstream_timeout_seconds), ENV_GS_BUCKETS: ",".join(gs_buckets),
            ENV_MAX_IMAGE_BYTES: str(max_image_bytes)}
