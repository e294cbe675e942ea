"""Migrations: applied once however often, and however many at once, they run; skipped without a master
password; no stand-in for RDS's rds_iam role is created locally."""
import threading

import pytest

from runtime.items_service.migrations import STEPS, migrate


@pytest.fixture(scope="module")
def fresh_database(postgres):
    def make(name):
        with postgres.master() as conn:
            conn.execute(f"CREATE DATABASE {name}")
        return postgres.settings(ITEMS_DB_NAME=name)
    return make


def applied_rows(postgres, dbname):
    with postgres.master(dbname) as conn:
        return conn.execute("SELECT version FROM schema_migrations ORDER BY version").fetchall()


def test_running_twice_applies_each_step_once(postgres, fresh_database):
    settings = fresh_database("items_twice")
    assert migrate(settings) == [version for version, _, _ in STEPS]
    assert migrate(settings) == []
    assert applied_rows(postgres, "items_twice") == [(version,) for version, _, _ in STEPS]


def test_concurrent_runs_take_turns_under_the_advisory_lock(postgres, fresh_database):
    settings = fresh_database("items_race")
    results, errors, start = [], [], threading.Barrier(3)

    def run():
        start.wait()
        try:
            results.append(migrate(settings))
        except Exception as error:  # surfaced below: a race would raise DuplicateTable here
            errors.append(error)
    threads = [threading.Thread(target=run) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)
    assert errors == []
    assert sorted(results) == [[], [], [version for version, _, _ in STEPS]]
    assert applied_rows(postgres, "items_race") == [(version,) for version, _, _ in STEPS]


def test_without_a_master_password_nothing_runs(postgres, fresh_database):
    fresh_database("items_skipped")
    assert migrate(postgres.settings(ITEMS_DB_NAME="items_skipped", ITEMS_DB_MASTER_PASSWORD="")) == []
    with postgres.master("items_skipped") as conn:
        assert conn.execute("SELECT to_regclass('schema_migrations')").fetchone() == (None,)


def test_the_app_user_is_a_plain_login_role_and_no_fake_rds_iam_exists(postgres, fresh_database):
    migrate(fresh_database("items_roles"))
    with postgres.master() as conn:
        role = conn.execute("SELECT rolcanlogin, rolsuper, rolcreatedb, rolcreaterole FROM pg_roles "
                            "WHERE rolname = 'items_app'").fetchone()
        assert role == (True, False, False, False)
        assert conn.execute("SELECT count(*) FROM pg_roles WHERE rolname = 'rds_iam'").fetchone() == (0,)
