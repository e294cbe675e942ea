"""The items API against a real PostgreSQL: CRUD, pagination, validation, a dropped connection, the app user's
privileges, 503s when the database is unreachable, and the entrypoint (migrations, then gunicorn)."""
import json
import os
import subprocess
import sys
import time
import urllib.request

import psycopg
import pytest

from runtime.items_service.app import create_app
from runtime.items_service.db import Database
from runtime.items_service.migrations import migrate

from .conftest import APP_PASSWORD, free_port


@pytest.fixture(scope="module")
def db(postgres):
    migrate(postgres.settings())
    database = Database(postgres.settings()).open()
    database.pool.wait(timeout=5)
    yield database
    database.close()


@pytest.fixture(scope="module")
def client(db):
    return create_app(db).test_client()


def post(client, body, **headers):
    return client.post("/items", data=json.dumps(body), content_type="application/json", headers=headers)


def test_create_then_get(client):
    created = post(client, {"name": "widget", "quantity": 3}, **{"x-caller-sub": "user-123"})
    assert created.status_code == 201
    item = created.get_json()
    assert (item["name"], item["quantity"], item["created_by"]) == ("widget", 3, "user-123")
    assert created.headers["Location"] == f"/items/{item['id']}"
    fetched = client.get(created.headers["Location"])
    assert fetched.status_code == 200 and fetched.get_json() == item
    assert post(client, {"name": "anonymous", "quantity": 0}).get_json()["created_by"] is None


def test_keyset_pagination_walks_every_item_once(client):
    ids = {post(client, {"name": f"page-{n}", "quantity": n}).get_json()["id"] for n in range(7)}
    seen, url = [], "/items?limit=3"
    while url:
        page = client.get(url).get_json()
        assert len(page["items"]) <= 3
        seen += [item["id"] for item in page["items"]]
        url = page["next"]
    assert seen == sorted(seen) and len(seen) == len(set(seen)) and ids <= set(seen)
    assert len(client.get("/items").get_json()["items"]) == min(20, len(seen))
    last = client.get(f"/items?after={max(seen)}").get_json()
    assert last == {"items": [], "next": None}


@pytest.mark.parametrize("body, message", [
    ({"quantity": 1}, "name must be a string of 1 to 200 characters"),
    ({"name": "", "quantity": 1}, "name must be a string of 1 to 200 characters"),
    ({"name": "   ", "quantity": 1}, "not blank"),
    ({"name": "x" * 201, "quantity": 1}, "name must be a string of 1 to 200 characters"),
    ({"name": 5, "quantity": 1}, "name must be a string"),
    ({"name": "a\u0000b", "quantity": 1}, "name must not contain NUL"),
    ({"name": "a"}, "quantity must be a whole number from 0 to 1000000000"),
    ({"name": "a", "quantity": -1}, "quantity must be a whole number from 0 to 1000000000"),
    ({"name": "a", "quantity": 10**9 + 1}, "quantity must be a whole number"),
    ({"name": "a", "quantity": 1.5}, "quantity must be a whole number"),
    ({"name": "a", "quantity": "3"}, "quantity must be a whole number"),
    ({"name": "a", "quantity": True}, "quantity must be a whole number"),
    ({"name": "a", "quantity": 1, "id": 9, "owner": "x"}, "unknown fields: id, owner (allowed: name, quantity)"),
    (["name", "quantity"], "the body must be a JSON object"),
])
def test_invalid_items_are_400_with_the_reason(client, body, message):
    response = post(client, body)
    assert response.status_code == 400 and message in response.get_json()["error"]


def test_malformed_oversized_and_wrong_type_bodies(client):
    broken = client.post("/items", data="{not json", content_type="application/json")
    assert broken.status_code == 400 and broken.get_json() == {"error": "the body is not valid JSON"}
    form = client.post("/items", data="name=a", content_type="application/x-www-form-urlencoded")
    assert form.status_code == 415 and "application/json" in form.get_json()["error"]
    huge = client.post("/items", data=json.dumps({"name": "a" * 5000, "quantity": 1}), content_type="application/json")
    assert huge.status_code == 413 and huge.get_json() == {"error": "the body is larger than 4096 bytes"}
    caller = post(client, {"name": "a", "quantity": 1}, **{"x-caller-sub": "x" * 257})
    assert caller.status_code == 400 and "x-caller-sub" in caller.get_json()["error"]


@pytest.mark.parametrize("url, status, message", [
    ("/items/abc", 400, "the item id must be a whole number"),
    ("/items/-1", 400, "the item id must be a whole number"),
    ("/items/0", 400, "the item id must be a whole number"),
    ("/items/99999999999999999999", 400, "the item id must be a whole number"),
    ("/items/987654321", 404, "no item 987654321"),
    ("/items?limit=0", 400, "limit must be a whole number from 1 to 100"),
    ("/items?limit=101", 400, "limit must be a whole number from 1 to 100"),
    ("/items?limit=ten", 400, "limit must be a whole number"),
    ("/items?after=-5", 400, "after must be a whole number from 0"),
])
def test_bad_ids_and_query_arguments(client, url, status, message):
    response = client.get(url)
    assert response.status_code == status and message in response.get_json()["error"]


def test_other_methods_and_routes_answer_json(client):
    assert client.delete("/items/1").status_code == 405 and "error" in client.delete("/items/1").get_json()
    assert client.get("/nowhere").status_code == 404 and "error" in client.get("/nowhere").get_json()


def test_a_connection_killed_server_side_is_replaced_not_a_500(postgres, db, client):
    assert client.get("/health").status_code == 200
    with postgres.master() as master:
        killed = master.execute("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                                "WHERE usename = 'items_app'").fetchone()[0]
    assert killed >= 1
    for _ in range(3):
        assert client.get("/items?limit=1").status_code == 200
    assert post(client, {"name": "after the kill", "quantity": 1}).status_code == 201


def test_the_app_user_may_only_read_and_insert(postgres, db):
    settings = postgres.settings()
    with psycopg.connect(host=settings.host, port=settings.port, dbname="items", user="items_app",
                         password=APP_PASSWORD, autocommit=True) as conn:
        assert conn.execute("SELECT count(*) FROM items").fetchone()[0] >= 1
        for statement in ("DELETE FROM items", "UPDATE items SET quantity = 0", "DROP TABLE items",
                          "TRUNCATE items", "CREATE TABLE mine (x int)", "DELETE FROM schema_migrations"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(statement)


def test_unreachable_database_is_503_with_retry_after(postgres):
    settings = postgres.settings(ITEMS_DB_PORT=str(free_port()), ITEMS_POOL_TIMEOUT_SECONDS="0.3")
    database = Database(settings).open()
    try:
        client = create_app(database).test_client()
        for response in (client.get("/health"), client.get("/items"), post(client, {"name": "a", "quantity": 1})):
            assert response.status_code == 503 and response.headers["Retry-After"] == "2"
            assert "retry" in response.get_json()["error"]
    finally:
        database.close()


def test_the_entrypoint_migrates_then_serves(postgres, db):
    port = free_port()
    env = {**os.environ, **postgres.env(), "PYTHONPATH": os.getcwd()}
    server = subprocess.Popen([sys.executable, "-m", "runtime.items_service", "--host", "127.0.0.1", "--port",
                               str(port)], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline, status = time.monotonic() + 15, None
        while time.monotonic() < deadline and status != 200:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1) as response:
                    status = response.status
            except OSError:
                time.sleep(0.1)
        assert status == 200
        request = urllib.request.Request(f"http://127.0.0.1:{port}/items", method="POST",
                                         data=b'{"name": "served", "quantity": 2}',
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=5) as response:
            assert response.status == 201 and json.load(response)["name"] == "served"
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/items?limit=7&after=1", timeout=5) as response:
            assert response.status == 200
    finally:
        server.terminate()
        output, _ = server.communicate(timeout=20)
    logged = output.decode()
    assert "migrations done" in logged and "path=/items status=200" in logged
    assert "limit=7" not in logged  # access lines carry the path, never the query string
    for secret in (postgres.env()["ITEMS_DB_PASSWORD"], postgres.env()["ITEMS_DB_MASTER_PASSWORD"]):
        assert secret not in logged


def test_the_entrypoint_exits_when_the_database_is_unreachable(postgres):
    env = {**os.environ, **postgres.env(ITEMS_DB_PORT=str(free_port())), "PYTHONPATH": os.getcwd()}
    done = subprocess.run([sys.executable, "-m", "runtime.items_service", "--port", str(free_port())], env=env,
                          capture_output=True, timeout=30)
    logged = done.stderr.decode()
    assert done.returncode == 1 and '"error": "OperationalError"' in logged and "Traceback" not in logged
    assert postgres.env()["ITEMS_DB_MASTER_PASSWORD"] not in logged


def test_the_entrypoint_refuses_invalid_settings_naming_the_variable(postgres):
    env = {**os.environ, **postgres.env(ITEMS_DB_AUTH="ldap"), "PYTHONPATH": os.getcwd()}
    done = subprocess.run([sys.executable, "-m", "runtime.items_service"], env=env, capture_output=True, timeout=30)
    assert done.returncode == 2 and "ITEMS_DB_AUTH must be one of iam, password" in done.stderr.decode()
