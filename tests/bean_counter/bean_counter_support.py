"""Images for the Bean Counter tests: deterministic coin renders and hostile files."""

from __future__ import annotations

import io
import struct
import zlib
from functools import lru_cache

import numpy as np
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


def png_bomb(width: int = 12_000, height: int = 12_000) -> bytes:
    """A real decompression bomb: a grey PNG of width x height zero pixels, about 100 kB on disk."""
    compressor = zlib.compressobj(9)
    row = b"\x00" * (width + 1)  # filter byte + pixels
    chunks = []
    for _ in range(height):
        chunks.append(compressor.compress(row))
    chunks.append(compressor.flush())
    idat = b"".join(chunks)

    def chunk(kind: bytes, payload: bytes) -> bytes:
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit greyscale
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


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
