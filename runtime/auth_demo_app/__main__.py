"""`python -m runtime.auth_demo_app --host H --port P`: the demo app under gunicorn.

`--healthcheck` probes a running app's /healthz instead (the container health check).
"""

from __future__ import annotations

import argparse
import sys
import urllib.request

from gunicorn.app.base import BaseApplication

from runtime.auth_demo_app.app import create_app


class DemoServer(BaseApplication):
    def __init__(self, app, options: dict):
        self._app = app
        self._options = options
        super().__init__()

    def load_config(self):
        for name, value in self._options.items():
            self.cfg.set(name, value)

    def load(self):
        return self._app


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m runtime.auth_demo_app", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="bind address (keep it loopback: only nginx may call it)")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--healthcheck", action="store_true", help="probe http://HOST:PORT/healthz and exit")
    args = parser.parse_args(argv)
    if args.healthcheck:
        try:
            with urllib.request.urlopen(f"http://{args.host}:{args.port}/healthz", timeout=2) as response:
                return 0 if response.status == 200 else 1
        except OSError:
            return 1
    options = {
        "bind": f"{args.host}:{args.port}",
        "workers": 1,
        "threads": args.threads,
        "worker_class": "gthread",
        "keepalive": 75,
        "accesslog": "-",
        "control_socket_disable": True,
    }
    DemoServer(create_app(), options).run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
