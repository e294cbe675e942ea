"""Start the items service: python -m runtime.items_service [--host H] [--port P]

Settings come from the environment (names in contract.py). The migrations run first, once, in this process
(with the master credentials, when ITEMS_DB_MASTER_PASSWORD is set; the variable is then dropped from the
environment so the workers never see it); then gunicorn serves, each worker with its own pool.
"""
from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import sys

from runtime.items_service import contract
from runtime.serving import serve

THREADS = 8
# The access log without query strings (%(U)s is the path only) and with the request's duration in ms.
ACCESS_LOG_FORMAT = "access method=%(m)s path=%(U)s status=%(s)s bytes=%(B)s ms=%(M)s remote=%(h)s"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m runtime.items_service", description="Items service")
    parser.add_argument("--host", default="0.0.0.0")
    parser.add_argument("--port", type=int, default=contract.PORT)
    args = parser.parse_args(argv)
    if not 1 <= args.port <= 65535:
        parser.error("--port must be 1-65535")
    try:
        settings = contract.Settings.from_env()
    except ValueError as error:
        parser.error(str(error))

    import psycopg

    from runtime.items_service import logs
    from runtime.items_service.migrations import migrate

    logs.configure(settings.service)
    try:
        migrate(settings)
    except psycopg.Error as error:  # the class only: a libpq message names the host and user, never the password
        logging.getLogger("items.migrations").error(
            "migrations failed; exiting (ECS starts a new task)", extra={"fields": {"error": type(error).__name__}})
        return 1
    os.environ.pop(contract.ENV_DB_MASTER_PASSWORD, None)
    settings = dataclasses.replace(settings, master_password=None)
    holder: dict = {}

    def load_app():
        from runtime.items_service.app import create_app
        from runtime.items_service.db import Database

        logs.configure(settings.service)
        holder["db"] = Database(settings).open()
        return create_app(holder["db"])

    def worker_exit(server, worker) -> None:
        if "db" in holder:
            holder["db"].close()

    serve(load_app, args.host, args.port, workers=1, threads=THREADS, timeout=30, graceful_timeout=20,
          accesslog="-", access_log_format=ACCESS_LOG_FORMAT, errorlog="-", loglevel="info",
          worker_exit=worker_exit)
    return 0


if __name__ == "__main__":
    sys.exit(main())
