"""`python -m runtime.auth_sidecar --host H --port P`: serves the sidecar with gunicorn (threads).

`--healthcheck` probes a running sidecar's /healthz instead (the container health check: the slim
image has no curl).
"""

from __future__ import annotations

import argparse
import sys

from runtime.auth_sidecar.app import create_app
from runtime.auth_sidecar.logs import logging_config
from runtime.auth_sidecar.settings import Settings, SettingsError
from runtime.serving import healthcheck, serve


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m runtime.auth_sidecar", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="bind address (keep it loopback inside the task)")
    parser.add_argument("--port", type=int, default=9000)
    parser.add_argument("--workers", type=int, default=1, help="processes; each holds its own key cache")
    parser.add_argument("--threads", type=int, default=8, help="threads per worker")
    parser.add_argument("--healthcheck", action="store_true", help="probe http://HOST:PORT/healthz and exit")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.healthcheck:
        return healthcheck(args.host, args.port)
    try:
        settings = Settings.from_env()
    except SettingsError as error:
        print(f"auth_sidecar: configuration error: {error}", file=sys.stderr)
        return 2
    app = create_app(settings)
    serve(lambda: app, args.host, args.port, workers=args.workers, threads=args.threads, graceful_timeout=10,
          accesslog=None, logconfig_dict=logging_config(settings.log_level))
    return 0


if __name__ == "__main__":
    sys.exit(main())
