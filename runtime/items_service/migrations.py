"""Schema migrations, run at start with the master credentials, before the service takes requests.

Numbered SQL steps; each applied step is a row of ``schema_migrations``, written in the step's own
transaction, so a step runs once however often (and by however many tasks) the migrations run. The whole
run holds a PostgreSQL advisory lock: several tasks starting at once take turns, and the later ones find
every step applied.

After the steps, the app user is put in place (idempotent, on every run): created if missing with LOGIN and
nothing else, ``GRANT rds_iam`` when that role exists (RDS has it; a local PostgreSQL does not, and nothing
stands in for it), the password set only in ``password`` mode (local runs), and exactly the privileges the
request path needs: CONNECT, USAGE on the schema, SELECT and INSERT on ``items``, USAGE on its sequence.
No UPDATE, DELETE, TRUNCATE or DDL.
"""
from __future__ import annotations

import logging

import psycopg
from psycopg import sql

from .contract import Settings
from .db import connection_kwargs

log = logging.getLogger("items.migrations")
LOCK_KEY = 0x17E35  # pg_advisory_lock key of this service's migrations (any constant; the same in every task)

STEPS: tuple[tuple[int, str, str], ...] = (
    (1, "items table", """
        CREATE TABLE items (
            id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            name text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
            quantity integer NOT NULL CHECK (quantity BETWEEN 0 AND 1000000000),
            created_by text CHECK (char_length(created_by) <= 256),
            created_at timestamptz NOT NULL DEFAULT now()
        )"""),
)


def migrate(settings: Settings) -> list[int]:
    """Applies the steps not yet applied and grants the app user its privileges; returns the versions applied
    by this call. Skipped (returns []) when no master password is set."""
    if not settings.master_password:
        log.info("no master password: migrations skipped")
        return []
    kwargs = connection_kwargs(settings, settings.master_user, settings.master_password)
    with psycopg.connect(**kwargs, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (LOCK_KEY,))
        try:
            applied = _apply_steps(conn)
            _app_user(conn, settings)
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (LOCK_KEY,))
    log.info("migrations done", extra={"fields": {"applied": applied, "steps": len(STEPS)}})
    return applied


def _apply_steps(conn: psycopg.Connection) -> list[int]:
    conn.execute("CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, name text NOT NULL, "
                 "applied_at timestamptz NOT NULL DEFAULT now())")
    done = {row[0] for row in conn.execute("SELECT version FROM schema_migrations")}
    applied = []
    for version, name, statement in STEPS:
        if version in done:
            continue
        with conn.transaction():
            conn.execute(statement)
            conn.execute("INSERT INTO schema_migrations (version, name) VALUES (%s, %s)", (version, name))
        log.info("migration applied", extra={"fields": {"version": version, "name": name}})
        applied.append(version)
    return applied


def _app_user(conn: psycopg.Connection, settings: Settings) -> None:
    user = sql.Identifier(settings.user)
    exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (settings.user,)).fetchone()
    if not exists:
        try:
            conn.execute(sql.SQL("CREATE ROLE {} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE").format(user))
        except psycopg.errors.DuplicateObject:
            pass  # another database's migrations created it meanwhile (roles are cluster-wide)
    if conn.execute("SELECT 1 FROM pg_roles WHERE rolname = 'rds_iam'").fetchone():
        conn.execute(sql.SQL("GRANT rds_iam TO {}").format(user))
    if settings.auth == "password" and settings.password:
        # A literal: ALTER ROLE takes no parameters. The statement is never logged.
        conn.execute(sql.SQL("ALTER ROLE {} PASSWORD {}").format(user, sql.Literal(settings.password)))
    sequence = conn.execute("SELECT pg_get_serial_sequence('items', 'id')").fetchone()[0]
    for statement in (
        sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(sql.Identifier(settings.dbname), user),
        sql.SQL("GRANT USAGE ON SCHEMA public TO {}").format(user),
        sql.SQL("GRANT SELECT, INSERT ON items TO {}").format(user),
        sql.SQL("GRANT USAGE ON SEQUENCE {} TO {}").format(sql.SQL(sequence), user),
    ):
        conn.execute(statement)
