"""Start the Bean Counter under gunicorn: python -m runtime.bean_counter --host H --port P [--workers N]

Settings come from the environment (names in contract.py): BUCKET (for /countme), BEAN_COUNTER_MAX_BYTES,
BEAN_COUNTER_MAX_PIXELS, BEAN_COUNTER_DECODE_BUDGET_MB, WEB_CONCURRENCY (default worker count).
"""

from __future__ import annotations

import argparse
import os

# One thread per worker for the numeric libraries: workers are the unit of parallelism, and a
# 0.25 vCPU task gains nothing from thread pools (set before numpy and OpenCV load).
for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

from runtime.bean_counter import contract  # noqa: E402
from runtime.serving import serve  # noqa: E402


def load_app():
    """Runs in each worker: OpenCV's own thread pool off, one thread per worker."""
    import logging

    import cv2

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    cv2.setNumThreads(1)
    from runtime.bean_counter.app import create_app

    return create_app()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m runtime.bean_counter",
                                     description="Bean Counter coin-value service")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=contract.PORT, help="0 picks a free port (printed in the log)")
    parser.add_argument("--workers", type=int, default=int(os.environ.get(contract.ENV_WORKERS, "2")))
    parser.add_argument("--threads", type=int, default=contract.THREADS_PER_WORKER, help="threads per worker")
    parser.add_argument("--timeout", type=int, default=30, help="seconds before a stuck worker is restarted")
    args = parser.parse_args(argv)
    if not 0 <= args.port <= 65535:
        parser.error("--port must be 0-65535")
    if not 1 <= args.workers <= contract.MAX_WORKERS or args.threads < 1:
        parser.error(f"--workers must be 1-{contract.MAX_WORKERS} and --threads at least 1")

    serve(load_app, args.host, args.port, workers=args.workers, threads=args.threads, timeout=args.timeout,
          graceful_timeout=20,  # ECS sends SIGTERM, then SIGKILL after its stop timeout (30 s)
          accesslog="-", errorlog="-", loglevel="info", limit_request_line=8190,
          worker_tmp_dir="/dev/shm" if os.path.isdir("/dev/shm") else None)


if __name__ == "__main__":
    main()
