"""Lambda behind API Gateway ``GET /detect``: labels the image at ``?imageUri=`` by calling
the label-detector Cloud Function (settings: ``contract.py``).

A gs:// URI is passed on only for the allow-listed buckets, for Vision to read. An http(s) image is fetched
here, through a guard that resolves the host once, refuses private, loopback, link-local, reserved and
metadata targets in every spelling, connects to exactly the address it checked, and checks every redirect's
target the same way; its bytes are posted to the function.

Answers ``{"imageAnalyzed", "labels", "message", "report"}`` with a status code:
400 for a bad or refused imageUri (or an image that cannot be fetched), 413 for one too large, the function's
own 4xx passed through, 502 when the function fails or cannot be reached, 504 when it does not answer in time.

With ``GCP_CREDENTIALS_SECRET_ARN`` set, the function is called with a Google ID token
minted from the service-account key held in that Secrets Manager secret.
"""

import json
import logging
import os
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

try:
    from . import contract, guard
except ImportError:  # deployed: the package root is this directory
    import contract
    import guard

SETTINGS = contract.Settings.from_env(os.environ)
# Time kept back from the Lambda's own deadline to still answer 504 instead of being killed.
LAMBDA_DEADLINE_MARGIN_SECONDS = 1.0
MAX_UPSTREAM_MESSAGE_CHARS = 300
logger = logging.getLogger()
logger.setLevel(logging.INFO)
# Their DEBUG output includes response bodies (the secret's key, tokens): keep them at INFO
# even when the function's log level is turned up to DEBUG.
for chatty in ("botocore", "google.auth"):
    logging.getLogger(chatty).setLevel(logging.INFO)


BadRequest = contract.BadImageUri
"""The caller's request cannot be served (answered with 400)."""
ImageTooLarge = guard.ImageTooLarge
"""The image is larger than the function accepts (answered with 413)."""


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
    return uri or SETTINGS.default_image_uri


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
    url = SETTINGS.function_url
    if not url.startswith(("https://", "http://")):
        raise Misconfigured(f"{contract.ENV_FUNCTION_URL} is not set to the function's URL")
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
        secret_arn = SETTINGS.credentials_secret_arn
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
    budget = SETTINGS.upstream_timeout_seconds
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
    started = time.monotonic()
    budget = time_budget(context)
    try:
        image_uri = requested_image_uri(event)
        scheme, _ = contract.check_image_uri(image_uri, SETTINGS.gs_buckets)
        session = upstream_session()
        url = function_url()
        # gs:// (allow-listed buckets) is read by Vision; anything else is fetched here, behind the guard,
        # so neither a DNS name nor a redirect can lead Vision's or our fetch to a private target.
        image = None if scheme == "gs" else guard.fetch_image(image_uri, budget, SETTINGS.max_image_bytes)
    except ImageTooLarge as error:
        return respond(413, image_uri, str(error))
    except BadRequest as error:
        return respond(400, image_uri, str(error))
    except Misconfigured as error:
        logger.error("proxy misconfigured: %s", error)
        return respond(500, image_uri, "the proxy is misconfigured; see its log")

    remaining = max(budget - (time.monotonic() - started), 0.1)
    timeouts = {"timeout": (min(guard.CONNECT_TIMEOUT_SECONDS, remaining), remaining), "max_allowed_time": remaining,
                "allow_redirects": False}
    called = time.monotonic()
    try:
        if image is None:
            response = session.get(url, params={"imageUri": image_uri}, **timeouts)
        else:
            response = session.post(url, data=image, headers={"Content-Type": "application/octet-stream"},
                                    **timeouts)
    except requests.Timeout:
        logger.warning("label detector timed out after %.1f s for %s", time.monotonic() - called, loggable(image_uri))
        return respond(504, image_uri, f"the label detector did not answer within {remaining:.1f} s")
    except requests.RequestException as error:
        logger.warning("label detector unreachable for %s: %s", loggable(image_uri), type(error).__name__)
        return respond(502, image_uri, "the label detector could not be reached")
    except google_auth_exceptions.GoogleAuthError as error:
        logger.error("could not obtain an ID token for the label detector: %s", type(error).__name__)
        return respond(502, image_uri, "the proxy could not authenticate to the label detector")

    logger.info(
        "label detector answered HTTP %s in %.2f s for %s",
        response.status_code, time.monotonic() - called, loggable(image_uri),
    )
    return answer_from_upstream(image_uri, response)
