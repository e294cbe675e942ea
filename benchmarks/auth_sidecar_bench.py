"""Auth sidecar figures, each beside its baseline from the same run.

1. In-process: a full validation (cached key) against a decision served from the per-token cache; with and
   without counting the metrics.
2. /auth over HTTP on the sidecar itself (keep-alive, as nginx calls it): metrics on against metrics off.
3. End to end on loopback through real nginx (auth_request, the image's entrypoint and template) and the
   sidecar, against the same requests sent straight to the app with the identity headers the front would add:
   the auth hop's added latency (target: under 1 ms at p50, under 3 ms at p99) and the throughput (target:
   within 20 % of the app alone).

Load comes from wrk (C, keep-alive, HdrHistogram percentiles). Rows run in interleaved rounds whose order
rotates, so a busy neighbour slows every row alike; latencies are the median over the rounds, throughput the
total over them. Each row also gives the CPU time each process spent per request (from /proc), which the
neighbours do not change much.

Run from the repo root:  .venv/bin/python -m benchmarks.auth_sidecar_bench [--rounds N] [--seconds S]
Needs wrk, nginx, its set-misc module and envsubst (Debian: wrk nginx libnginx-mod-http-set-misc gettext-base).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from runtime.auth_sidecar import contract
from runtime.auth_sidecar.metrics import Metrics
from runtime.auth_sidecar.validator import AlbPublicKeys, AlbTokenValidator
from tests.auth_sidecar.alb_auth_support import (
    ALB_ARN,
    KeyServer,
    ManagedProcess,
    SigningKey,
    alb_token,
    start_demo_app,
    start_nginx,
    start_sidecar,
    user_claims,
)

ADDED_P50_TARGET_MS, ADDED_P99_TARGET_MS, THROUGHPUT_TARGET = 1.0, 3.0, 0.80
# wrk sends a token never sent before on every request: the tokens file (one per line) and the index of the
# round come after `--`; each of wrk's threads takes every other token of its round's slice.
TOKENS_SCRIPT = """
local threads = 0
function setup(thread) thread:set("id", threads); threads = threads + 1 end
local tokens, i, first = {}, 0, 0
function init(args)
  for line in io.lines(args[1]) do tokens[#tokens + 1] = line end
  first = tonumber(args[2])
end
function request()
  i = i + 1
  return wrk.format(nil, nil, {["X-Amzn-Oidc-Data"] = tokens[(first + 2 * i + id) % #tokens + 1]})
end
"""
TOKENS_PER_ROUND = 6_000  # more than 2 wrk threads send in a round of a second


def percentile(sorted_values: list[float], fraction: float) -> float:
    return sorted_values[min(len(sorted_values) - 1, int(fraction * len(sorted_values)))]


def timed(functions: dict[str, Callable[[], object]], count: int, chunk: int = 500) -> dict[str, tuple]:
    """(calls per second, p50 ms, p99 ms) of ``count`` calls of each function, in interleaved chunks after a
    warm-up."""
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

    def validate_and_count() -> None:
        counted.validate(token)
        metrics.success()

    rows = timed({"full validation, cached key (baseline)": lambda: full.validate(token),
                  "full validation + metrics counted": validate_and_count,
                  "decision from the per-token cache": lambda: cached.validate(token)}, count)
    print(f"In-process ({count} calls per row, one thread)")
    print(f"  {'':42} {'calls/s':>9} {'p50 ms':>8} {'p99 ms':>8}")
    for name, (rate, p50, p99) in rows.items():
        print(f"  {name:42} {rate:9.0f} {p50:8.4f} {p99:8.4f}")


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its descendants (gunicorn and nginx fork workers)."""
    total, pending = 0, [pid]
    while pending:
        current = pending.pop()
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
        except FileNotFoundError:
            continue
        total += int(fields[11]) + int(fields[12])
        pending += map(int, children)
    return total / os.sysconf("SC_CLK_TCK")


@dataclass
class Row:
    url: str
    wrk_args: list[str]
    rounds: list[tuple[float, float]] = field(default_factory=list)  # (p50 ms, p99 ms) per round
    requests: int = 0
    seconds: float = 0.0
    cpu: dict[str, float] = field(default_factory=dict)
    statuses: set[str] = field(default_factory=set)

    def run(self, seconds: float, connections: int, processes: list[ManagedProcess]) -> None:
        before = {p.process.pid: cpu_seconds(p.process.pid) for p in processes}
        out = subprocess.run(["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", *self.wrk_args,
                              self.url, *self._script_args()], capture_output=True, text=True, check=True).stdout
        for pid, start in before.items():
            self.cpu[pid] = self.cpu.get(pid, 0.0) + cpu_seconds(pid) - start
        done = re.search(r"(\d+) requests in ([\d.]+)(\w+)", out)
        self.requests += int(done.group(1))
        self.seconds += float(done.group(2)) * {"ms": 0.001, "s": 1, "m": 60}[done.group(3)]
        self.rounds.append((_ms(out, "50"), _ms(out, "99")))
        self.statuses.add("non-2xx" if "Non-2xx" in out else "2xx")

    def _script_args(self) -> list[str]:
        return []

    @property
    def p50(self) -> float:
        return statistics.median(r[0] for r in self.rounds)

    @property
    def p99(self) -> float:
        return statistics.median(r[1] for r in self.rounds)

    @property
    def rate(self) -> float:
        return self.requests / self.seconds


@dataclass
class TokensRow(Row):
    script: Path | None = None
    tokens: Path | None = None

    def _script_args(self) -> list[str]:
        return ["--", str(self.tokens), str(len(self.rounds) * TOKENS_PER_ROUND)]


def _ms(wrk_output: str, label: str) -> float:
    value, unit = re.search(rf"\s{label}%\s+([\d.]+)(us|ms|s)\b", wrk_output).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def run_rows(rows: dict[str, Row], args: argparse.Namespace, processes: list[ManagedProcess]) -> None:
    names = list(rows)
    for round_number in range(args.rounds):
        shift = round_number % len(names)
        for name in names[shift:] + names[:shift]:
            rows[name].run(args.seconds, args.connections, processes)


def print_rows(title: str, rows: dict[str, Row], processes: list[ManagedProcess]) -> None:
    print(f"\n{title}")
    cpu_columns = "".join(f" {p.name + ' µs':>14}" for p in processes)
    print(f"  {'':44} {'requests':>8} {'req/s':>7} {'p50 ms':>7} {'p99 ms':>7}{cpu_columns}  answers")
    for name, row in rows.items():
        cpu = "".join(f" {row.cpu[p.process.pid] / row.requests * 1e6:14.0f}" for p in processes)
        print(f"  {name:44} {row.requests:8d} {row.rate:7.0f} {row.p50:7.2f} {row.p99:7.2f}{cpu}  "
              f"{'/'.join(sorted(row.statuses))}")


def bench_sidecar_http(work_dir: Path, key_server: KeyServer, key: SigningKey, args: argparse.Namespace) -> None:
    header = ["-H", f"{contract.TOKEN_HEADER}: {alb_token(key)}"]
    sidecars = [start_sidecar(work_dir, key_url_template=key_server.url_template, ENV_METRICS_INTERVAL_SECONDS=value)
                for value in ("0", "60")]
    try:
        off, on = (Row(f"http://{address}/auth", header) for _, address in sidecars)
        rows = {"/auth, metrics off (baseline)": off, "/auth, metrics on (EMF once a minute)": on}
        run_rows(rows, args, [process for process, _ in sidecars])
    finally:
        for process, _ in sidecars:
            process.stop()
    print("\nThe sidecar's /auth over HTTP, one session token (its decision cached); CPU of each sidecar process:")
    print(f"  {'':44} {'requests':>8} {'req/s':>7} {'p50 ms':>7} {'p99 ms':>7} {'CPU µs/req':>11}")
    cpu = [row.cpu[process.process.pid] / row.requests * 1e6 for row, (process, _) in zip((off, on), sidecars)]
    for (name, row), per_request in zip(rows.items(), cpu):
        print(f"  {name:44} {row.requests:8d} {row.rate:7.0f} {row.p50:7.2f} {row.p99:7.2f} {per_request:11.0f}")
    print(f"  metrics add {on.p50 - off.p50:+.3f} ms at p50, {on.p99 - off.p99:+.3f} ms at p99, "
          f"{cpu[1] - cpu[0]:+.0f} µs of CPU per request")


def bench_end_to_end(work_dir: Path, key_server: KeyServer, key: SigningKey, args: argparse.Namespace) -> None:
    session = alb_token(key)
    tokens = work_dir / "tokens.txt"
    tokens.write_text("\n".join(alb_token(key, user_claims(sub=f"user-{i}", expires_in=3600))
                                for i in range(args.rounds * TOKENS_PER_ROUND)) + "\n")
    script = work_dir / "tokens.lua"
    script.write_text(TOKENS_SCRIPT)
    identity = [item for name, value in (("X-Auth-Email", "ada@example.com"), ("X-Auth-Given-name", "Zoë"),
                                         ("X-Auth-Family-name", "Lovelace"),
                                         ("X-Auth-Picture", "https://lh3.googleusercontent.com/a/photo.jpg"))
                for item in ("-H", f"{name}: {value}")]
    processes = []
    try:
        app, app_address = start_demo_app(work_dir)
        sidecar, sidecar_address = start_sidecar(work_dir, key_url_template=key_server.url_template)
        nginx, front_url = start_nginx(work_dir, sidecar=sidecar_address, app=app_address)
        processes = [app, nginx, sidecar]
        baseline = "app alone, with the identity (baseline)"
        rows = {
            baseline: Row(f"http://{app_address}/bench", identity),
            "nginx + sidecar, one session token -> app": Row(f"{front_url}/bench",
                                                             ["-H", f"{contract.TOKEN_HEADER}: {session}"]),
            "nginx + sidecar, a new token each request": TokensRow(f"{front_url}/bench", ["-s", str(script)],
                                                                   tokens=tokens),
            "nginx + sidecar, no token -> 401": Row(f"{front_url}/bench", []),
        }
        run_rows(rows, args, processes)
    finally:
        for process in reversed(processes):
            process.stop()
    print_rows(f"End to end on loopback (wrk, {args.connections} keep-alive connections; {args.rounds} rotating rounds "
               f"of {args.seconds:g} s per row; wrk, nginx, sidecar and app share this machine's cores). Latency: "
               f"median of the rounds; CPU: per request, by process", rows, processes)
    base, auth = rows[baseline], rows["nginx + sidecar, one session token -> app"]
    print("  the auth hop (one session token) against the app alone:")
    for label, value, target in (("added p50", auth.p50 - base.p50, ADDED_P50_TARGET_MS),
                                 ("added p99", auth.p99 - base.p99, ADDED_P99_TARGET_MS)):
        print(f"    {label:12} {value:+7.2f} ms   target < {target:g} ms   {'OK' if value < target else 'MISSED'}")
    ratio = auth.rate / base.rate
    print(f"    {'throughput':12} {ratio:7.0%} of the app alone   target >= {THROUGHPUT_TARGET:.0%}   "
          f"{'OK' if ratio >= THROUGHPUT_TARGET else 'MISSED'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--validations", type=int, default=20_000, help="calls per in-process row")
    parser.add_argument("--rounds", type=int, default=8, help="rotating rounds of the HTTP rows")
    parser.add_argument("--seconds", type=int, default=1, help="wrk duration per row and round (whole seconds)")
    parser.add_argument("--connections", type=int, default=4, help="wrk's keep-alive connections")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        parser.error("wrk is needed for the HTTP rows: apt-get install -y wrk")

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
