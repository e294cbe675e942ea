"""What the items service's runtime and its program (``programs/api_backend.py``) share, written once.

Standard library only: the program imports it without the runtime's requirements.

The service is the private backend of the secure API: ``GET/POST /items`` and ``GET /items/{id}`` reach it
through the API's VPC link and an internal NLB; it keeps items in PostgreSQL. In AWS it connects as
``DB_APP_USER`` with IAM authentication tokens (no password exists for that user); the migrations, which
create that user and the schema, run once at start with the master credentials RDS keeps in Secrets Manager
(ECS injects them; they never reach the request path's pool).
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

DOCKERFILE = "runtime/items_service/Dockerfile"
PORT = 8080
HEALTH_PATH = "/health"
ITEMS_PATH = "/items"
"""``GET/POST /items``, ``GET /items/{id}``: the routes the secure API sends through its VPC link."""

DB_ENGINE = "postgres"
DB_NAME = "items"
DB_APP_USER = "items_app"
"""The database user the request path connects as, with IAM tokens (``rds-db:connect`` on this user only)."""
DB_MASTER_USER = "items_admin"
"""The RDS master user (its password managed by RDS in Secrets Manager); used only by the migrations."""

ENV_DB_HOST = "ITEMS_DB_HOST"
ENV_DB_PORT = "ITEMS_DB_PORT"
ENV_DB_NAME = "ITEMS_DB_NAME"
ENV_DB_USER = "ITEMS_DB_USER"
ENV_DB_AUTH = "ITEMS_DB_AUTH"
"""``iam`` (AWS: a token from ``rds.generate_db_auth_token`` per connection) or ``password`` (local)."""
ENV_DB_PASSWORD = "ITEMS_DB_PASSWORD"
"""Only with ``ITEMS_DB_AUTH=password`` (local runs and tests)."""
ENV_DB_MASTER_USER = "ITEMS_DB_MASTER_USER"
ENV_DB_MASTER_PASSWORD = "ITEMS_DB_MASTER_PASSWORD"
"""An ECS secret (the ``password`` key of the RDS-managed master secret); unset: migrations are skipped."""
ENV_DB_SSLMODE = "ITEMS_DB_SSLMODE"
"""libpq ``sslmode``: ``verify-full`` in AWS (the RDS CA bundle is in the image), ``disable`` locally."""
ENV_REGION = "AWS_REGION"
ENV_POOL_SIZE = "ITEMS_POOL_SIZE"
ENV_SERVICE = "ITEMS_SERVICE"
"""The metrics' and logs' ``service`` name."""

AUTH_MODES = ("iam", "password")
SSL_MODES = ("disable", "require", "verify-ca", "verify-full")
DEFAULT_POOL_SIZE = 4
MAX_POOL_SIZE = 32

# Added with the runtime (names above are the program's; these are the runtime's own limits).
ENV_DB_SSLROOTCERT = "ITEMS_DB_SSLROOTCERT"
"""Where the CA bundle is; defaults to ``RDS_CA_BUNDLE`` (the image's copy) for the ``verify-*`` modes."""
ENV_POOL_TIMEOUT = "ITEMS_POOL_TIMEOUT_SECONDS"
"""How long a request waits for a pooled connection before answering 503 (default 5, 0.1..30)."""
RDS_CA_BUNDLE = "/etc/ssl/rds/global-bundle.pem"
DEFAULT_POOL_TIMEOUT_SECONDS = 5.0
MAX_POOL_TIMEOUT_SECONDS = 30.0
DEFAULT_DB_PORT = 5432
MAX_NAME_LENGTH = 200
MAX_QUANTITY = 1_000_000_000
MAX_CALLER_LENGTH = 256
CALLER_HEADER = "x-caller-sub"
"""The caller's identity, set by the secure API from its authorizer (never by the client: API Gateway overwrites it)."""
DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
MAX_BODY_BYTES = 4096
MAX_ITEM_ID = 2**63 - 1
RETRY_AFTER_SECONDS = 2
"""The ``Retry-After`` of a 503 while the database is unreachable."""


@dataclass(frozen=True)
class Settings:
    """The service's settings, read once from the environment (``from_env``) and checked there."""

    host: str
    port: int
    dbname: str
    user: str
    auth: str
    password: str | None = field(default=None, repr=False)
    master_user: str = DB_MASTER_USER
    master_password: str | None = field(default=None, repr=False)
    sslmode: str = "verify-full"
    sslrootcert: str | None = None
    region: str | None = None
    pool_size: int = DEFAULT_POOL_SIZE
    pool_timeout: float = DEFAULT_POOL_TIMEOUT_SECONDS
    service: str = "items"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ

        def text(name: str, default: str | None = None) -> str | None:
            value = env.get(name, "").strip()
            return value or default

        def needed(name: str, why: str) -> str:
            value = text(name)
            if value is None:
                raise ValueError(f"{name} must be set ({why})")
            return value

        auth = text(ENV_DB_AUTH, "iam")
        if auth not in AUTH_MODES:
            raise ValueError(f"{ENV_DB_AUTH} must be one of {', '.join(AUTH_MODES)}, not {auth!r}")
        sslmode = text(ENV_DB_SSLMODE, "verify-full")
        if sslmode not in SSL_MODES:
            raise ValueError(f"{ENV_DB_SSLMODE} must be one of {', '.join(SSL_MODES)}, not {sslmode!r}")
        return cls(
            host=needed(ENV_DB_HOST, "the database's address"),
            port=_whole(env, ENV_DB_PORT, DEFAULT_DB_PORT, 1, 65535),
            dbname=text(ENV_DB_NAME, DB_NAME),
            user=text(ENV_DB_USER, DB_APP_USER),
            auth=auth,
            password=needed(ENV_DB_PASSWORD, f"{ENV_DB_AUTH}=password") if auth == "password" else None,
            master_user=text(ENV_DB_MASTER_USER, DB_MASTER_USER),
            master_password=text(ENV_DB_MASTER_PASSWORD),
            sslmode=sslmode,
            sslrootcert=text(ENV_DB_SSLROOTCERT, RDS_CA_BUNDLE) if sslmode.startswith("verify") else None,
            region=needed(ENV_REGION, f"{ENV_DB_AUTH}=iam signs tokens for a region") if auth == "iam" else None,
            pool_size=_whole(env, ENV_POOL_SIZE, DEFAULT_POOL_SIZE, 1, MAX_POOL_SIZE),
            pool_timeout=_seconds(env, ENV_POOL_TIMEOUT, DEFAULT_POOL_TIMEOUT_SECONDS, 0.1, MAX_POOL_TIMEOUT_SECONDS),
            service=text(ENV_SERVICE, "items"),
        )


def _whole(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    if not (raw.isascii() and raw.isdigit()) or not low <= int(raw) <= high:
        raise ValueError(f"{name} must be a whole number from {low} to {high}, not {raw!r}")
    return int(raw)


def _seconds(env: Mapping[str, str], name: str, default: float, low: float, high: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = float("nan")
    if not low <= value <= high:  # also refuses nan
        raise ValueError(f"{name} must be a number of seconds from {low} to {high}, not {raw!r}")
    return value
