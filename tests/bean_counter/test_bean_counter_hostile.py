"""Hostile files against the real server (gunicorn, one worker): each gets its status within the worker's memory
bound while /healthz keeps answering, and a flood of photos is shed with 503s instead of starving health checks."""

from __future__ import annotations

import io
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import cv2
import numpy as np
import pytest
import requests
from PIL import Image

from runtime.bean_counter import contract
from tests.bean_counter.bean_counter_support import (
    jpeg_claiming_size,
    photo_bytes,
    png_bomb,
    rgba16_bomb,
)

MEMORY_BOUND_MB = contract.WORKER_BASE_MB + contract.DEFAULT_DECODE_BUDGET_MB
HEALTH_WITHIN_SECONDS = 2.0  # well inside the load balancer's 5 s and the container check's 4 s, on a busy machine


def _cmyk_jpeg(name: str) -> bytes:
    out = io.BytesIO()
    Image.open(io.BytesIO(photo_bytes(name))).convert("CMYK").save(out, "JPEG", quality=95)
    return out.getvalue()


def _exif_rotated_jpeg(name: str) -> bytes:
    """The photo as a phone stores a portrait shot: pixels turned to landscape, EXIF orientation 6."""
    picture = Image.open(io.BytesIO(photo_bytes(name)))
    exif = Image.Exif()
    exif[0x0112] = 6
    out = io.BytesIO()
    picture.transpose(Image.Transpose.ROTATE_90).save(out, "JPEG", quality=92, exif=exif.tobytes())
    return out.getvalue()


def _truncated_png() -> bytes:
    ok, data = cv2.imencode(".png", np.random.default_rng(1).integers(0, 255, (400, 400, 3), dtype=np.uint8))
    return data.tobytes()[:20_000]


HOSTILE = {
    "rgba16-bomb": (rgba16_bomb, 413, "over the budget"),
    "grey-bomb-144-megapixels": (png_bomb, 413, "pixels"),
    "jpeg-header-65000x65000": (lambda: jpeg_claiming_size(65000, 65000), 413, "over the limit"),
    "jpeg-header-7000x7000-of-16x16-data": (lambda: jpeg_claiming_size(7000, 7000), 422, "no coins found"),
    "truncated-jpeg": (lambda: photo_bytes("63_cents.jpg")[:150_000], 422, "truncated"),
    "truncated-png": (_truncated_png, 422, "corrupt or truncated"),
}


def _post_while_polling_health(url: str, data: bytes) -> tuple[requests.Response, list[float]]:
    """POST /count with ``data`` while another client polls /healthz; the health checks' latencies (s)."""
    latencies: list[float] = []
    done = threading.Event()

    def poll():
        while not done.is_set():
            started = time.perf_counter()
            ok = requests.get(f"{url}/healthz", timeout=5).status_code == 200
            latencies.append(time.perf_counter() - started if ok else float("inf"))
            time.sleep(0.02)

    poller = threading.Thread(target=poll)
    poller.start()
    try:
        response = requests.post(f"{url}/count", data=data, timeout=60)
    finally:
        done.set()
        poller.join()
    return response, latencies


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_file_gets_its_4xx_within_the_memory_bound_while_health_answers(service, name):
    build, status, fragment = HOSTILE[name]
    response, latencies = _post_while_polling_health(service.url, build())
    assert response.status_code == status, response.text
    assert fragment in response.json()["error"]
    assert latencies and max(latencies) < HEALTH_WITHIN_SECONDS
    assert service.peak_memory_mb() < MEMORY_BOUND_MB


@pytest.mark.parametrize("name,make,total", [
    ("cmyk-jpeg", lambda: _cmyk_jpeg("82_cents.jpg"), 0.82),
    ("exif-rotated-phone-photo", lambda: _exif_rotated_jpeg("63_cents.jpg"), 0.63),
])
def test_unusual_but_valid_photos_are_counted(service, name, make, total):
    response, latencies = _post_while_polling_health(service.url, make())
    assert response.status_code == 200, response.text
    assert response.json()["total"] == total
    if name == "exif-rotated-phone-photo":
        assert response.json()["image"] == {"width": 3024, "height": 4032}  # as displayed: portrait
    assert max(latencies) < HEALTH_WITHIN_SECONDS
    assert service.peak_memory_mb() < MEMORY_BOUND_MB


def test_a_png_just_within_the_budget_stays_within_the_memory_bound(service):
    rgba16 = np.zeros((3000, 4000, 4), np.uint16)  # 2 x 92 MB of samples + 34 MB of BGR: 218 MB at the peak
    ok, data = cv2.imencode(".png", rgba16)
    del rgba16
    response = requests.post(f"{service.url}/count", data=data.tobytes(), timeout=60)
    assert response.status_code == 422 and "no coins found" in response.json()["error"]
    assert service.peak_memory_mb() < MEMORY_BOUND_MB


def test_a_flood_is_shed_with_503_while_health_checks_answer(service):
    photo = photo_bytes("63_cents.jpg")
    latencies: list[float] = []
    stop = time.monotonic() + 3

    def client(_):
        statuses = []
        while time.monotonic() < stop:
            response = requests.post(f"{service.url}/count", data=photo, timeout=60)
            statuses.append(response.status_code)
            if response.status_code == 503:
                assert response.headers["Retry-After"] == "1"
                assert "busy" in response.json()["error"]
                time.sleep(0.05)
        return statuses

    def poll():
        while time.monotonic() < stop:
            started = time.perf_counter()
            assert requests.get(f"{service.url}/healthz", timeout=5).status_code == 200
            latencies.append(time.perf_counter() - started)
            time.sleep(0.05)

    with ThreadPoolExecutor(max_workers=7) as pool:
        health = pool.submit(poll)
        statuses = [s for result in pool.map(client, range(6)) for s in result]
        health.result()
    assert set(statuses) == {200, 503}
    assert latencies and max(latencies) < HEALTH_WITHIN_SECONDS
    assert service.peak_memory_mb() < MEMORY_BOUND_MB
