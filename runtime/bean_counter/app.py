"""The Bean Counter HTTP API (WSGI, served by gunicorn; see __main__.py).

    GET  /                   a page: choose or drop a photo, see the total, the coins and what was counted
    GET  /healthz            200 {"status": "ok"} once the detector has run its self-check
    POST /count              body = JPEG or PNG bytes -> {"total", "currency", "coins": [...], ...}
    POST /count?annotate=1   the photo (PNG, at most 1600 px) with each coin circled and labelled; with
                             ``Accept: application/json``, the JSON above with it as ``annotated_image``
    GET  /countme/<key>      counts the image stored under <key> in the bucket named by BUCKET

Every client mistake is a 4xx with {"error": "..."}; an error is never a 200. Each worker decodes one photo
at a time (``contract.DECODE_SLOTS``) and lets three more wait; a request beyond that answers 503 at once, so
two threads stay free for health checks and the page under a flood.
"""

from __future__ import annotations

import base64
import logging
import threading
import time
from pathlib import Path

import numpy as np
from flask import Flask, Response, jsonify, request, send_from_directory
from werkzeug.exceptions import HTTPException

from runtime.serving import json_error as _error
from . import detector
from .annotate import annotated_png
from .contract import DECODE_SLOTS, DECODE_WAITING, HEALTH_PATH, Settings
from .images import ImageRejected, decode_upright
from .storage import ObjectStore, StorageError

log = logging.getLogger("bean_counter")

MAX_KEY_BYTES = 1024  # S3's own limit
WAIT_FOR_SLOT_SECONDS = 10
PAGE = Path(__file__).parent / "page"
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                               "connect-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


class Busy(Exception):
    """Every decode slot of this worker is taken and one request already waits."""


class DecodeGate:
    """At most ``slots`` decodes at once, at most ``waiting`` more queued; the rest are refused at once."""

    def __init__(self, slots: int = DECODE_SLOTS, waiting: int = DECODE_WAITING,
                 wait_seconds: float = WAIT_FOR_SLOT_SECONDS):
        self._slots = threading.BoundedSemaphore(slots)
        self._admitted = threading.BoundedSemaphore(slots + waiting)
        self._wait_seconds = wait_seconds

    def __enter__(self) -> DecodeGate:
        if not self._admitted.acquire(blocking=False):
            raise Busy()
        if not self._slots.acquire(timeout=self._wait_seconds):
            self._admitted.release()
            raise Busy()
        return self

    def __exit__(self, *_) -> None:
        self._slots.release()
        self._admitted.release()


def create_app(settings: Settings | None = None, store: ObjectStore | None = None,
               gate: DecodeGate | None = None) -> Flask:
    settings = settings or Settings.from_env()
    app = Flask(__name__, static_folder=None)
    app.config["MAX_CONTENT_LENGTH"] = settings.max_bytes
    store = store or ObjectStore(settings.bucket)
    gate = gate or DecodeGate()
    _self_check()

    @app.get("/")
    def page():
        return send_from_directory(PAGE, "index.html", mimetype="text/html", max_age=0)

    @app.get("/page/<name>")
    def page_asset(name: str):
        return send_from_directory(PAGE, name, max_age=300)

    @app.get(HEALTH_PATH)
    def healthz():
        return jsonify(status="ok")

    @app.post("/count")
    def count():
        annotate = _annotate_flag()
        data = _request_image_bytes()
        return _answer(data, settings, gate, annotate)

    @app.get("/countme/<path:key>")
    def countme(key: str):
        if len(key.encode("utf-8")) > MAX_KEY_BYTES:
            return _error(400, f"key is longer than {MAX_KEY_BYTES} bytes")
        annotate = _annotate_flag()
        return _answer(store.read(key, settings.max_bytes), settings, gate, annotate)

    @app.after_request
    def secure(response: Response) -> Response:
        response.headers.update(SECURITY_HEADERS)
        return response

    @app.errorhandler(ImageRejected)
    def image_rejected(error: ImageRejected):
        return _error(error.status, error.message)

    @app.errorhandler(detector.CountError)
    def count_failed(error: detector.CountError):
        return _error(422, str(error))

    @app.errorhandler(StorageError)
    def storage_failed(error: StorageError):
        return _error(error.status, error.message)

    @app.errorhandler(Busy)
    def busy(_: Busy):
        response = _error(503, "busy counting other photos: retry in a moment")
        response.headers["Retry-After"] = "1"
        return response

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


def _annotate_flag() -> bool:
    value = request.args.get("annotate", "0")
    if value not in ("0", "1", "true", "false"):
        raise ImageRejected(400, "annotate must be 1 (return the annotated photo) or 0")
    return value in ("1", "true")


def _request_image_bytes() -> bytes:
    """The image: the raw body, or the single file of a multipart form (curl -F image=@coins.jpg)."""
    if request.mimetype == "multipart/form-data":
        files = list(request.files.values())
        if len(files) != 1:
            raise ImageRejected(400, "send exactly one file in the form, or the image bytes as the body")
        return files[0].read()
    return request.get_data(cache=False)


def _answer(data: bytes, settings: Settings, gate: DecodeGate, annotate: bool) -> Response:
    started = time.perf_counter()
    with gate:
        image = decode_upright(data, settings.max_pixels, settings.decode_budget_mb)
        result = detector.count_coins(image.pixels)
        png = annotated_png(image.pixels, result.coins) if annotate else None
    log.info("counted %d coins, %d cents, %dx%d %s, %.0f ms", len(result.coins), result.total_cents,
             image.width, image.height, image.format, (time.perf_counter() - started) * 1000)
    body = _summary(result, image)
    if png is None:
        return jsonify(body)
    if request.accept_mimetypes.best_match(["image/png", "application/json"]) == "application/json":
        return jsonify({**body, "annotated_image": "data:image/png;base64," + base64.b64encode(png).decode()})
    return Response(png, mimetype="image/png", headers={"X-Coin-Total": f"{body['total']:.2f}"})


def _summary(result: detector.Count, image) -> dict:
    to_original = 1.0 / image.scale
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


def _self_check() -> None:
    """Run the detector once on a blank page, so a broken OpenCV fails at start, not per request."""
    blank = np.full((120, 160, 3), 235, np.uint8)
    try:
        detector.count_coins(blank)
    except detector.NoCoinsFound:
        return
    raise RuntimeError("detector self-check failed: found coins on a blank page")
