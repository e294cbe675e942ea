"""Lambda behind API Gateway ``GET /detect``: labels the image at ``?imageUri=`` by calling
the label-detector Cloud Function at ``GFUNC_URL``.

Answers ``{"imageAnalyzed", "labels", "message", "report"}`` with a status code:
400 for a bad imageUri, the function's own 4xx passed through, 502 when the function
fails or cannot be reached, 504 when it does not answer in time.

With ``GCP_CREDENTIALS_SECRET_ARN`` set, the function is called with a Google ID token
minted from the service-account key held in that Secrets Manager secret.
"""

import ipaddress
import json
import logging
import os
import socket
import time
from urllib.parse import parse_qs, urlsplit

import boto3
import requests
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from google.auth import exceptions as google_auth_exceptions
from google.auth.credentials import AnonymousCredentials
from google.auth.transport.requests import AuthorizedSession
from google.oauth2 import service_account

FALLBACK_IMAGE_URI = "gs://cloud-samples-data/vision/label/wakeupcat.jpg"
ALLOWED_SCHEMES = ("http", "https", "gs")
MAX_URI_LENGTH = 2048
CONNECT_TIMEOUT_SECONDS = 3.05
# API Gateway gives up on a Lambda integration after 30 s, so waiting longer (the seed's 60 s) is pointless.
DEFAULT_UPSTREAM_TIMEOUT_SECONDS = 25.0
# Time kept back from the Lambda's own deadline to still answer 504 instead of being killed.
LAMBDA_DEADLINE_MARGIN_SECONDS = 1.0
MAX_UPSTREAM_MESSAGE_CHARS = 300

logger = logging.getLogger()
logger.setLevel(logging.INFO)
# Their DEBUG output includes response bodies (the secret's key, tokens): keep them at INFO
# even when the function's log level is turned up to DEBUG.
for chatty in ("botocore", "google.auth"):
    logging.getLogger(chatty).setLevel(logging.INFO)


class BadRequest(ValueError):
    """The caller's request cannot be served (answered with 400)."""


class Misconfigured(RuntimeError):
    """The proxy's own configuration is broken (answered with 500; details only in the log)."""


# --- request parsing and validation -------------------------------------------------------


def query_values(event: dict, name: str) -> list[str]:
    """All values of one query parameter, for HTTP API (v2) and REST API (v1) proxy events."""
    if event.get("version") == "2.0" and "rawQueryString" in event:
        # v2 joins repeated parameters with commas in queryStringParameters; the raw string keeps them apart.
        return parse_qs(event["rawQueryString"] or "", keep_blank_values=True).get(name, [])
    multi = event.get("multiValueQueryStringParameters") or {}
    if multi.get(name) is not None:
        return list(multi[name])
    single = (event.get("queryStringParameters") or {}).get(name)
    return [] if single is None else [single]


def requested_image_uri(event: dict) -> str:
    values = query_values(event, "imageUri")
    if len(values) > 1:
        raise BadRequest("give imageUri only once")
    uri = values[0].strip() if values else ""
    return uri or os.environ.get("DEFAULT_IMAGE_URI") or FALLBACK_IMAGE_URI


def literal_ip(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The address a host name denotes by itself, including the shorthand forms
    resolvers accept (127.1, 0x7f000001, 2130706433); None for a DNS name."""
    try:
        return ipaddress.ip_address(host.split("%", 1)[0])  # drop an IPv6 zone id
    except ValueError:
        pass
    try:
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except OSError:
        return None


def is_public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if address.version == 6 and address.ipv4_mapped:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


def validate_image_uri(uri: str) -> None:
    """Raise BadRequest unless uri is an http(s)/gs URI whose host is not a literal
    private, loopback, link-local or reserved address (SSRF guard)."""
    if len(uri) > MAX_URI_LENGTH:
        raise BadRequest(f"imageUri is longer than {MAX_URI_LENGTH} characters")
    try:
        parts = urlsplit(uri)
        host = parts.hostname
    except ValueError as error:
        raise BadRequest(f"imageUri is not a valid URI: {error}") from None
    if parts.scheme.lower() not in ALLOWED_SCHEMES:
        raise BadRequest("imageUri must use http://, https:// or gs://")
    if not host:
        raise BadRequest("imageUri has no host (or bucket)")
    if parts.scheme.lower() == "gs":
        return
    if host == "localhost" or host.endswith(".localhost"):
        raise BadRequest("imageUri must not point at this machine")
    address = literal_ip(host)
    if address is not None and not is_public(address):
        raise BadRequest(f"imageUri must not point at a private or reserved address ({address})")


def loggable(uri: str | None) -> str:
    """The URI without query or fragment: a presigned URL's signature must not end up in logs."""
    try:
        parts = urlsplit(uri or "")
    except ValueError:
        return "<unparsable URI>"
    return f"{parts.scheme}://{parts.netloc}{parts.path}" if parts.scheme else "<not a URI>"


# --- the connection to the Cloud Function (one per Lambda container) ----------------------

_session: AuthorizedSession | None = None


def function_url() -> str:
    url = os.environ.get("GFUNC_URL", "")
    if not url.startswith(("https://", "http://")):
        raise Misconfigured("GFUNC_URL is not set to the function's URL")
    return url


def load_service_account_key(secret_arn: str) -> dict:
    secrets = boto3.client(
        "secretsmanager",
        config=Config(connect_timeout=2, read_timeout=5, retries={"mode": "standard", "max_attempts": 3}),
    )
    try:
        secret = secrets.get_secret_value(SecretId=secret_arn)["SecretString"]
    except (ClientError, BotoCoreError) as error:
        raise Misconfigured(f"cannot read the GCP credentials secret: {error}") from None
    try:
        key = json.loads(secret)
    except ValueError:
        raise Misconfigured("the GCP credentials secret is not a service-account key (JSON)") from None
    if not isinstance(key, dict) or key.get("type") != "service_account":
        raise Misconfigured("the GCP credentials secret is not a service-account key")
    return key


def upstream_session() -> AuthorizedSession:
    """One HTTP session per container: keeps the connection alive between invocations and,
    when a credentials secret is configured, caches the ID token until shortly before it
    expires (google-auth refreshes 3 min 45 s ahead)."""
    global _session
    if _session is None:
        audience = function_url()
        secret_arn = os.environ.get("GCP_CREDENTIALS_SECRET_ARN")
        if secret_arn:
            credentials = service_account.IDTokenCredentials.from_service_account_info(
                load_service_account_key(secret_arn), target_audience=audience
            )
            _session = AuthorizedSession(credentials)
        else:
            # Local runs: no token. No refresh-on-401 either, anonymous credentials cannot refresh.
            _session = AuthorizedSession(AnonymousCredentials(), refresh_status_codes=())
    return _session


def time_budget(context) -> float:
    """Seconds the call to the function may take, bounded by what is left of this invocation."""
    budget = float(os.environ.get("GFUNC_TIMEOUT_SECONDS", DEFAULT_UPSTREAM_TIMEOUT_SECONDS))
    remaining_ms = getattr(context, "get_remaining_time_in_millis", None)
    if remaining_ms is not None:
        budget = min(budget, remaining_ms() / 1000 - LAMBDA_DEADLINE_MARGIN_SECONDS)
    return max(budget, 0.1)


# --- answers -------------------------------------------------------------------------------


def respond(status: int, image_uri: str | None, message: str, labels=(), report: str = "") -> dict:
    body = {"imageAnalyzed": image_uri, "labels": list(labels), "message": message, "report": report}
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json", "Cache-Control": "no-store"},
        "body": json.dumps(body),
    }


def upstream_message(response: requests.Response) -> str:
    try:
        payload = response.json()
        message = payload.get("error") if isinstance(payload, dict) else None
    except ValueError:
        message = None
    message = message or response.text.strip() or response.reason or ""
    return str(message)[:MAX_UPSTREAM_MESSAGE_CHARS]


def labels_from(response: requests.Response) -> list[dict]:
    """The function's labels, checked for shape; ValueError if the answer is not what it promises."""
    payload = response.json()
    labels = payload.get("labels") if isinstance(payload, dict) else None
    if not isinstance(labels, list) or not all(
        isinstance(label, dict) and isinstance(label.get("description"), str) for label in labels
    ):
        raise ValueError("no label list in the answer")
    return [{"description": label["description"], "score": label.get("score")} for label in labels]


def report_of(labels: list[dict]) -> str:
    if not labels:
        return "no labels found"
    return ", ".join(
        f"{label['description']} ({label['score']:.0%})" if isinstance(label["score"], (int, float))
        else label["description"]
        for label in labels
    )


def answer_from_upstream(image_uri: str, response: requests.Response) -> dict:
    status = response.status_code
    if status == 200:
        try:
            labels = labels_from(response)
        except ValueError:
            return respond(502, image_uri, "the label detector sent an answer that is not a label list")
        return respond(200, image_uri, f"{len(labels)} labels detected", labels, report_of(labels))
    if status in (401, 403):
        # Our credential was refused: the caller did nothing wrong, so not a 4xx for them.
        logger.error("label detector refused the proxy's credentials (HTTP %s)", status)
        return respond(502, image_uri, "the label detector refused the proxy's credentials")
    if 400 <= status < 500:
        return respond(status, image_uri, upstream_message(response))
    return respond(502, image_uri, f"the label detector failed (HTTP {status}): {upstream_message(response)}")


# --- entry point ---------------------------------------------------------------------------


def handler(event, context):
    image_uri = None
    try:
        image_uri = requested_image_uri(event)
        validate_image_uri(image_uri)
        session = upstream_session()
        url = function_url()
    except BadRequest as error:
        return respond(400, image_uri, str(error))
    except Misconfigured as error:
        logger.error("proxy misconfigured: %s", error)
        return respond(500, image_uri, "the proxy is misconfigured; see its log")

    budget = time_budget(context)
    started = time.monotonic()
    try:
        response = session.get(
            url,
            params={"imageUri": image_uri},
            timeout=(min(CONNECT_TIMEOUT_SECONDS, budget), budget),
            max_allowed_time=budget,
            allow_redirects=False,
        )
    except requests.Timeout:
        logger.warning("label detector timed out after %.1f s for %s", time.monotonic() - started, loggable(image_uri))
        return respond(504, image_uri, f"the label detector did not answer within {budget:.1f} s")
    except requests.RequestException as error:
        logger.warning("label detector unreachable for %s: %s", loggable(image_uri), type(error).__name__)
        return respond(502, image_uri, "the label detector could not be reached")
    except google_auth_exceptions.GoogleAuthError as error:
        logger.error("could not obtain an ID token for the label detector: %s", type(error).__name__)
        return respond(502, image_uri, "the proxy could not authenticate to the label detector")

    logger.info(
        "label detector answered HTTP %s in %.2f s for %s",
        response.status_code, time.monotonic() - started, loggable(image_uri),
    )
    return answer_from_upstream(image_uri, response)
