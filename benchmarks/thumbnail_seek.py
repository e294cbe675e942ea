"""Benchmark: a thumbnail at 80% of a 3-minute 720p video read over HTTP from a local S3 emulator.

Compares, on the same object and machine, in one run:
  worker  `python -m runtime.thumbnail` (presigned URL, `-ss` before `-i`), the whole process: start-up, probe,
          frame, upload;
  seed    the original command line `ffmpeg -i URL -ss T -vframes 1 out.png` on the object's plain URL.

Bytes read are counted by a small HTTP proxy between the readers and the emulator: the bytes of object data it
passed on, counted after each write to the reader succeeded (an upper bound: a reader that hangs up early may leave
up to a socket buffer unread).

    .venv/bin/python benchmarks/thumbnail_seek.py

The video is generated once into .build/bench/ (about 40 s on 2 cores) and reused.
"""

from __future__ import annotations

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
from pathlib import Path
from urllib.parse import urlsplit

import boto3
import cv2
import numpy as np
from moto.server import ThreadedMotoServer

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))  # so the script runs from any directory

from runtime.thumbnail.worker import ffmpeg_binary  # noqa: E402

CACHE = REPO_ROOT / ".build" / "bench"
VIDEO = CACHE / "testsrc2-720p30-180s.mp4"
DURATION_SECONDS = 180
POSITION_PERCENT = 80
BUCKET = "bench-media"
KEY = "video/bench.mp4"
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

    def reset(self) -> None:
        with self.lock:
            self.bytes_by_path.clear()

    def forward(self, handler: http.server.BaseHTTPRequestHandler) -> None:
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


def timed(command: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    result = subprocess.run(command, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=600)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"{command[:3]} failed:\n{result.stderr}")
    return elapsed


def main() -> None:
    ffmpeg = ffmpeg_binary()
    video = ensure_video(ffmpeg)
    size = video.stat().st_size
    position = DURATION_SECONDS * POSITION_PERCENT / 100

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        emulator = f"http://{host}:{port}"
        s3 = boto3.client("s3", endpoint_url=emulator, region_name=REGION,
                          aws_access_key_id="bench", aws_secret_access_key="bench")
        s3.create_bucket(Bucket=BUCKET)
        s3.upload_file(str(video), BUCKET, KEY)
        # The seed needed public objects; the worker does not.
        s3.put_object_acl(Bucket=BUCKET, Key=KEY, ACL="public-read")
        object_path = f"/{BUCKET}/{KEY}"

        with CountingProxy(emulator) as proxy, tempfile.TemporaryDirectory() as workdir:
            base_env = {"PATH": os.environ["PATH"], "FFMPEG_BINARY": ffmpeg, **CREDENTIALS}

            worker_env = {
                **base_env,
                "AWS_ENDPOINT_URL": proxy.url,
                "INPUT_VIDEO_FILE_URL": f"s3://{BUCKET}/{KEY}",
                "POSITION_TIME_DURATION": f"{POSITION_PERCENT}%",
                "OUTPUT_S3_PATH": f"{BUCKET}/thumbnail",
                "OUTPUT_THUMBS_FILE_NAME": "bench.png",
            }
            worker_seconds = timed([sys.executable, "-m", "runtime.thumbnail"], worker_env)
            worker_bytes = proxy.bytes_read(object_path)
            worker_png = s3.get_object(Bucket=BUCKET, Key="thumbnail/bench.png")["Body"].read()

            proxy.reset()
            seed_png_path = Path(workdir) / "seed.png"
            seed_command = [ffmpeg, "-hide_banner", "-loglevel", "error", "-nostdin",
                            "-i", f"{proxy.url}{object_path}", "-ss", f"{position:g}", "-vframes", "1",
                            "-update", "1", "-y", str(seed_png_path)]
            seed_seconds = timed(seed_command, base_env)
            seed_bytes = proxy.bytes_read(object_path)
            seed_image = cv2.imread(str(seed_png_path))
    finally:
        server.stop()

    worker_image = cv2.imdecode(np.frombuffer(worker_png, np.uint8), cv2.IMREAD_COLOR)
    difference = float(np.abs(worker_image.astype(int) - seed_image.astype(int)).mean())

    mib = 1024 * 1024
    print(f"\nthumbnail at {POSITION_PERCENT}% ({position:g} s) of a {DURATION_SECONDS} s 1280x720 H.264 video, "
          f"{size / mib:.1f} MiB, served over HTTP by moto through a counting proxy; {os.cpu_count()} CPUs\n")
    print(f"{'':28}{'wall time':>12}{'bytes read':>16}{'of object':>12}")
    print(f"{'seed (-ss after -i)':28}{seed_seconds:>11.2f}s{seed_bytes / mib:>12.1f} MiB{seed_bytes / size:>12.1%}")
    print(f"{'worker (whole process)':28}{worker_seconds:>11.2f}s{worker_bytes / mib:>12.1f} MiB"
          f"{worker_bytes / size:>12.1%}")
    print(f"\nworker is {seed_seconds / worker_seconds:.1f}x faster and reads "
          f"{seed_bytes / max(worker_bytes, 1):.0f}x fewer bytes "
          f"(targets: >= 10x faster, < 10% of the object)")
    print(f"mean absolute pixel difference between the two thumbnails: {difference:.2f} (0-255 scale)")


if __name__ == "__main__":
    main()
