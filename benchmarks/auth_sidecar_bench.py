"""Auth sidecar figures: in-process validations with a cached key, then requests end to end through
real nginx (auth_request) and the sidecar on loopback, next to the same requests sent straight to
the app (the baseline without the auth front).

Run from the repo root:  .venv/bin/python -m benchmarks.auth_sidecar_bench [--validations N] [--seconds S]
Needs nginx and envsubst (Debian: nginx, gettext-base).
"""

from __future__ import annotations

import argparse
import http.client
import statistics
import tempfile
import threading
import time
from pathlib import Path

from runtime.auth_sidecar.validator import AlbPublicKeys, AlbTokenValidator
from tests.auth_sidecar.alb_auth_support import (
    ALB_ARN,
    KeyServer,
    SigningKey,
    alb_token,
    start_demo_app,
    start_nginx,
    start_sidecar,
)

P50_TARGET_MS = 0.2
P99_TARGET_MS = 1.0


def percentile(sorted_values: list[float], fraction: float) -> float:
    return sorted_values[min(len(sorted_values) - 1, int(fraction * len(sorted_values)))]


def bench_in_process(key_server: KeyServer, key: SigningKey, count: int) -> None:
    public_keys = AlbPublicKeys(key_server.url_template, "eu-west-1", cache_size=32, timeout_seconds=2)
    validator = AlbTokenValidator(public_keys, alb_arn=ALB_ARN, valid_domains=frozenset({"example.com"}), leeway_seconds=10)
    token = alb_token(key)

    started = time.perf_counter()
    validator.validate(token)
    first_ms = (time.perf_counter() - started) * 1000

    for _ in range(200):  # warm-up
        validator.validate(token)
    timings_ms = []
    total_started = time.perf_counter()
    for _ in range(count):
        started = time.perf_counter_ns()
        validator.validate(token)
        timings_ms.append((time.perf_counter_ns() - started) / 1e6)
    total_s = time.perf_counter() - total_started
    timings_ms.sort()
    p50, p99 = percentile(timings_ms, 0.50), percentile(timings_ms, 0.99)

    print(f"In-process validation, cached key ({count} validations, one thread)")
    print(f"  validations/s      {count / total_s:10.0f}")
    print(f"  p50 per validation {p50:10.3f} ms   target < {P50_TARGET_MS} ms   {'OK' if p50 < P50_TARGET_MS else 'MISSED'}")
    print(f"  p99 per validation {p99:10.3f} ms   target < {P99_TARGET_MS} ms   {'OK' if p99 < P99_TARGET_MS else 'MISSED'}")
    print(f"  first validation (key fetched from the loopback key server) {first_ms:.2f} ms")


def load(host_port: str, headers: dict, seconds: float, concurrency: int, max_requests: int) -> dict:
    """Keep-alive GETs from `concurrency` threads until the time or request budget runs out."""
    host, port = host_port.split(":")
    latencies_ms: list[float] = []
    statuses: dict[int, int] = {}
    lock = threading.Lock()
    deadline = time.perf_counter() + seconds
    budget = iter(range(max_requests))

    def client() -> None:
        connection = http.client.HTTPConnection(host, int(port), timeout=10)
        mine, my_statuses = [], {}
        while time.perf_counter() < deadline:
            with lock:
                if next(budget, None) is None:
                    break
            started = time.perf_counter_ns()
            connection.request("GET", "/bench", headers=headers)
            response = connection.getresponse()
            response.read()
            mine.append((time.perf_counter_ns() - started) / 1e6)
            my_statuses[response.status] = my_statuses.get(response.status, 0) + 1
        connection.close()
        with lock:
            latencies_ms.extend(mine)
            for status, n in my_statuses.items():
                statuses[status] = statuses.get(status, 0) + n

    started = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    latencies_ms.sort()
    return {
        "requests": len(latencies_ms),
        "rps": len(latencies_ms) / elapsed,
        "p50": percentile(latencies_ms, 0.50),
        "p99": percentile(latencies_ms, 0.99),
        "statuses": statuses,
    }


def bench_end_to_end(key_server: KeyServer, key: SigningKey, seconds: float, concurrency: int, max_requests: int) -> None:
    with tempfile.TemporaryDirectory(prefix="auth-bench-") as tmp:
        work_dir = Path(tmp)
        processes = []
        try:
            app, app_address = start_demo_app(work_dir)
            processes.append(app)
            sidecar, sidecar_address = start_sidecar(work_dir, key_url_template=key_server.url_template)
            processes.append(sidecar)
            nginx, front_url = start_nginx(work_dir, sidecar=sidecar_address, app=app_address)
            processes.append(nginx)
            token_headers = {"X-Amzn-Oidc-Data": alb_token(key)}
            front_address = front_url.removeprefix("http://")

            rows = [
                ("app directly (baseline, no auth)", load(app_address, {}, seconds, concurrency, max_requests)),
                ("nginx + sidecar, valid token -> app", load(front_address, token_headers, seconds, concurrency, max_requests)),
                ("nginx + sidecar, no token -> 401", load(front_address, {}, seconds, concurrency, max_requests)),
            ]
        finally:
            for process in reversed(processes):
                process.stop()

    print(f"\nEnd to end on loopback ({concurrency} keep-alive clients, up to {seconds:g} s or {max_requests} requests each row;")
    print("clients, nginx, sidecar and app share this machine's cores)")
    print(f"  {'path':38} {'requests':>8} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8}  statuses")
    for name, row in rows:
        print(f"  {name:38} {row['requests']:8d} {row['rps']:8.0f} {row['p50']:8.2f} {row['p99']:8.2f}  {row['statuses']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--validations", type=int, default=20_000)
    parser.add_argument("--seconds", type=float, default=4.0, help="time budget per end-to-end row")
    parser.add_argument("--requests", type=int, default=10_000, help="request budget per end-to-end row")
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args()

    key_server = KeyServer()
    try:
        key = key_server.publish(SigningKey())
        bench_in_process(key_server, key, args.validations)
        bench_end_to_end(key_server, key, args.seconds, args.concurrency, args.requests)
    finally:
        key_server.stop()


if __name__ == "__main__":
    main()
