"""What the items service's runtime and its program (``programs/api_backend.py``) share, written once.

Standard library only: the program imports it without the runtime's requirements.

The service is the private backend of the secure API: ``GET/POST /items`` and ``GET /items/{id}`` reach it
through the API's VPC link and an internal NLB; it keeps items in PostgreSQL. In AWS it connects as
``DB_APP_USER`` with IAM authentication tokens (no password exists for that user); the migrations, which
create that user and the schema, run once at start with the master credentials RDS keeps in Secrets Manager
(ECS injects them; they never reach the request path's pool).
"""
from __future__ import annotations

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
