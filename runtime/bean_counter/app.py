"""The Bean Counter HTTP API (WSGI, served by gunicorn; see __main__.py).

    GET  /                  usage page
    GET  /healthz           200 {"status": "ok"} once the detector has run its self-check
    POST /count             body = JPEG or PNG bytes -> {"total", "currency", "coins": [...]}
    GET  /countme/<key>     counts the image stored under <key> in the bucket named by BUCKET

Every client mistake is a 4xx with {"error": "..."}; an error is never a 200.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass

import numpy as np
from flask import Flask, Response, jsonify, request
from werkzeug.exceptions import HTTPException

from . import detector
from .images import DEFAULT_MAX_PIXELS, ImageRejected, decode_upright
from .storage import ObjectStore, StorageError

log = logging.getLogger("bean_counter")

DEFAULT_MAX_BYTES = 20 * 1024 * 1024  # a phone JPEG is 2-8 MB; a 12 MP PNG can reach ~20 MB
MAX_KEY_BYTES = 1024  # S3's own limit


@dataclass(frozen=True)
class Settings:
    bucket: str | None
    max_bytes: int
    max_pixels: int

    @classmethod
    def from_env(cls, env=os.environ) -> Settings:
        return cls(
            bucket=env.get("BUCKET") or None,
            max_bytes=_positive_int(env, "BEAN_COUNTER_MAX_BYTES", DEFAULT_MAX_BYTES),
            max_pixels=_positive_int(env, "BEAN_COUNTER_MAX_PIXELS", DEFAULT_MAX_PIXELS),
        )


def _positive_int(env, name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    value = int(raw)
    if value <= 0:
        raise ValueError(f"{name} must be a positive integer, got {raw!r}")
    return value


USAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Bean Counter</title></head>
<body>
<h1>Bean Counter</h1>
<p>Counts the value of the US coins in a photo: coins lying on a plain, light background, taken from above.
The largest silver coin is taken to be a quarter to work out the scale, so include at least one quarter.</p>
<h2>Count a photo</h2>
<pre>curl --data-binary @coins.jpg -H 'Content-Type: image/jpeg' http://HOST/count</pre>
<p>The body is the JPEG or PNG file itself (up to {max_mb} MB and {max_mp} megapixels). The answer:</p>
<pre>{{"total": 0.41, "currency": "USD", "coins": [{{"denomination": "quarter", "value": 0.25,
  "center": [812.0, 455.5], "diameter_px": 236.1}}, ...]}}</pre>
<p><code>center</code> and <code>diameter_px</code> are in pixels of the photo as displayed (EXIF orientation applied).</p>
<h2>Count a stored photo</h2>
<pre>curl http://HOST/countme/path/to/coins.jpg</pre>
<p>Counts the object under that key in the service's bucket.</p>
<h2>Errors</h2>
<p>Problems with the photo answer 4xx with <code>{{"error": "..."}}</code>: 400 empty body, 413 too large or too many
pixels, 415 not a JPEG or PNG, 422 corrupt image, no coins found or nothing to calibrate with, 404 no such key.</p>
</body></html>
"""


def create_app(settings: Settings | None = None, store: ObjectStore | None = None) -> Flask:
    settings = settings or Settings.from_env()
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = settings.max_bytes
    store = store or ObjectStore(settings.bucket)
    _self_check()
    usage_page = USAGE.format(max_mb=settings.max_bytes // (1024 * 1024), max_mp=settings.max_pixels // 1_000_000)

    @app.get("/")
    def usage():
        return Response(usage_page, mimetype="text/html")

    @app.get("/healthz")
    def healthz():
        return jsonify(status="ok")

    @app.post("/count")
    def count():
        data = _request_image_bytes()
        return jsonify(_count(data, settings.max_pixels))

    @app.get("/countme/<path:key>")
    def countme(key: str):
        if len(key.encode("utf-8")) > MAX_KEY_BYTES:
            return _error(400, f"key is longer than {MAX_KEY_BYTES} bytes")
        data = store.read(key, settings.max_bytes)
        return jsonify(_count(data, settings.max_pixels))

    @app.errorhandler(ImageRejected)
    def image_rejected(error: ImageRejected):
        return _error(error.status, error.message)

    @app.errorhandler(detector.CountError)
    def count_failed(error: detector.CountError):
        return _error(422, str(error))

    @app.errorhandler(StorageError)
    def storage_failed(error: StorageError):
        return _error(error.status, error.message)

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        if error.code == 413:
            return _error(413, f"body is larger than the limit of {settings.max_bytes} bytes")
        return _error(error.code or 500, error.description or error.name)

    @app.errorhandler(Exception)
    def unexpected(error: Exception):
        log.exception("unexpected error")
        return _error(500, "internal error")

    return app


def _request_image_bytes() -> bytes:
    """The image: the raw body, or the single file of a multipart form (curl -F image=@coins.jpg)."""
    if request.mimetype == "multipart/form-data":
        files = list(request.files.values())
        if len(files) != 1:
            raise ImageRejected(400, "send exactly one file in the form, or the image bytes as the body")
        return files[0].read()
    return request.get_data(cache=False)


def _count(data: bytes, max_pixels: int) -> dict:
    started = time.perf_counter()
    image = decode_upright(data, max_pixels)
    result = detector.count_coins(image.pixels)
    to_original = 1.0 / image.scale
    log.info("counted %d coins, %d cents, %dx%d %s, %.0f ms", len(result.coins), result.total_cents,
             image.width, image.height, image.format, (time.perf_counter() - started) * 1000)
    return {
        "total": round(result.total_cents / 100, 2),
        "currency": "USD",
        "coins": [
            {
                "denomination": coin.denomination.name,
                "value": round(coin.denomination.cents / 100, 2),
                "center": [round(coin.x * to_original, 1), round(coin.y * to_original, 1)],
                "diameter_px": round(coin.diameter_px * to_original, 1),
            }
            for coin in sorted(result.coins, key=lambda c: (c.y, c.x))
        ],
        "calibration": {"px_per_mm": round(result.px_per_mm * to_original, 3),
                        "size_error_percent": round(100 * result.size_error, 2),
                        "ignored_objects": result.ignored},
        "image": {"width": image.width, "height": image.height},
    }


def _error(status: int, message: str):
    response = jsonify(error=message)
    response.status_code = status
    return response


def _self_check() -> None:
    """Run the detector once on a blank page, so a broken OpenCV fails at start, not per request."""
    blank = np.full((120, 160, 3), 235, np.uint8)
    try:
        detector.count_coins(blank)
    except detector.NoCoinsFound:
        return
    raise RuntimeError("detector self-check failed: found coins on a blank page")
