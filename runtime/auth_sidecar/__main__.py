"""`python -m runtime.auth_sidecar --host H --port P`: serves the sidecar with gunicorn (threads).

`--healthcheck` probes a running sidecar's /healthz instead (the container health check: the slim
image has no curl).
"""

from __future__ import annotations

import argparse
import sys
import urllib.request

from gunicorn.app.base import BaseApplication

from runtime.auth_sidecar.app import create_app
from runtime.auth_sidecar.logs import logging_config
from runtime.auth_sidecar.settings import Settings, SettingsError


class SidecarServer(BaseApplication):
    def __init__(self, app, options: dict):
        self._app = app
        self._options = options
        super().__init__()

    def load_config(self):
        for name, value in self._options.items():
            self.cfg.set(name, value)

    def load(self):
        return self._app


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m runtime.auth_sidecar", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="bind address (keep it loopback inside the task)")
    parser.add_argument("--port", type=int, default=9000)
    parser.add_argument("--workers", type=int, default=1, help="processes; each holds its own key cache")
    parser.add_argument("--threads", type=int, default=8, help="threads per worker")
    parser.add_argument("--healthcheck", action="store_true", help="probe http://HOST:PORT/healthz and exit")
    return parser.parse_args(argv)


def healthcheck(host: str, port: int) -> int:
    try:
        with urllib.request.urlopen(f"http://{host}:{port}/healthz", timeout=2) as response:
            return 0 if response.status == 200 else 1
    except OSError:
        return 1


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.healthcheck:
        return healthcheck(args.host, args.port)
    try:
        settings = Settings.from_env()
    except SettingsError as error:
        print(f"auth_sidecar: configuration error: {error}", file=sys.stderr)
        return 2
    options = {
        "bind": f"{args.host}:{args.port}",
        "workers": args.workers,
        "threads": args.threads,
        "worker_class": "gthread",
        # Longer than nginx's upstream keepalive_timeout, so nginx always closes idle connections
        # first and never reuses one the sidecar is closing (that would surface as a 503).
        "keepalive": 75,
        "graceful_timeout": 10,
        "accesslog": None,
        "control_socket_disable": True,  # no admin socket in a home directory the container lacks
        "logconfig_dict": logging_config(settings.log_level),
    }
    SidecarServer(create_app(settings), options).run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
