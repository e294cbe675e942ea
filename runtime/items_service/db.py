"""The database layer: a psycopg 3 connection pool whose every new connection gets a fresh password.

In ``iam`` mode the password is an RDS IAM authentication token (``rds.generate_db_auth_token``: local SigV4
signing, no network call). A token is valid for 15 minutes and only matters while a connection is being
opened (an open connection outlives its token), so one is signed per connection and never kept. In
``password`` mode (local runs, tests) the password from the settings is used.

Every connection is checked as it leaves the pool (``check=``): one the server closed — a failover, an idle
timeout, ``pg_terminate_backend`` — is thrown away and replaced instead of failing the request.
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool, PoolTimeout

from .contract import Settings

log = logging.getLogger("items.db")
PasswordSource = Callable[[], str]
CONNECT_TIMEOUT_SECONDS = 5
APPLICATION_NAME = "items-service"


class Unavailable(Exception):
    """The database cannot be reached right now (the caller answers 503 and asks to retry)."""


def iam_token_source(settings: Settings, client: Any = None) -> PasswordSource:
    """A callable signing a new IAM token for ``settings.user`` each time it is called."""
    if client is None:
        import boto3

        client = boto3.client("rds", region_name=settings.region)

    def token() -> str:
        return client.generate_db_auth_token(DBHostname=settings.host, Port=settings.port,
                                             DBUsername=settings.user, Region=settings.region)
    return token


def password_source(settings: Settings) -> PasswordSource:
    """The request path's password source for ``settings.auth``."""
    if settings.auth == "iam":
        return iam_token_source(settings)
    password = settings.password or ""
    return lambda: password


def connection_kwargs(settings: Settings, user: str, password: str) -> dict[str, Any]:
    """libpq parameters of one connection (the password is passed as a parameter, never in a logged DSN)."""
    kwargs: dict[str, Any] = {"host": settings.host, "port": settings.port, "dbname": settings.dbname,
                              "user": user, "password": password, "sslmode": settings.sslmode,
                              "connect_timeout": CONNECT_TIMEOUT_SECONDS, "application_name": APPLICATION_NAME}
    if settings.sslrootcert:
        kwargs["sslrootcert"] = settings.sslrootcert
    return kwargs


class Database:
    """The pool of the request path (``settings.user``) and the item queries."""

    def __init__(self, settings: Settings, password: PasswordSource | None = None):
        self.settings = settings
        self._password = password or password_source(settings)
        self.pool = ConnectionPool(
            kwargs=self._connect_kwargs, min_size=1, max_size=settings.pool_size, timeout=settings.pool_timeout,
            check=ConnectionPool.check_connection, name="items", open=False,
            configure=_configure)

    def _connect_kwargs(self) -> dict[str, Any]:
        # Called by the pool for each new connection: a fresh token in iam mode.
        return connection_kwargs(self.settings, self.settings.user, self._password())

    def open(self) -> Database:
        self.pool.open(wait=False)  # the service starts even if the database is still coming up
        return self

    def close(self) -> None:
        self.pool.close()

    @contextmanager
    def _cursor(self) -> Iterator[psycopg.Cursor]:
        try:
            with self.pool.connection() as conn, conn.cursor(row_factory=dict_row) as cursor:
                yield cursor
        except PoolTimeout:
            raise Unavailable("no database connection became available") from None
        except psycopg.OperationalError as error:
            log.warning("database error", extra={"fields": {"error": type(error).__name__}})
            raise Unavailable("the database connection failed") from None

    def ping(self) -> bool:
        try:
            with self._cursor() as cursor:
                cursor.execute("SELECT 1 AS ok")
                return cursor.fetchone() == {"ok": 1}
        except Unavailable:
            return False

    def create(self, name: str, quantity: int, created_by: str | None) -> dict[str, Any]:
        with self._cursor() as cursor:
            cursor.execute("INSERT INTO items (name, quantity, created_by) VALUES (%s, %s, %s) "
                           "RETURNING id, name, quantity, created_by, created_at", (name, quantity, created_by))
            return _item(cursor.fetchone())

    def get(self, item_id: int) -> dict[str, Any] | None:
        with self._cursor() as cursor:
            cursor.execute("SELECT id, name, quantity, created_by, created_at FROM items WHERE id = %s", (item_id,))
            row = cursor.fetchone()
            return _item(row) if row else None

    def page(self, after: int, limit: int) -> tuple[list[dict[str, Any]], bool]:
        """Keyset pagination by id: the items after ``after``, and whether more follow."""
        with self._cursor() as cursor:
            cursor.execute("SELECT id, name, quantity, created_by, created_at FROM items WHERE id > %s "
                           "ORDER BY id LIMIT %s", (after, limit + 1))
            rows = cursor.fetchall()
        return [_item(row) for row in rows[:limit]], len(rows) > limit


def _configure(conn: psycopg.Connection) -> None:
    conn.autocommit = True  # one statement per request: no transaction left open in the pool


def _item(row: dict[str, Any]) -> dict[str, Any]:
    created: datetime = row["created_at"]
    return {**row, "created_at": created.isoformat()}
