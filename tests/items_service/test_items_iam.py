"""The IAM path: in ``iam`` mode the pool asks its token source for a password on every new connection, and
the real boto3 signer makes tokens of RDS's shape. The local server's app user is given the stubbed token as
its password, so a connection succeeds only if the token is what reached PostgreSQL."""
import dataclasses
import urllib.parse

import pytest
from psycopg import sql

from runtime.items_service.app import create_app
from runtime.items_service.db import Database, iam_token_source, password_source
from runtime.items_service.migrations import migrate

TOKEN = "items-db.example:5432/?Action=connect&DBUser=items_app&X-Amz-Signature=stub"


@pytest.fixture(scope="module")
def iam_settings(postgres):
    settings = postgres.settings(ITEMS_DB_AUTH="iam", ITEMS_DB_PASSWORD="", AWS_REGION="eu-west-1",
                                 ITEMS_DB_NAME="items_iam")
    with postgres.master() as conn:
        conn.execute("CREATE DATABASE items_iam")
    migrate(settings)  # iam mode: the migrations set no password
    with postgres.master() as conn:
        conn.execute(sql.SQL("ALTER ROLE items_app PASSWORD {}").format(sql.Literal(TOKEN)))
    yield settings
    with postgres.master() as conn:  # the other tests' app password back
        app_password = sql.Literal(postgres.env()["ITEMS_DB_PASSWORD"])
        conn.execute(sql.SQL("ALTER ROLE items_app PASSWORD {}").format(app_password))


def test_each_new_connection_gets_a_token_from_the_generator(postgres, iam_settings):
    calls = []

    def generator():
        calls.append(1)
        return TOKEN
    database = Database(iam_settings, password=generator).open()
    try:
        client = create_app(database).test_client()
        assert client.get("/health").status_code == 200
        first = len(calls)
        assert first >= 1
        with postgres.master() as master:
            master.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = 'items_app' "
                           "AND datname = 'items_iam'")
        assert client.get("/items").status_code == 200
        assert len(calls) > first  # the replacement connection signed a token of its own
    finally:
        database.close()


def test_a_wrong_token_is_refused_by_postgres(iam_settings):
    settings = dataclasses.replace(iam_settings, pool_timeout=0.5)
    database = Database(settings, password=lambda: TOKEN + "-expired").open()
    try:
        assert create_app(database).test_client().get("/health").status_code == 503
    finally:
        database.close()


def test_the_real_signer_makes_an_rds_token(monkeypatch, iam_settings):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    source = password_source(iam_settings)
    token = source()
    endpoint, _, query = token.partition("/?")
    assert endpoint == f"127.0.0.1:{iam_settings.port}"
    params = urllib.parse.parse_qs(query)
    assert params["Action"] == ["connect"] and params["DBUser"] == ["items_app"]
    assert params["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"] and params["X-Amz-Expires"] == ["900"]
    assert params["X-Amz-Credential"][0].startswith("AKIAIOSFODNN7EXAMPLE/")
    assert params["X-Amz-Credential"][0].endswith("/eu-west-1/rds-db/aws4_request")
    assert len(params["X-Amz-Signature"][0]) == 64


def test_the_token_source_passes_the_connection_s_host_port_user_region(iam_settings):
    seen = []

    class Client:
        def generate_db_auth_token(self, **kwargs):
            seen.append(kwargs)
            return "t"
    source = iam_token_source(iam_settings, client=Client())
    assert (source(), source()) == ("t", "t")
    assert seen == [{"DBHostname": "127.0.0.1", "Port": iam_settings.port, "DBUsername": "items_app",
                     "Region": "eu-west-1"}] * 2
