"""`python -m runtime.auth_demo_app --host H --port P`: the demo app under gunicorn.

`--healthcheck` probes a running app's /healthz instead (the container health check).
"""

from __future__ import annotations

import argparse
import sys

from runtime.auth_demo_app import contract
from runtime.auth_demo_app.app import create_app
from runtime.serving import healthcheck, serve


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=f"python -m {contract.MODULE}", description=__doc__)
    parser.add_argument("--host", default=contract.HOST, help="bind address (keep it loopback: only nginx may call it)")
    parser.add_argument("--port", type=int, default=contract.PORT)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--healthcheck", action="store_true", help="probe http://HOST:PORT/healthz and exit")
    args = parser.parse_args(argv)
    if args.healthcheck:
        return healthcheck(args.host, args.port)
    serve(create_app, args.host, args.port, workers=1, threads=args.threads, accesslog="-")
    return 0


if __name__ == "__main__":
    sys.exit(main())
