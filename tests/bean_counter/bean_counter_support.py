"""Images for the Bean Counter tests: deterministic coin renders and hostile files."""

from __future__ import annotations

import io
import os
import re
import signal
import struct
import subprocess
import sys
import threading
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
import requests
import yaml
from PIL import Image

from benchmarks.coin_renders import Scene, render_scene

# Renders whose totals the detector must get exactly (seed, width, height, touching). They cover
# web sizes down to 480x360, touching coins, copper and silver, heads and tails.
KNOWN_RENDERS = (
    (1000, 1024, 768, False),
    (1002, 800, 600, False),
    (1003, 640, 480, True),
    (1010, 640, 480, False),
    (1012, 1600, 1200, False),
    (1013, 480, 360, False),
    (1022, 768, 1024, False),
    (1027, 480, 360, True),
)


@lru_cache(maxsize=None)
def scene(seed: int, width: int, height: int, touching: bool = False) -> Scene:
    return render_scene(seed, width, height, touching=touching)


@lru_cache(maxsize=None)
def phone_scene() -> Scene:
    """A 3024x4032 (portrait) phone photo."""
    return render_scene(77, 3024, 4032)


@lru_cache(maxsize=None)
def phone_jpeg() -> bytes:
    """The phone photo as the camera stores it: landscape pixels with EXIF orientation 6."""
    return phone_scene().encode("jpeg", quality=90, exif_orientation=6)


@lru_cache(maxsize=None)
def blank_paper_jpeg() -> bytes:
    return render_scene(5, 800, 600, denominations=[]).encode("jpeg", quality=90)


@lru_cache(maxsize=None)
def uncalibratable_jpeg() -> bytes:
    """A dime beside a 'penny' half again a quarter's size: neither can set a scale the other fits."""
    return render_scene(11, 800, 600, denominations=["dime", "penny"], quarter_fraction=0.16,
                        diameters_mm={"penny": 36.0}).encode("jpeg", quality=90)


def png_bomb(width: int = 12_000, height: int = 12_000, bit_depth: int = 8, colour_type: int = 0) -> bytes:
    """A real decompression bomb: a valid PNG of width x height zero pixels, a few hundred kB on disk.
    ``colour_type`` 0 is grey, 6 RGBA. Its zlib stream is one fully flushed row repeated (a full flush
    makes each row's deflate output the same bytes), so building it costs nothing."""
    channels = {0: 1, 2: 3, 4: 2, 6: 4}[colour_type]
    row_bytes = 1 + width * channels * bit_depth // 8  # filter byte + samples
    deflate = zlib.compressobj(9, zlib.DEFLATED, -15)
    row = deflate.compress(b"\x00" * row_bytes) + deflate.flush(zlib.Z_FULL_FLUSH)
    adler = ((row_bytes * height) % 65521) << 16 | 1  # Adler-32 of that many zero bytes
    idat = b"\x78\xda" + row * height + deflate.flush(zlib.Z_FINISH) + struct.pack(">I", adler)

    def chunk(kind: bytes, payload: bytes) -> bytes:
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))

    header = struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def rgba16_bomb() -> bytes:
    """The file of the review: a 7071x7071 16-bit RGBA PNG (under 50 megapixels; 400 MB of samples)."""
    return png_bomb(7071, 7071, bit_depth=16, colour_type=6)


def jpeg_claiming_size(width: int, height: int) -> bytes:
    """A small JPEG whose frame header claims another size (how a JPEG bomb announces itself)."""
    out = io.BytesIO()
    Image.new("RGB", (16, 16), (200, 200, 200)).save(out, "JPEG")
    data = bytearray(out.getvalue())
    sof = data.index(b"\xff\xc0")
    data[sof + 5:sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def encode_png(image_bgr: np.ndarray, **save_args) -> bytes:
    out = io.BytesIO()
    Image.fromarray(image_bgr[..., ::-1]).save(out, "PNG", **save_args)
    return out.getvalue()


# --- real photos ------------------------------------------------------------------------------------

PHOTOS = Path(__file__).parent / "photos"
LABELS = yaml.safe_load((PHOTOS / "labels.yaml").read_text())


def photo_bytes(name: str) -> bytes:
    return (PHOTOS / name).read_bytes()


# --- the real server --------------------------------------------------------------------------------

REPO = Path(__file__).resolve().parents[2]


@dataclass
class Service:
    url: str
    process: subprocess.Popen
    log: list[str] = field(default_factory=list)

    def worker_pids(self) -> list[int]:
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read_text().split()
        return [int(pid) for pid in children]

    def peak_memory_mb(self) -> float:
        """The largest peak resident memory (VmHWM) of the server's worker processes so far."""
        peaks = []
        for pid in self.worker_pids():
            status = Path(f"/proc/{pid}/status").read_text()
            peaks.append(int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1)) / 1024)
        return max(peaks)


@contextmanager
def running_service(env: dict[str, str] | None = None, workers: int = 1) -> Iterator[Service]:
    """``python -m runtime.bean_counter`` (gunicorn) on 127.0.0.1, a free port, until the block ends."""
    process = subprocess.Popen(
        [sys.executable, "-m", "runtime.bean_counter", "--host", "127.0.0.1", "--port", "0", "--workers", str(workers)],
        cwd=REPO, env={**os.environ, **(env or {})}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    log: list[str] = []
    listening = threading.Event()
    address: dict[str, str] = {}

    def read_log():
        for line in process.stdout:
            log.append(line)
            found = re.search(r"Listening at: (http://127\.0\.0\.1:\d+)", line)
            if found:
                address["url"] = found.group(1)
                listening.set()

    threading.Thread(target=read_log, daemon=True).start()
    try:
        assert listening.wait(60), "server did not start:\n" + "".join(log)
        url = address["url"]
        deadline = time.monotonic() + 60
        while True:  # the workers boot after the socket is bound
            try:
                if requests.get(f"{url}/healthz", timeout=5).status_code == 200:
                    break
            except requests.RequestException:  # not accepting yet, or a worker still loading
                pass
            assert time.monotonic() < deadline, "server never became healthy:\n" + "".join(log)
            time.sleep(0.2)
        yield Service(url, process, log)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
