"""Bean Counter under load on loopback, and the detector's own latency.

1. In process, one core (OpenCV and BLAS single-threaded): decode + count latency, p50/p99 over repeated
   runs, with this tree's detector and beside it the detector of ``--baseline-ref`` (loaded from git):
   the real photos of tests/bean_counter/photos/ (the 3024x4032 phone photo as sent, and reduced to
   1024 px, the speed target's size) and renders of 1024x768 and 3024x4032 (EXIF-rotated).
2. The real service (`python -m runtime.bean_counter`, gunicorn) on 127.0.0.1 with 1 and with 2
   worker processes, loaded by wrk (Debian package `wrk`; a threaded Python client if wrk is
   missing) for a fixed duration: requests/s, requests/s per worker, p50 and p99 latency for
   POST /count with the 1024x768 photo and for GET /.

    .venv/bin/python -m benchmarks.bean_counter_load [--duration 10] [--connections 2] [--baseline-ref main]
                                                     [--in-process-only]
"""

from __future__ import annotations

import argparse
import http.client
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from benchmarks.coin_accuracy import PHOTOS, load_detector  # noqa: E402
from benchmarks.coin_renders import render_scene  # noqa: E402

REPO = Path(__file__).resolve().parents[1]

WRK_POST_SCRIPT = """
local f = assert(io.open(os.getenv("BEAN_COUNTER_BODY"), "rb"))
wrk.method = "POST"
wrk.body = f:read("*all")
f:close()
wrk.headers["Content-Type"] = "image/jpeg"
done = function(summary, latency, requests)
  io.write(string.format("non-2xx-or-errors: %d\\n", summary.errors.status + summary.errors.connect
    + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
"""
WRK_GET_SCRIPT = WRK_POST_SCRIPT.replace('wrk.method = "POST"', 'wrk.method = "GET"').replace(
    "wrk.body = f:read(\"*all\")", "")


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def in_process(detector, data: bytes, runs: int) -> tuple[float, float, float, int | None]:
    """p50 and p99 wall time and p50 CPU time of this process (ms): on a shared machine the CPU time is what one
    core of its own would take."""
    for _ in range(2):
        detector.count(data)
    timings, cpu = [], []
    for _ in range(runs):
        started, started_cpu = time.perf_counter(), time.process_time()
        _, cents, _ = detector.count(data)
        timings.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - started_cpu) * 1000)
    return percentile(timings, 0.5), percentile(timings, 0.99), percentile(cpu, 0.5), cents


def _jpeg(image, quality: int = 90) -> bytes:
    return cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])[1].tobytes()


class Service:
    def __init__(self, workers: int):
        self.process = subprocess.Popen(
            [sys.executable, "-m", "runtime.bean_counter", "--host", "127.0.0.1", "--port", "0",
             "--workers", str(workers)],
            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        self.url = None
        for line in self.process.stdout:
            found = re.search(r"Listening at: http://(127\.0\.0\.1):(\d+)", line)
            if found:
                self.host, self.port = found.group(1), int(found.group(2))
                self.url = f"http://{self.host}:{self.port}"
                break
        if self.url is None:
            raise RuntimeError("service did not start")
        threading.Thread(target=lambda: [None for _ in self.process.stdout], daemon=True).start()  # drain log
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                connection = http.client.HTTPConnection(self.host, self.port, timeout=2)
                connection.request("GET", "/healthz")
                if connection.getresponse().status == 200:
                    return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("service never became healthy")

    def stop(self):
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def run_wrk(url: str, path: str, script: str, body_file: str, duration: int, connections: int) -> dict:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(script)
        script_path = handle.name
    try:
        output = subprocess.run(
            ["wrk", "-t", "1", "-c", str(connections), "-d", f"{duration}s", "--timeout", "10s", "--latency",
             "-s", script_path, url + path],
            env={**os.environ, "BEAN_COUNTER_BODY": body_file}, capture_output=True, text=True, check=True,
        ).stdout
    finally:
        os.unlink(script_path)

    def to_ms(value: str, unit: str) -> float:
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]

    p50 = re.search(r"^\s+50%\s+([\d.]+)(us|ms|s|m)\s*$", output, re.M)
    p99 = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s|m)\s*$", output, re.M)
    rps = re.search(r"Requests/sec:\s+([\d.]+)", output)
    total = re.search(r"(\d+) requests in", output)
    failed = re.search(r"non-2xx-or-errors: (\d+)", output)
    return {"rps": float(rps.group(1)), "p50": to_ms(*p50.groups()), "p99": to_ms(*p99.groups()),
            "requests": int(total.group(1)), "failed": int(failed.group(1)) if failed else 0}


def run_python_client(host: str, port: int, method: str, path: str, body: bytes | None, duration: int,
                      connections: int) -> dict:
    """Fallback closed-loop load: one keep-alive connection per thread, for `duration` seconds."""
    latencies: list[float] = []
    failures = [0]
    lock = threading.Lock()
    stop_at = time.monotonic() + duration

    def worker():
        connection = http.client.HTTPConnection(host, port, timeout=30)
        while time.monotonic() < stop_at:
            started = time.perf_counter()
            try:
                connection.request(method, path, body=body, headers={"Content-Type": "image/jpeg"} if body else {})
                response = connection.getresponse()
                response.read()
                ok = 200 <= response.status < 300
            except OSError:
                connection.close()
                connection = http.client.HTTPConnection(host, port, timeout=30)
                ok = False
            elapsed = (time.perf_counter() - started) * 1000
            with lock:
                latencies.append(elapsed)
                failures[0] += not ok
        connection.close()

    threads = [threading.Thread(target=worker) for _ in range(connections)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.monotonic() - started
    return {"rps": len(latencies) / wall, "p50": statistics.median(latencies), "p99": percentile(latencies, 0.99),
            "requests": len(latencies), "failed": failures[0]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per load run")
    parser.add_argument("--connections", type=int, default=2, help="concurrent connections per worker")
    parser.add_argument("--runs", type=int, default=30, help="in-process repetitions for the 1024-px photos")
    parser.add_argument("--baseline-ref", default="main", help="git ref whose detector is the baseline; '' for none")
    parser.add_argument("--in-process-only", action="store_true", help="skip the load runs against the service")
    args = parser.parse_args()
    cv2.setNumThreads(1)

    web = render_scene(1000, 1024, 768)
    phone = render_scene(77, 3024, 4032)
    real = (PHOTOS / "63_cents.jpg").read_bytes()
    real_image = cv2.imdecode(np.frombuffer(real, np.uint8), cv2.IMREAD_COLOR)
    real_1024 = _jpeg(cv2.resize(real_image, (768, 1024), interpolation=cv2.INTER_AREA))
    images = (("real 3024x4032 phone, 63c", real, 63, max(5, args.runs // 3)),
              ("real 1024x768 (reduced), 63c", real_1024, 63, args.runs),
              ("real 288x175 stock, 82c", (PHOTOS / "82_cents.jpg").read_bytes(), 82, args.runs),
              ("render 1024x768 JPEG", web.encode("jpeg", quality=90), web.total_cents, args.runs),
              ("render 3024x4032, EXIF 6", phone.encode("jpeg", quality=90, exif_orientation=6), phone.total_cents,
               max(5, args.runs // 3)))
    web_jpeg = images[3][1]
    detectors = [load_detector(None)] + ([load_detector(args.baseline_ref)] if args.baseline_ref else [])

    print("In-process decode + count, one thread: the total counted (true total in the name), wall p50 / p99 ms "
          "and CPU p50 ms")
    print(f"{'image':<30} {'bytes':>9}  "
          + "  ".join(f"{d.ref[:12]:>12} {'p50':>6} {'p99':>6} {'cpu':>6}" for d in detectors))
    for name, data, _, runs in images:
        cells = []
        for detector in detectors:
            p50, p99, cpu, cents = in_process(detector, data, runs)
            cells.append(f"{'-' if cents is None else f'{cents / 100:.2f}':>12} {p50:>6.1f} {p99:>6.1f} {cpu:>6.1f}")
        print(f"{name:<30} {len(data):>9}  " + "  ".join(cells))
    print("target: p50 under 50 ms for a 1024-px photo on one core (the CPU column where the machine is shared)")
    if args.in_process_only:
        return

    use_wrk = shutil.which("wrk") is not None
    print()
    print(f"Service on loopback, {args.duration} s per run, load from {'wrk' if use_wrk else 'a Python client'} "
          f"({os.cpu_count()} CPUs shared by client and server)")
    print(f"{'workers':>7} {'endpoint':<22} {'conns':>5} {'requests':>8} {'failed':>6} {'req/s':>8} "
          f"{'req/s/worker':>12} {'p50 ms':>8} {'p99 ms':>8}")
    with tempfile.NamedTemporaryFile(suffix=".jpg", delete=False) as handle:
        handle.write(web_jpeg)
        body_file = handle.name
    try:
        for workers in (1, 2):
            service = Service(workers)
            try:
                connections = args.connections * workers
                for label, method, path, script in (("POST /count 1024px", "POST", "/count", WRK_POST_SCRIPT),
                                                    ("GET /", "GET", "/", WRK_GET_SCRIPT)):
                    if use_wrk:
                        result = run_wrk(service.url, path, script, body_file, args.duration, connections)
                    else:
                        result = run_python_client(service.host, service.port, method, path,
                                                   web_jpeg if method == "POST" else None, args.duration, connections)
                    print(f"{workers:>7} {label:<22} {connections:>5} {result['requests']:>8} {result['failed']:>6} "
                          f"{result['rps']:>8.1f} {result['rps'] / workers:>12.1f} {result['p50']:>8.1f} "
                          f"{result['p99']:>8.1f}")
            finally:
                service.stop()
    finally:
        os.unlink(body_file)


if __name__ == "__main__":
    main()
