"""Blockchain nodes under a mixed load on loopback, three runs side by side from the same invocation:

1. ``direct``: one node (``python -m runtime.blockchain``, gunicorn), the clients straight at it: the baseline;
2. ``spread``: three nodes that know each other, each client rotating its requests over its own connection to
   each node (round robin without a proxy: what the proxy costs is the difference to 3);
3. ``nginx``: the same three nodes' setup behind a real nginx round-robin proxy (upstream keep-alive, as an ALB
   keeps connections to its targets).

Every run starts fresh nodes (low difficulty, so blocks take milliseconds), then N closed-loop client threads
(one keep-alive connection per target each) send a seeded mix of the endpoints (``MIX``): transactions,
reads of the chain's new blocks (``?from=`` the length last seen) and of the whole chain, mining, the peer
list, peer registration, consensus and the health check, plus 2 % deliberately bad transactions (amount -1)
whose expected answer is 400. Figures: requests/s, p50/p99 latency (overall and per endpoint), answers other
than the expected one (target 0: a bad transaction counts only if it is not a 400), connection errors.

At the end of a run the nodes settle: each resolves, one mines what is still pending, until all report one
chain; then their ``GET /chain`` bodies are compared byte for byte ("chains agree") and every transaction a
node accepted (201) is looked for in that chain ("lost", "twice"). Exit status 1 on an unexpected answer, a
connection error, chains that disagree or a lost or duplicated transaction.

    .venv/bin/python -m benchmarks.blockchain_load [--duration 10] [--clients 8] [--difficulty 3]
                     [--requests N] [--runs direct,spread,nginx] [--seed 24]

Needs nginx for the ``nginx`` run (Debian package ``nginx``; started as a non-daemon with a temporary config).
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RUNS = {"direct": "1 node, direct", "spread": "3 nodes, client round robin", "nginx": "3 nodes, nginx round robin"}
MIX = (  # (name, weight %, method, expected status)
    ("POST /chain/new", 40, "POST", 201),
    ("GET /chain?from=", 20, "GET", 200),
    ("GET /chain", 2, "GET", 200),
    ("GET /healthz", 15, "GET", 200),
    ("GET /nodes/", 10, "GET", 200),
    ("GET /chain/mine", 3, "GET", 202),
    ("POST /nodes/register", 4, "POST", 201),
    ("GET /nodes/resolve", 4, "GET", 200),
    ("POST /chain/new (bad)", 2, "POST", 400),
)
BAD = "POST /chain/new (bad)"
PEER_AGENT = "cloud-patterns-blockchain"
"""The User-Agent of a node's calls to its peers (``runtime/blockchain/peers.py``)."""

NGINX_CONF = """worker_processes 1;
error_log {dir}/error.log warn;
pid {dir}/nginx.pid;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  client_body_temp_path {dir}/body;
  proxy_temp_path {dir}/proxy;
  fastcgi_temp_path {dir}/fastcgi;
  uwsgi_temp_path {dir}/uwsgi;
  scgi_temp_path {dir}/scgi;
  upstream nodes {{
{servers}
    keepalive 32;
  }}
  server {{
    listen 127.0.0.1:{port};
    location / {{
      proxy_pass http://nodes;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_next_upstream off;
      proxy_read_timeout 60s;
    }}
  }}
}}
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def call(port: int, method: str, path: str, body: object = None, timeout: float = 60) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        data = None if body is None else json.dumps(body).encode()
        connection.request(method, path, body=data, headers={"Content-Type": "application/json"} if data else {})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


class Process:
    """A child process whose output goes to a file (gunicorn logs every request: no pipe to drain)."""

    def __init__(self, name: str, command: list[str], work: Path, env: dict[str, str] | None = None):
        self.log_path = work / f"{name}.log"
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(command, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)

    def wait(self) -> None:
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def start_node(name: str, work: Path, difficulty: int) -> Process:
    env = {**os.environ, "BLOCKCHAIN_DIFFICULTY": str(difficulty), "BLOCKCHAIN_SERVICE": name,
           "BLOCKCHAIN_METRICS_INTERVAL_SECONDS": "3600"}
    return Process(name, [sys.executable, "-m", "runtime.blockchain", "--host", "127.0.0.1", "--port", "0"], work, env)


def until(check, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while (value := check()) is None:
        if time.monotonic() > deadline:
            raise RuntimeError(what)
        time.sleep(0.05)
    return value


def node_port(node: Process) -> int:
    def listening():
        if node.process.poll() is not None:
            raise RuntimeError(f"{node.log_path.stem} exited:\n{node.log()}")
        found = re.search(r"Listening at: http://127\.0\.0\.1:(\d+)", node.log())
        return int(found.group(1)) if found else None
    port = until(listening, 60, f"{node.log_path.stem} did not start")

    def healthy():
        try:
            return True if call(port, "GET", "/healthz", timeout=5)[0] == 200 else None
        except OSError:
            return None
    until(healthy, 60, f"{node.log_path.stem} never became healthy")
    return port


def start_nginx(work: Path, ports: list[int]) -> tuple[Process, int]:
    nginx = shutil.which("nginx", path="/usr/sbin:/usr/bin:/sbin")
    if nginx is None:
        raise RuntimeError("the nginx run needs nginx (apt-get install -y nginx), or leave it out with --runs")
    port = free_port()
    servers = "\n".join(f"    server 127.0.0.1:{p};" for p in ports)
    (work / "nginx.conf").write_text(NGINX_CONF.format(dir=work, servers=servers, port=port))
    proxy = Process("nginx", [nginx, "-p", str(work), "-c", str(work / "nginx.conf"), "-g", "daemon off;"], work)

    def serving():
        if proxy.process.poll() is not None:
            raise RuntimeError(f"nginx exited:\n{proxy.log()}{(work / 'error.log').read_text(errors='replace')}")
        try:
            return True if call(port, "GET", "/healthz", timeout=5)[0] == 200 else None
        except OSError:
            return None
    until(serving, 30, "nginx did not start")
    return proxy, port


def client(number: int, ports: list[int], peers: list[str], seed: int, stop_at: float, budget: int | None) -> dict:
    """A closed loop over keep-alive connections, one per target, rotated request by request."""
    rng = random.Random(seed * 1000 + number)
    names, weights = [m[0] for m in MIX], [m[1] for m in MIX]
    spec = {m[0]: m for m in MIX}
    connections = [http.client.HTTPConnection("127.0.0.1", p, timeout=60) for p in ports]
    latencies: dict[str, list[float]] = {name: [] for name in names}
    result = {"latencies": latencies, "non_2xx": {}, "unexpected": {}, "errors": 0, "accepted": []}
    seen, sent = 1, 0
    while time.monotonic() < stop_at and (budget is None or sent < budget):
        name = rng.choices(names, weights)[0]
        _, _, method, expected = spec[name]
        body, path = None, name.split(" ")[1]
        if name.startswith("POST /chain/new"):
            amount = -1 if name == BAD else rng.randint(1, 1000)
            body = {"sender": f"wallet-{number}", "recipient": f"wallet-{rng.randrange(100)}", "amount": amount}
        elif name == "GET /chain?from=":
            path = f"/chain?from={seen}"
        elif name == "POST /nodes/register":
            body = {"nodes": peers}
        connection = connections[sent % len(connections)]
        sent += 1
        started = time.perf_counter()
        try:
            data = None if body is None else json.dumps(body).encode()
            connection.request(method, path, body=data, headers={"Content-Type": "application/json"} if data else {})
            response = connection.getresponse()
            content, status = response.read(), response.status
        except (OSError, http.client.HTTPException):
            connection.close()
            result["errors"] += 1
            continue
        latencies[name].append((time.perf_counter() - started) * 1000)
        if not 200 <= status < 300:
            result["non_2xx"][name] = result["non_2xx"].get(name, 0) + 1
        if status != expected:  # [how many, the first body]
            sample = content[:200].decode(errors="replace")
            result["unexpected"].setdefault(f"{name} -> {status}", [0, sample])[0] += 1
        elif name == "POST /chain/new":
            result["accepted"].append(json.loads(content)["transaction"]["id"])
        elif name == "GET /chain?from=":
            seen = max(1, json.loads(content)["length"])  # the next poll asks from this node's tip
    for connection in connections:
        connection.close()
    return result


def settle(ports: list[int], timeout: float = 60) -> tuple[bool, bytes]:
    """Resolve everywhere (mining what is pending) until every node reports one chain; then compare the bodies."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for port in ports:
            call(port, "GET", "/nodes/resolve")
        summaries = [json.loads(call(port, "GET", "/healthz")[1]) for port in ports]
        if any(s["pending"] for s in summaries):
            call(ports[0], "GET", "/chain/mine?wait=30")
            continue
        if len({(s["length"], s["last_hash"]) for s in summaries}) == 1:
            bodies = [call(port, "GET", "/chain")[1] for port in ports]
            if len(set(bodies)) == 1:
                return True, bodies[0]
    return False, call(ports[0], "GET", "/chain")[1]


def cpu_seconds(roots: list[int], depth: tuple[int, int] = (0, 99)) -> float:
    """CPU time (user + system) of the processes ``roots`` and their descendants ``depth`` levels below (a node:
    0 its gunicorn master, 1 its worker, 2 the worker's mining process), reaped children included: from /proc,
    so neighbours on a shared machine slow the run but hardly change it."""
    stats: dict[int, tuple[int, int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                text = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            fields = text[text.rindex(")") + 2:].split()
            stats[int(entry)] = int(fields[1]), sum(int(f) for f in fields[11:15])
    total, todo = 0, [(pid, 0) for pid in roots]
    while todo:
        pid, level = todo.pop()
        total += stats.get(pid, (0, 0))[1] if depth[0] <= level <= depth[1] else 0
        todo += [(child, level + 1) for child, (parent, _) in stats.items() if parent == pid]
    return total / os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))] if ordered else float("nan")


def run(kind: str, args: argparse.Namespace) -> dict:
    work = Path(tempfile.mkdtemp(prefix=f"blockchain-load-{kind}-", dir="/tmp"))
    work.chmod(0o755)  # nginx's worker (nobody) reads under it
    nodes = [start_node(f"node-{i}", work, args.difficulty) for i in range(1 if kind == "direct" else 3)]
    proxy = None
    try:
        ports = [node_port(node) for node in nodes]
        urls = [f"http://127.0.0.1:{p}" for p in ports]
        for port in ports if len(ports) > 1 else ():
            call(port, "POST", "/nodes/register", {"nodes": [u for u in urls if not u.endswith(f":{port}")]})
        wait_for_peers(ports)
        targets = ports
        if kind == "nginx":
            proxy, proxy_port = start_nginx(work, ports)
            targets = [proxy_port]
        budget = None if not args.requests else args.requests
        shares = [None if budget is None else budget // args.clients + (i < budget % args.clients)
                  for i in range(args.clients)]
        results: list[dict] = [{}] * args.clients
        stop_at = time.monotonic() + (args.duration if budget is None else 3600)

        def work_of(i: int) -> None:
            results[i] = client(i, targets, urls, args.seed, stop_at, shares[i])
        threads = [threading.Thread(target=work_of, args=(i,), daemon=True) for i in range(args.clients)]
        node_pids = [n.process.pid for n in nodes]
        groups = {"serving": (node_pids, (0, 1)), "mining": (node_pids, (2, 99)),
                  "proxy": ([proxy.process.pid] if proxy else [], (0, 99))}
        cpu_before = {name: cpu_seconds(*group) for name, group in groups.items()}
        peer_before = peer_requests(nodes)
        client_before, started = time.process_time(), time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        wall = time.perf_counter() - started
        cpu = {name: cpu_seconds(*group) - cpu_before[name] for name, group in groups.items()}
        cpu["client"] = time.process_time() - client_before
        peer_calls = peer_requests(nodes) - peer_before
        agree, body = settle(ports)
        chain = json.loads(body)["chain"]
        ids = [t["id"] for b in chain for t in b["transactions"] if t["sender"] != "0"]
        accepted = {i for r in results for i in r["accepted"]}
        replaced = sum(node.log().count("chain replaced") for node in nodes)
        return {"kind": kind, "wall": wall, "results": results, "agree": agree, "blocks": len(chain),
                "lost": len(accepted - set(ids)), "twice": len(ids) - len(set(ids)), "accepted": len(accepted),
                "replaced": replaced, "cpu": cpu,
                "peer_requests": peer_calls}
    finally:
        for process in [*([proxy] if proxy else []), *nodes]:
            process.stop()
        for process in [*([proxy] if proxy else []), *nodes]:
            process.wait()
        shutil.rmtree(work, ignore_errors=True)


def peer_requests(nodes: list[Process]) -> int:
    """Requests the nodes made of each other so far (their access logs show the peers' User-Agent)."""
    return sum(node.log().count(f'"{PEER_AGENT}"') for node in nodes)


def wait_for_peers(ports: list[int]) -> None:
    """Registration is answered at once and introduced to the other side off the request path: wait for it."""
    def known():
        listed = [len(json.loads(call(p, "GET", "/nodes/")[1])["nodes"]) for p in ports]
        return True if all(n == len(ports) - 1 for n in listed) else None
    until(known, 30, "the nodes never learnt of each other")


def report(outcomes: list[dict]) -> bool:
    """Prints the figures of the runs side by side; True when every run had only the expected answers, no
    connection error, one chain on every node and every accepted transaction in it exactly once."""
    print(f"{'run':<29} {'requests':>8} {'req/s':>7} {'p50 ms':>7} {'p99 ms':>7} {'non-2xx':>7} {'bad 400':>7} "
          f"{'unexp.':>6} {'errors':>6}   CPU ms/request: {'serve':>5} {'mine':>5} {'nginx':>5} {'client':>6} "
          f"{'peer/r':>6}")
    good = True
    for outcome in outcomes:
        results, requests = outcome["results"], sum(len(v) for r in outcome["results"] for v in r["latencies"].values())
        every = [v for r in results for values in r["latencies"].values() for v in values]
        unexpected = sum(count for r in results for count, _ in r["unexpected"].values())
        errors = sum(r["errors"] for r in results)
        cpu = {name: f"{seconds * 1000 / max(requests, 1):.2f}" for name, seconds in outcome["cpu"].items()}
        proxied = outcome["kind"] == "nginx"
        print(f"{RUNS[outcome['kind']]:<29} {requests:>8} {requests / outcome['wall']:>7.1f} "
              f"{percentile(every, 0.5):>7.1f} {percentile(every, 0.99):>7.1f} "
              f"{sum(n for r in results for n in r['non_2xx'].values()):>7} "
              f"{sum(r['non_2xx'].get(BAD, 0) for r in results):>7} {unexpected:>6} {errors:>6}   "
              f"{'':>15} {cpu['serving']:>5} {cpu['mining']:>5} {cpu['proxy'] if proxied else '-':>5} "
              f"{cpu['client']:>6} {outcome['peer_requests'] / max(requests, 1):>6.2f}")
        for r in results:
            for answer, (count, body) in r["unexpected"].items():
                print(f"  unexpected: {answer} ({count}x), e.g. {body}")
        good &= not unexpected and not errors and outcome["agree"] and not outcome["lost"] and not outcome["twice"]
    print()
    print("per endpoint, p50 / p99 ms")
    print(f"{'endpoint':<24} {'mix %':>5}  " + "  ".join(f"{o['kind']:>15}" for o in outcomes))
    for name, weight, _, _ in MIX:
        cells = []
        for outcome in outcomes:
            values = [v for r in outcome["results"] for v in r["latencies"][name]]
            cells.append(f"{percentile(values, 0.5):>7.1f} {percentile(values, 0.99):>7.1f}")
        print(f"{name:<24} {weight:>5}  " + "  ".join(cells))
    print()
    print("after the load, once settled: transactions accepted (201), blocks, chain replacements (forks lost),")
    print("accepted transactions missing from the chain or in it twice")
    print(f"{'run':<29} {'tx 201':>6} {'blocks':>6} {'replaced':>8} {'lost':>4} {'twice':>5}  chains agree")
    for outcome in outcomes:
        print(f"{RUNS[outcome['kind']]:<29} {outcome['accepted']:>6} {outcome['blocks']:>6} {outcome['replaced']:>8} "
              f"{outcome['lost']:>4} {outcome['twice']:>5}  {'yes' if outcome['agree'] else 'no'}")
    print()
    print(f"chains agree: {'yes' if all(o['agree'] for o in outcomes) else 'no'}")
    return good


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.blockchain_load", description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=10, help="seconds of load per run (default 10)")
    parser.add_argument("--requests", type=int, default=0, help="a fixed number of requests per run instead")
    parser.add_argument("--clients", type=int, default=8, help="concurrent client threads (default 8)")
    parser.add_argument("--difficulty", type=int, default=3, help="leading zero hex digits of a block (default 3)")
    parser.add_argument("--runs", default=",".join(RUNS), help=f"comma-separated, of {', '.join(RUNS)}")
    parser.add_argument("--seed", type=int, default=24, help="seed of the clients' request mix")
    args = parser.parse_args(argv)
    kinds = [k.strip() for k in args.runs.split(",") if k.strip()]
    if not kinds or any(k not in RUNS for k in kinds):
        parser.error(f"--runs takes some of {', '.join(RUNS)}, got {args.runs!r}")
    if args.duration <= 0 or args.requests < 0 or args.clients < 1 or not 1 <= args.difficulty <= 8:
        parser.error("--duration above 0, --requests 0 or more, --clients at least 1, --difficulty 1 to 8")
    load = os.getloadavg()[0]
    amount = f"{args.requests} requests" if args.requests else f"{args.duration:g} s"
    print(f"Blockchain nodes under a mixed load on loopback: {args.clients} clients, {amount} per run, difficulty "
          f"{args.difficulty}, seed {args.seed}; {os.cpu_count()} CPUs shared by clients, nodes and nginx "
          f"(load average {load:.2f} before)")
    outcomes = [run(kind, args) for kind in kinds]
    print(f"(load average {os.getloadavg()[0]:.2f} after)")
    return 0 if report(outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
