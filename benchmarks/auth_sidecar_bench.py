"""Auth sidecar figures, each beside its baseline from the same run.

1. In-process: a full validation (cached key) against a decision served from the per-token cache; with and
   without counting the metrics.
2. /auth over HTTP on the sidecar itself (keep-alive, as nginx calls it): metrics on against metrics off.
3. End to end on loopback through real nginx (auth_request, the image's entrypoint and template) and the
   sidecar, against the same requests sent straight to the app: the auth hop's added latency (target: under
   1 ms at p50, under 3 ms at p99) and throughput (target: within 20 % of the app alone). Rows run in
   interleaved rounds, so a busy neighbour slows every row alike.

Run from the repo root:  .venv/bin/python -m benchmarks.auth_sidecar_bench [--rounds N] [--seconds S]
Needs nginx, its set-misc module and envsubst (Debian: nginx libnginx-mod-http-set-misc gettext-base).
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from runtime.auth_sidecar.metrics import Metrics
from runtime.auth_sidecar.validator import AlbPublicKeys, AlbTokenValidator
from tests.auth_sidecar.alb_auth_support import (
    ALB_ARN,
    KeyServer,
    SigningKey,
    alb_token,
    start_demo_app,
    start_nginx,
    start_sidecar,
    user_claims,
)

ADDED_P50_TARGET_MS, ADDED_P99_TARGET_MS, THROUGHPUT_TARGET = 1.0, 3.0, 0.80


def percentile(sorted_values: list[float], fraction: float) -> float:
    return sorted_values[min(len(sorted_values) - 1, int(fraction * len(sorted_values)))]


def timed(functions: dict[str, Callable[[], object]], count: int, chunk: int = 500) -> dict[str, tuple]:
    """(calls per second, p50 ms, p99 ms) of ``count`` calls of each function, in interleaved chunks after a
    warm-up, so that a busy neighbour slows every row alike."""
    timings: dict[str, list[float]] = {name: [] for name in functions}
    totals = dict.fromkeys(functions, 0.0)
    for function in functions.values():
        for _ in range(200):
            function()
    for _ in range(0, count, chunk):
        for name, function in functions.items():
            started = time.perf_counter()
            for _ in range(chunk):
                call_started = time.perf_counter_ns()
                function()
                timings[name].append((time.perf_counter_ns() - call_started) / 1e6)
            totals[name] += time.perf_counter() - started
    figures = {}
    for name, values in timings.items():
        values.sort()
        figures[name] = (len(values) / totals[name], percentile(values, 0.5), percentile(values, 0.99))
    return figures


def bench_in_process(key_server: KeyServer, key: SigningKey, count: int) -> None:
    def validator(decision_seconds: float, metrics: Metrics | None = None) -> AlbTokenValidator:
        keys = AlbPublicKeys(key_server.url_template, "eu-west-1", cache_size=32, ttl_seconds=300,
                             timeout_seconds=2, metrics=metrics)
        return AlbTokenValidator(keys, alb_arn=ALB_ARN, valid_domains=frozenset({"example.com"}), leeway_seconds=10,
                                 decision_cache_seconds=decision_seconds)

    token = alb_token(key)
    full, cached = validator(0), validator(30)
    metrics = Metrics("bench", write=lambda line: None)
    counted = validator(0, metrics)
    full.validate(token)
    counted.validate(token)

    def validate_and_count() -> None:
        counted.validate(token)
        metrics.success()

    rows = timed({"full validation, cached key (baseline)": lambda: full.validate(token),
                  "decision from the per-token cache": lambda: cached.validate(token),
                  "full validation + metrics counted": validate_and_count}, count).items()
    print(f"In-process ({count} calls per row, one thread)")
    print(f"  {'':42} {'calls/s':>9} {'p50 ms':>8} {'p99 ms':>8}")
    for name, (rate, p50, p99) in rows:
        print(f"  {name:42} {rate:9.0f} {p50:8.4f} {p99:8.4f}")


class Load:
    """Keep-alive GETs from ``concurrency`` threads; each request takes its headers from ``headers()``."""

    def __init__(self, address: str, path: str, headers: Callable[[], dict], concurrency: int):
        self.address, self.path, self.headers, self.concurrency = address, path, headers, concurrency
        self.latencies_ms: list[float] = []
        self.statuses: dict[int, int] = {}
        self.elapsed = 0.0

    def run(self, seconds: float, max_requests: int) -> None:
        host, port = self.address.split(":")
        lock, deadline, budget = threading.Lock(), time.perf_counter() + seconds, iter(range(max_requests))

        def client() -> None:
            connection = http.client.HTTPConnection(host, int(port), timeout=10)
            mine, statuses = [], {}
            while time.perf_counter() < deadline:
                with lock:
                    if next(budget, None) is None:
                        break
                    headers = self.headers()
                started = time.perf_counter_ns()
                connection.request("GET", self.path, headers=headers)
                response = connection.getresponse()
                response.read()
                mine.append((time.perf_counter_ns() - started) / 1e6)
                statuses[response.status] = statuses.get(response.status, 0) + 1
            connection.close()
            with lock:
                self.latencies_ms += mine
                for status, n in statuses.items():
                    self.statuses[status] = self.statuses.get(status, 0) + n

        started = time.perf_counter()
        threads = [threading.Thread(target=client) for _ in range(self.concurrency)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        self.elapsed += time.perf_counter() - started

    def figures(self) -> tuple[int, float, float, float]:
        latencies = sorted(self.latencies_ms)
        return len(latencies), len(latencies) / self.elapsed, percentile(latencies, 0.5), percentile(latencies, 0.99)


def interleaved(rows: dict[str, Load], rounds: int, seconds: float, max_requests: int) -> None:
    for _ in range(rounds):
        for load in rows.values():
            load.run(seconds, max_requests)


def print_rows(title: str, rows: dict[str, Load], baseline: str) -> None:
    print(f"\n{title}")
    print(f"  {'':44} {'requests':>8} {'req/s':>7} {'p50 ms':>7} {'p99 ms':>7}  statuses")
    for name, load in rows.items():
        n, rate, p50, p99 = load.figures()
        print(f"  {name:44} {n:8d} {rate:7.0f} {p50:7.2f} {p99:7.2f}  {load.statuses}")
    _, base_rate, base_p50, base_p99 = rows[baseline].figures()
    return base_rate, base_p50, base_p99


def bench_sidecar_http(work_dir: Path, key_server: KeyServer, key: SigningKey, args: argparse.Namespace) -> None:
    token = {"X-Amzn-Oidc-Data": alb_token(key)}
    sidecars = [start_sidecar(work_dir, key_url_template=key_server.url_template, ENV_METRICS_INTERVAL_SECONDS=value)
                for value in ("0", "60")]
    try:
        rows = {"/auth, metrics off (baseline)": Load(sidecars[0][1], "/auth", lambda: token, args.concurrency),
                "/auth, metrics on (EMF once a minute)": Load(sidecars[1][1], "/auth", lambda: token, args.concurrency)}
        interleaved(rows, args.rounds, args.seconds, args.requests)
    finally:
        for process, _ in sidecars:
            process.stop()
    _, base_p50, base_p99 = print_rows("The sidecar's /auth over HTTP, one session token (its decision cached)",
                                       rows, "/auth, metrics off (baseline)")[0:3]
    _, _, p50, p99 = rows["/auth, metrics on (EMF once a minute)"].figures()
    print(f"  metrics add {p50 - base_p50:+.3f} ms at p50, {p99 - base_p99:+.3f} ms at p99")


def bench_end_to_end(work_dir: Path, key_server: KeyServer, key: SigningKey, args: argparse.Namespace) -> None:
    session = {"X-Amzn-Oidc-Data": alb_token(key)}
    fresh_tokens: Iterator[str] = itertools.cycle(
        [alb_token(key, user_claims(sub=f"user-{i}", expires_in=3600)) for i in range(args.requests)])
    processes = []
    try:
        app, app_address = start_demo_app(work_dir)
        processes.append(app)
        sidecar, sidecar_address = start_sidecar(work_dir, key_url_template=key_server.url_template)
        processes.append(sidecar)
        nginx, front_url = start_nginx(work_dir, sidecar=sidecar_address, app=app_address)
        processes.append(nginx)
        front = front_url.removeprefix("http://")
        baseline = "app alone (baseline, no auth)"
        rows = {
            baseline: Load(app_address, "/bench", dict, args.concurrency),
            "nginx + sidecar, one session token -> app": Load(front, "/bench", lambda: session, args.concurrency),
            "nginx + sidecar, a new token each request": Load(
                front, "/bench", lambda: {"X-Amzn-Oidc-Data": next(fresh_tokens)}, args.concurrency),
            "nginx + sidecar, no token -> 401": Load(front, "/bench", dict, args.concurrency),
        }
        interleaved(rows, args.rounds, args.seconds, args.requests)
    finally:
        for process in reversed(processes):
            process.stop()
    base_rate, base_p50, base_p99 = print_rows(
        f"End to end on loopback ({args.concurrency} keep-alive clients; {args.rounds} interleaved rounds of "
        f"{args.seconds:g} s per row; clients, nginx, sidecar and app share this machine's cores)", rows, baseline)
    _, rate, p50, p99 = rows["nginx + sidecar, one session token -> app"].figures()
    print("  the auth hop (one session token) against the app alone:")
    for label, value, target in (("added p50", p50 - base_p50, ADDED_P50_TARGET_MS),
                                 ("added p99", p99 - base_p99, ADDED_P99_TARGET_MS)):
        print(f"    {label:12} {value:+7.2f} ms   target < {target:g} ms   {'OK' if value < target else 'MISSED'}")
    ratio = rate / base_rate
    print(f"    {'throughput':12} {ratio:7.0%} of the app alone   target >= {THROUGHPUT_TARGET:.0%}   "
          f"{'OK' if ratio >= THROUGHPUT_TARGET else 'MISSED'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--validations", type=int, default=20_000, help="calls per in-process row")
    parser.add_argument("--rounds", type=int, default=8, help="interleaved rounds of the HTTP rows")
    parser.add_argument("--seconds", type=float, default=0.75, help="time per row and round")
    parser.add_argument("--requests", type=int, default=5_000, help="request budget per row and round")
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args()

    key_server = KeyServer()
    try:
        key = key_server.publish(SigningKey())
        bench_in_process(key_server, key, args.validations)
        with tempfile.TemporaryDirectory(prefix="auth-bench-") as tmp:
            bench_sidecar_http(Path(tmp), key_server, key, args)
            bench_end_to_end(Path(tmp), key_server, key, args)
    finally:
        key_server.stop()


if __name__ == "__main__":
    main()
