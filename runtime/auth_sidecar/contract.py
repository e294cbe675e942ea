"""What the auth sidecar and the program that deploys it share: names, numbers and the checks of inputs that
stack config carries too. Standard library only (the program imports it; the sidecar reads its settings
through it)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

CONTAINER = "auth-sidecar"
IMAGE = "auth-sidecar"
DOCKERFILE = "runtime/auth_sidecar/Dockerfile"
MODULE = "runtime.auth_sidecar"
HOST = "127.0.0.1"  # loopback only: nothing but the front in the same task may call it
PORT = 9000
ADDRESS = f"{HOST}:{PORT}"
AUTH_PATH, HEALTH_PATH = "/auth", "/healthz"

# Environment variables (the sidecar refuses to start when a required one is missing or wrong).
ENV_ALB_ARN = "ALB_ARN"
ENV_VALID_DOMAINS = "VALID_DOMAINS"
ENV_AUTH_REQUIRED = "AUTH_REQUIRED"
ENV_REGION = "AWS_REGION"
ENV_KEY_URL_TEMPLATE = "KEY_URL_TEMPLATE"
ENV_LEEWAY_SECONDS = "JWT_LEEWAY_SECONDS"
ENV_KEY_CACHE_SIZE = "KEY_CACHE_SIZE"
ENV_KEY_CACHE_SECONDS = "KEY_CACHE_SECONDS"
ENV_KEY_FETCH_TIMEOUT_SECONDS = "KEY_FETCH_TIMEOUT_SECONDS"
ENV_DECISION_CACHE_SECONDS = "DECISION_CACHE_SECONDS"
ENV_METRICS_SERVICE = "METRICS_SERVICE"
ENV_METRICS_INTERVAL_SECONDS = "METRICS_INTERVAL_SECONDS"
ENV_LOG_LEVEL = "LOG_LEVEL"

# The request and response headers of /auth.
TOKEN_HEADER = "X-Amzn-Oidc-Data"
ORIGINAL_METHOD_HEADER, ORIGINAL_PATH_HEADER = "X-Original-Method", "X-Original-Path"
CACHE_HEADER = "X-Accel-Expires"  # seconds nginx may reuse the decision (0: not at all)
IDENTITY_HEADERS = {"email": "X-Auth-Email", "given_name": "X-Auth-Given-name",
                    "family_name": "X-Auth-Family-name", "picture": "X-Auth-Picture"}

# The claims the sidecar reads from the ALB's token: the app client's read attributes. With Google sign-in,
# Google's ``hd`` (the Workspace domain) is mapped to HOSTED_DOMAIN_CLAIM, and checked like the e-mail's.
CLAIMS = ("email", "email_verified", "family_name", "given_name", "picture")
HOSTED_DOMAIN_CLAIM = "custom:hd"
GOOGLE_USERNAME_PREFIX = "Google_"  # Cognito names federated users <provider>_<id>

# The sidecar's metrics: the seed's awsjwtauth statsd names, as CloudWatch embedded metric format on its stdout;
# every metric dimensioned by service, refusals by reason too. The dashboard graphs the same names.
METRICS_NAMESPACE = "awsjwtauth"
SERVICE_DIMENSION, REASON_DIMENSION = "service", "reason"
METRIC_ALLOWED, METRIC_REFUSED, METRIC_RESTARTS = "info.auth_user", "error", "restart"
METRIC_KEY_FETCH_MS = "get_pub_key"
METRIC_KEY_CACHE_HITS, METRIC_KEY_CACHE_MISSES = "cache.keys.hits", "cache.keys.misses"

ANY_DOMAIN = "*"
DECISION_CACHE_SECONDS = (0, 300)
KEY_CACHE_SECONDS = (1, 86_400)


def parse_domains(raw: str | Iterable[str]) -> frozenset[str]:
    """E-mail domains, lower-case, from ``a.com,b.org`` or a list; ``{"*"}`` allows any. ValueError if empty, or
    ``*`` is combined with named domains."""
    parts = raw.split(",") if isinstance(raw, str) else list(raw)
    if not all(isinstance(part, str) for part in parts):
        raise ValueError("domains must be texts")
    domains = frozenset(part.strip().lower().lstrip("@") for part in parts if part.strip())
    if not domains:
        raise ValueError("at least one domain (or '*' for any)")
    if ANY_DOMAIN in domains and len(domains) > 1:
        raise ValueError("'*' cannot be combined with named domains")
    return domains


def command(host: str = HOST, port: int = PORT) -> list[str]:
    return ["python", "-m", MODULE, "--host", host, "--port", str(port)]


def health_check() -> list[str]:
    """The container health check: the slim image has no curl, so the module probes itself."""
    return ["CMD", *command(), "--healthcheck"]


def environment(*, alb_arn: Any, region: Any, valid_domains: Iterable[str], auth_required: bool,
                decision_cache_seconds: int, key_cache_seconds: int, metrics_service: str) -> Mapping[str, Any]:
    """The container's environment (``alb_arn`` and ``region`` may be the program's Outputs)."""
    return {ENV_ALB_ARN: alb_arn, ENV_REGION: region, ENV_VALID_DOMAINS: ",".join(sorted(parse_domains(valid_domains))),
            ENV_AUTH_REQUIRED: str(auth_required).lower(), ENV_DECISION_CACHE_SECONDS: str(decision_cache_seconds),
            ENV_KEY_CACHE_SECONDS: str(key_cache_seconds), ENV_METRICS_SERVICE: metrics_service}


def container(**settings: Any) -> dict[str, Any]:
    """How the task runs the sidecar: command, health check and environment (``settings``: see ``environment``)."""
    return {"command": command(), "health_check": health_check(), "environment": environment(**settings)}
