"""Throughput and latency of the items service under a mixed workload, the default pool beside a pool of one.

The service runs for real (``python -m runtime.items_service``: migrations, then gunicorn) against a
throwaway local PostgreSQL (Debian's binaries, as the tests start it). Client threads on keep-alive
connections send 70 % ``GET /items/{id}``, 10 % ``GET /items?limit=20`` and 20 % ``POST /items`` for a fixed
time; each pool size is measured in the same run, so the figures compare on one machine.

    .venv/bin/python benchmarks/items_service_load.py [--seconds 5] [--clients 8] [--pools 1,4]
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_DIR))


def wait_healthy(port: int, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise SystemExit("the service did not become healthy")


def client(port: int, until: float, seed: int, latencies: list[float], failures: list[int]) -> None:
    rng = random.Random(seed)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    while time.monotonic() < until:
        roll = rng.random()
        started = time.perf_counter()
        if roll < 0.2:
            body = json.dumps({"name": f"bench-{rng.randrange(10**6)}", "quantity": rng.randrange(100)})
            conn.request("POST", "/items", body=body, headers={"Content-Type": "application/json"})
        elif roll < 0.3:
            conn.request("GET", "/items?limit=20")
        else:
            conn.request("GET", f"/items/{rng.randrange(1, 200)}")
        response = conn.getresponse()
        response.read()
        latencies.append(time.perf_counter() - started)
        if response.status >= 500:
            failures.append(response.status)
    conn.close()


def measure(postgres, pool: int, seconds: float, clients: int) -> dict[str, float]:
    from tests.items_service.conftest import free_port

    port = free_port()
    env = {**os.environ, **postgres.env(ITEMS_POOL_SIZE=str(pool)), "PYTHONPATH": str(PROJECT_DIR)}
    server = subprocess.Popen([sys.executable, "-m", "runtime.items_service", "--host", "127.0.0.1", "--port",
                               str(port)], env=env, cwd=PROJECT_DIR, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        wait_healthy(port)
        latencies: list[float] = []
        failures: list[int] = []
        until = time.monotonic() + seconds
        threads = [threading.Thread(target=client, args=(port, until, n, latencies, failures)) for n in range(clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        server.terminate()
        server.wait(timeout=20)
    cuts = statistics.quantiles(latencies, n=100)
    return {"rps": len(latencies) / seconds, "p50": cuts[49] * 1000, "p99": cuts[98] * 1000, "5xx": len(failures)}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="measured time per pool size")
    parser.add_argument("--clients", type=int, default=8, help="concurrent keep-alive clients")
    parser.add_argument("--pools", default="1,4", help="pool sizes to compare (the first is the baseline)")
    args = parser.parse_args(argv)
    pools = [int(size) for size in args.pools.split(",")]

    from runtime.items_service.migrations import migrate
    from tests.items_service.conftest import Postgres

    postgres = Postgres()
    try:
        with postgres.master() as conn:
            conn.execute("CREATE DATABASE items")
        migrate(postgres.settings())
        results = [(pool, measure(postgres, pool, args.seconds, args.clients)) for pool in pools]
    finally:
        postgres.stop()
    baseline = results[0][1]["rps"]
    print(f"{args.clients} clients, {args.seconds:g} s each, 70% GET one / 10% GET page / 20% POST")
    for pool, figures in results:
        print(f"pool {pool:>2}: {figures['rps']:7.0f} req/s ({figures['rps'] / baseline:4.2f}x)  "
              f"p50 {figures['p50']:6.2f} ms  p99 {figures['p99']:6.2f} ms  5xx {figures['5xx']}")


if __name__ == "__main__":
    main()
