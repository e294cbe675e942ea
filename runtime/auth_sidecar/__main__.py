"""`python -m runtime.auth_sidecar [--host H] [--port P]`: serves the sidecar with waitress.

One process with a few threads (the threads wait on the key endpoint, rarely; validation itself holds the CPU
for a fraction of a millisecond), which fits a 0.25 vCPU share; nginx keeps its connections alive.
`--healthcheck` probes a running sidecar's /healthz instead (the container health check: the slim image has
no curl).
"""

from __future__ import annotations

import argparse
import logging.config
import signal
import sys
import urllib.request

from runtime.auth_sidecar import contract
from runtime.auth_sidecar.app import create_app
from runtime.auth_sidecar.logs import logging_config
from runtime.auth_sidecar.metrics import Metrics
from runtime.auth_sidecar.settings import Settings, SettingsError


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog=f"python -m {contract.MODULE}", description=__doc__)
    parser.add_argument("--host", default=contract.HOST, help="bind address (keep it loopback inside the task)")
    parser.add_argument("--port", type=int, default=contract.PORT)
    parser.add_argument("--threads", type=int, default=4, help="request threads of the one process")
    parser.add_argument("--healthcheck", action="store_true", help="probe http://HOST:PORT/healthz and exit")
    return parser.parse_args(argv)


def healthcheck(host: str, port: int) -> int:
    try:
        with urllib.request.urlopen(f"http://{host}:{port}{contract.HEALTH_PATH}", timeout=2) as response:
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
    logging.config.dictConfig(logging_config(settings.log_level))
    from waitress import serve  # the server is needed to serve, not to probe

    metrics = Metrics(settings.metrics_service) if settings.metrics_interval_seconds > 0 else None
    if metrics is not None:
        metrics.start(settings.metrics_interval_seconds)
    signal.signal(signal.SIGTERM, _stop)  # ECS stops containers with SIGTERM: finish, flush the metrics
    try:
        serve(create_app(settings, metrics), host=args.host, port=args.port, threads=args.threads,
              ident=None, _quiet=True)
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        if metrics is not None:
            metrics.stop()
    return 0


def _stop(signum, frame) -> None:
    raise SystemExit(0)


if __name__ == "__main__":
    sys.exit(main())
