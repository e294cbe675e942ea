"""Benchmark: a thumbnail at 80% of a 3-minute 720p video read over HTTP from a local S3 emulator.

Compares, on the same object and machine, in one run:
  worker  `python -m runtime.thumbnail` (presigned URL, `-ss` before `-i`), the whole process: start-up, probe,
          frame, upload;
  seed    the original command line `ffmpeg -i URL -ss T -vframes 1 out.png` on the object's plain URL.

Bytes read are counted by a small HTTP proxy between the readers and the emulator: the bytes of object data it
passed on, counted after each write to the reader succeeded (an upper bound: a reader that hangs up early may leave
up to a socket buffer unread).

    .venv/bin/python benchmarks/thumbnail_seek.py [--rounds N]

The video is generated once into .build/bench/ (about 40 s on 2 cores) and reused.
"""

from __future__ import annotations

import argparse
import http.client
import http.server
import logging
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from typing import Any
from pathlib import Path
from urllib.parse import urlsplit

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))  # so the script runs from any directory

from runtime.thumbnail import contract  # noqa: E402
from runtime.thumbnail.worker import ffmpeg_binary, frame_command  # noqa: E402

# boto3, OpenCV, NumPy and moto are imported where they are used, so that --help answers at once.

CACHE = REPO_ROOT / ".build" / "bench"
VIDEO = CACHE / "testsrc2-720p30-180s.mp4"
DURATION_SECONDS = 180
POSITION_PERCENT = 80
BUCKET = "bench-media"
KEY = "video/bench.mp4"
OBJECT_PATH = f"/{BUCKET}/{KEY}"
REGION = "us-east-1"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_REGION": REGION}


def ensure_video(ffmpeg: str) -> Path:
    if VIDEO.exists():
        return VIDEO
    CACHE.mkdir(parents=True, exist_ok=True)
    print(f"generating {VIDEO.relative_to(REPO_ROOT)} (once)...", flush=True)
    partial = VIDEO.with_suffix(".partial.mp4")
    subprocess.run(
        [
            ffmpeg, "-hide_banner", "-loglevel", "error", "-nostdin",
            "-f", "lavfi", "-i", f"testsrc2=s=1280x720:r=30:d={DURATION_SECONDS}",
            # A typical upload: H.264 at 3 Mb/s, the encoder's default keyframe interval, index at the end.
            "-c:v", "libx264", "-preset", "veryfast", "-b:v", "3M", "-maxrate", "3M", "-bufsize", "6M",
            "-pix_fmt", "yuv420p", "-y", str(partial),
        ],
        check=True,
    )
    partial.rename(VIDEO)
    return VIDEO


class CountingProxy:
    """Forwards HTTP requests to the emulator and counts the object bytes it hands back per path."""

    HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "expect", "host"}

    def __init__(self, upstream: str):
        self.upstream = urlsplit(upstream)
        self.bytes_by_path: dict[str, int] = {}
        self.requests_by_path: dict[str, int] = {}
        self.lock = threading.Lock()
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self):
                super().setup()
                # Small send buffer: what the reader never takes is not counted as read.
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 64 * 1024)

            def log_message(self, *args):
                pass

            def do_GET(self):
                proxy.forward(self)

            do_HEAD = do_PUT = do_POST = do_DELETE = do_GET

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> CountingProxy:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()

    def bytes_read(self, path: str) -> int:
        with self.lock:
            return self.bytes_by_path.get(path, 0)

    def requests(self, path: str) -> int:
        with self.lock:
            return self.requests_by_path.get(path, 0)

    def reset(self) -> None:
        with self.lock:
            self.bytes_by_path.clear()
            self.requests_by_path.clear()

    def forward(self, handler: http.server.BaseHTTPRequestHandler) -> None:
        path = urlsplit(handler.path).path
        with self.lock:
            self.requests_by_path[path] = self.requests_by_path.get(path, 0) + 1
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else None
        headers = {k: v for k, v in handler.headers.items() if k.lower() not in self.HOP_BY_HOP}
        headers["Host"] = self.upstream.netloc
        upstream = http.client.HTTPConnection(self.upstream.hostname, self.upstream.port, timeout=60)
        try:
            upstream.request(handler.command, handler.path, body=body, headers=headers)
            response = upstream.getresponse()
            handler.send_response(response.status, response.reason)
            response_headers = [(k, v) for k, v in response.getheaders() if k.lower() not in self.HOP_BY_HOP]
            if handler.command == "HEAD" or response.getheader("Content-Length") is not None:
                for name, value in response_headers:
                    handler.send_header(name, value)
                handler.end_headers()
                if handler.command != "HEAD":
                    self._relay(response, handler)
            else:
                data = response.read()
                for name, value in response_headers:
                    handler.send_header(name, value)
                handler.send_header("Content-Length", str(len(data)))
                handler.end_headers()
                handler.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            handler.close_connection = True
        finally:
            upstream.close()

    def _relay(self, response: http.client.HTTPResponse, handler) -> None:
        path = urlsplit(handler.path).path
        while chunk := response.read(64 * 1024):
            handler.wfile.write(chunk)
            with self.lock:
                self.bytes_by_path[path] = self.bytes_by_path.get(path, 0) + len(chunk)


def timed(command: list[str], env: dict[str, str], cpus: set[int] | None) -> float:
    start = time.perf_counter()
    result = subprocess.run(
        command, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=600,
        preexec_fn=(lambda: os.sched_setaffinity(0, cpus)) if cpus else None,
    )
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"{command[:3]} failed:\n{result.stderr}")
    return elapsed


@dataclass
class Run:
    seconds: float
    bytes_read: int
    requests: int
    image: Any
    """The thumbnail, decoded (a NumPy array)."""


def run_worker(proxy: CountingProxy, s3, env: dict[str, str], cpus: set[int] | None) -> Run:
    proxy.reset()
    prefix = f"thumbnail-{len(cpus) if cpus else 'all'}/"
    seconds = timed(
        [sys.executable, "-m", "runtime.thumbnail"],
        {
            **env,
            "AWS_ENDPOINT_URL": proxy.url,
            contract.ENV_BUCKET: BUCKET,
            contract.ENV_KEY: KEY,
            contract.ENV_POSITION: f"{POSITION_PERCENT}%",
            contract.ENV_THUMBNAIL_PREFIX: prefix,
        },
        cpus,
    )
    import cv2
    import numpy as np

    png = s3.get_object(Bucket=BUCKET, Key=f"{prefix}{contract.thumbnail_name(KEY)}")["Body"].read()
    image = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR)
    return Run(seconds, proxy.bytes_read(OBJECT_PATH), proxy.requests(OBJECT_PATH), image)


def run_ffmpeg(proxy: CountingProxy, command: list[str], png: Path, env: dict[str, str],
               cpus: set[int] | None) -> Run:
    import cv2

    proxy.reset()
    seconds = timed(command, env, cpus)
    return Run(seconds, proxy.bytes_read(OBJECT_PATH), proxy.requests(OBJECT_PATH), cv2.imread(str(png)))


def seed_command(ffmpeg: str, url: str, position: float, png: Path) -> list[str]:
    """The seed's command line: -ss after -i, so ffmpeg reads and decodes everything up to the position."""
    return [ffmpeg, "-hide_banner", "-loglevel", "error", "-nostdin", "-i", url, "-ss", f"{position:g}",
            "-vframes", "1", "-update", "1", "-y", str(png)]


def median_run(runs: list[Run]) -> Run:
    """The run of median time (bytes and requests are the same in every run)."""
    return sorted(runs, key=lambda run: run.seconds)[len(runs) // 2]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="A thumbnail at 80%% of a 3-minute 720p video read over HTTP: the "
                                                 "seed's command line and the worker's whole process, side by side "
                                                 "in one run.".replace("%%", "%"))
    parser.add_argument("--rounds", type=int, default=1, help="runs of each, median reported (default 1; the "
                                                               "machine is shared, more rounds steady the figures)")
    options = parser.parse_args(argv)
    import boto3
    import numpy as np
    from moto.server import ThreadedMotoServer

    ffmpeg = ffmpeg_binary()
    video = ensure_video(ffmpeg)
    size = video.stat().st_size
    position = DURATION_SECONDS * POSITION_PERCENT / 100
    all_cpus = len(os.sched_getaffinity(0))
    one_cpu = {min(os.sched_getaffinity(0))}

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    results: dict[str, Run] = {}
    try:
        host, port = server.get_host_and_port()
        emulator = f"http://{host}:{port}"
        s3 = boto3.client("s3", endpoint_url=emulator, region_name=REGION,
                          aws_access_key_id="bench", aws_secret_access_key="bench")
        s3.create_bucket(Bucket=BUCKET)
        s3.upload_file(str(video), BUCKET, KEY)
        # The seed read the object through a public URL; the worker needs no public object.
        s3.put_object_acl(Bucket=BUCKET, Key=KEY, ACL="public-read")
        env = {"PATH": os.environ["PATH"], "FFMPEG_BINARY": ffmpeg, **CREDENTIALS}
        with CountingProxy(emulator) as proxy, tempfile.TemporaryDirectory() as workdir:
            url = f"{proxy.url}{OBJECT_PATH}"
            png = Path(workdir) / "frame.png"
            for label, cpus in ((f"{all_cpus} CPUs", None), ("1 CPU", one_cpu)):
                rounds: dict[str, list[Run]] = {}
                for _ in range(options.rounds):  # interleaved, so that load on the machine hits each alike
                    rounds.setdefault(f"seed, {label}", []).append(run_ffmpeg(
                        proxy, seed_command(ffmpeg, url, position, png), png, env, cpus))
                    rounds.setdefault(f"worker, {label}", []).append(run_worker(proxy, s3, env, cpus))
                    # The worker's frame step alone: its ffmpeg command line on the seed's URL.
                    rounds.setdefault(f"  its ffmpeg, {label}", []).append(run_ffmpeg(
                        proxy, frame_command(ffmpeg, url, position, png), png, env, cpus))
                results.update({name: median_run(runs) for name, runs in rounds.items()})
    finally:
        server.stop()

    mib = 1024 * 1024
    version = subprocess.run([ffmpeg, "-version"], capture_output=True, text=True).stdout.split("\n", 1)[0]
    print(f"\nthumbnail at {POSITION_PERCENT}% ({position:g} s) of a {DURATION_SECONDS} s 1280x720 H.264 video "
          f"({size / mib:.1f} MiB), read over HTTP from moto through a counting proxy; {version}\n")
    print(f"{'':22}{'wall time':>10}{'bytes read':>14}{'of object':>11}{'requests':>10}")
    for label, run in results.items():
        print(f"{label:22}{run.seconds:>9.2f}s{run.bytes_read / mib:>10.1f} MiB{run.bytes_read / size:>11.1%}"
              f"{run.requests:>10}")
    print()
    for label in (f"{all_cpus} CPUs", "1 CPU"):
        seed, worker, command = (results[f"{kind}, {label}"] for kind in ("seed", "worker", "  its ffmpeg"))
        difference = float(np.abs(seed.image.astype(int) - worker.image.astype(int)).mean())
        print(f"{label}: worker {seed.seconds / worker.seconds:.1f}x faster (its ffmpeg command "
              f"{seed.seconds / command.seconds:.1f}x), reads {seed.bytes_read / max(worker.bytes_read, 1):.0f}x "
              f"fewer bytes; thumbnails differ by {difference:.2f}/255 per pixel on average")
    print(f"targets: the worker >= 10x faster than the seed, < 5% of the object read ({options.rounds} round(s), "
          f"median)")


if __name__ == "__main__":
    main()
