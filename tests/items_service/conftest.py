"""A throwaway PostgreSQL (Debian's binaries) for the items service's tests, on a free port in a temp dir.

initdb refuses to run as root: when the tests run as root the server runs as ``nobody``, in directories that
user owns. Stopped (``pg_ctl stop -m immediate``) and removed at the end of the session.
"""
from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import psycopg
import pytest

from runtime.items_service.contract import Settings

# Debian's postgresql package installs the server under its major version (15 on bookworm, 17 on trixie).
_INSTALLED = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name))
BIN = _INSTALLED[-1].parent if _INSTALLED else Path("/usr/lib/postgresql/missing/bin")
MASTER_PASSWORD = "master-pw-for-tests"
APP_PASSWORD = "app-pw-for-tests"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Postgres:
    def __init__(self):
        self.root = Path(tempfile.mkdtemp(prefix="items-pg-"))
        self.data, self.sockets = self.root / "data", self.root / "sockets"
        self.sockets.mkdir()
        self.port = free_port()
        self.as_user = pwd.getpwnam("nobody") if os.geteuid() == 0 else None
        if self.as_user:
            for path in (self.root, self.sockets):
                os.chown(path, self.as_user.pw_uid, self.as_user.pw_gid)
        pwfile = self.root / "pwfile"
        pwfile.write_text(MASTER_PASSWORD + "\n")
        if self.as_user:
            os.chown(pwfile, self.as_user.pw_uid, self.as_user.pw_gid)
        self.run(BIN / "initdb", "-D", self.data, "-U", "items_admin", f"--pwfile={pwfile}",
                 "--auth-host=scram-sha-256", "--auth-local=scram-sha-256", "-E", "UTF8", "--no-sync")
        self.run(BIN / "pg_ctl", "-D", self.data, "-l", self.root / "log", "-w", "-t", "20", "start", "-o",
                 f"-p {self.port} -k {self.sockets} -c listen_addresses=127.0.0.1 -c fsync=off")

    def run(self, *command) -> None:
        user = self.as_user

        def drop() -> None:
            if user:
                os.setgid(user.pw_gid)
                os.setuid(user.pw_uid)
        subprocess.run([str(c) for c in command], check=True, preexec_fn=drop, cwd=self.root,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                       env={"PATH": os.environ["PATH"], "LANG": "C.UTF-8"})

    def stop(self) -> None:
        try:
            self.run(BIN / "pg_ctl", "-D", self.data, "-m", "immediate", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def master(self, dbname: str = "postgres") -> psycopg.Connection:
        return psycopg.connect(host="127.0.0.1", port=self.port, user="items_admin", password=MASTER_PASSWORD,
                               dbname=dbname, autocommit=True)

    def env(self, **extra: str) -> dict[str, str]:
        return {"ITEMS_DB_HOST": "127.0.0.1", "ITEMS_DB_PORT": str(self.port), "ITEMS_DB_AUTH": "password",
                "ITEMS_DB_PASSWORD": APP_PASSWORD, "ITEMS_DB_MASTER_PASSWORD": MASTER_PASSWORD,
                "ITEMS_DB_SSLMODE": "disable", "ITEMS_POOL_TIMEOUT_SECONDS": "2", **extra}

    def settings(self, **extra: str) -> Settings:
        return Settings.from_env(self.env(**extra))


@pytest.fixture(scope="session")
def postgres():
    assert (BIN / "initdb").exists(), "PostgreSQL is missing (Debian package postgresql; .ci/setup installs it)"
    server = Postgres()
    with server.master() as conn:
        conn.execute("CREATE DATABASE items")
    yield server
    server.stop()
