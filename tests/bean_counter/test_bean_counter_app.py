"""The HTTP API through Flask's test client: totals, coordinates, and every client mistake as a 4xx."""

from __future__ import annotations

import base64
import io
import math

import boto3
import cv2
import numpy as np
import pytest
from moto import mock_aws

from runtime.bean_counter.app import create_app
from runtime.bean_counter.contract import Settings
from tests.bean_counter.bean_counter_support import (
    blank_paper_jpeg,
    encode_png,
    jpeg_claiming_size,
    phone_jpeg,
    phone_scene,
    photo_bytes,
    png_bomb,
    scene,
    uncalibratable_jpeg,
)

BUCKET = "bean-counter-test-images"


@pytest.fixture(scope="module")
def client():
    app = create_app(Settings(bucket=None, max_bytes=20 * 1024 * 1024, max_pixels=50_000_000))
    return app.test_client()


def post(client, data: bytes, content_type: str = "image/jpeg"):
    return client.post("/count", data=data, content_type=content_type)


def assert_error(response, status: int, fragment: str):
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.is_json
    assert fragment in response.get_json()["error"]


def assert_coins_match(body, photo, scale: float = 1.0, tolerance: float = 0.25):
    """Every true coin has a reported coin of its denomination at its centre, in the photo's pixels."""
    assert len(body["coins"]) == len(photo.coins)
    for truth in photo.coins:
        x, y = truth.center[0] * scale, truth.center[1] * scale
        near = [c for c in body["coins"] if math.hypot(c["center"][0] - x, c["center"][1] - y)
                < tolerance * truth.diameter_px * scale]
        assert len(near) == 1, f"{truth} not reported: {body['coins']}"
        assert near[0]["denomination"] == truth.denomination
        assert near[0]["diameter_px"] == pytest.approx(truth.diameter_px * scale, rel=0.06)


def test_page_tells_how_to_use_the_api(client):
    page = client.get("/").get_data(as_text=True)
    assert "/count" in page and "/countme/" in page and "annotate=1" in page


def test_health(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_jpeg_photo_is_counted(client):
    photo = scene(1000, 1024, 768)
    response = post(client, photo.encode("jpeg"))
    assert response.status_code == 200
    body = response.get_json()
    assert body["total"] == pytest.approx(photo.total_cents / 100)
    assert body["currency"] == "USD"
    assert body["image"] == {"width": 1024, "height": 768}
    values = {"penny": 0.01, "nickel": 0.05, "dime": 0.10, "quarter": 0.25}
    assert all(c["value"] == values[c["denomination"]] for c in body["coins"])
    assert sum(c["value"] for c in body["coins"]) == pytest.approx(body["total"])
    assert_coins_match(body, photo)


def test_small_web_png_is_counted(client):
    photo = scene(1013, 480, 360)
    response = post(client, encode_png(photo.image), "image/png")
    assert response.status_code == 200
    assert response.get_json()["total"] == pytest.approx(photo.total_cents / 100)
    assert_coins_match(response.get_json(), photo)


def test_phone_photo_with_exif_orientation_is_counted_in_displayed_coordinates(client):
    photo = phone_scene()
    response = post(client, phone_jpeg())
    assert response.status_code == 200
    body = response.get_json()
    assert body["image"] == {"width": 3024, "height": 4032}  # portrait, as displayed
    assert body["total"] == pytest.approx(photo.total_cents / 100)
    assert_coins_match(body, photo)


def test_multipart_upload_is_counted(client):
    photo = scene(1010, 640, 480)
    response = client.post("/count", data={"image": (io.BytesIO(photo.encode("jpeg")), "coins.jpg")},
                           content_type="multipart/form-data")
    assert response.status_code == 200
    assert response.get_json()["total"] == pytest.approx(photo.total_cents / 100)


@pytest.mark.parametrize("make_body,content_type,status,fragment", [
    (lambda: b"", "image/jpeg", 400, "empty body"),
    (lambda: b"this is not an image at all", "image/jpeg", 415, "not a JPEG or PNG"),
    (lambda: b"GIF89a" + b"\x00" * 64, "image/gif", 415, "not a JPEG or PNG"),
    (png_bomb, "image/png", 413, "pixels"),
    (lambda: jpeg_claiming_size(20_000, 20_000), "image/jpeg", 413, "over the limit"),
    (blank_paper_jpeg, "image/jpeg", 422, "no coins found"),
    (uncalibratable_jpeg, "image/jpeg", 422, "nothing to calibrate with"),
])
def test_client_mistakes_are_4xx_with_an_error(client, make_body, content_type, status, fragment):
    assert_error(post(client, make_body(), content_type), status, fragment)


def test_body_over_the_size_limit_is_refused():
    small = create_app(Settings(bucket=None, max_bytes=50_000, max_pixels=50_000_000)).test_client()
    photo = scene(1000, 1024, 768).encode("jpeg")
    assert len(photo) > 50_000
    assert_error(post(small, photo), 413, "larger than the limit of 50000 bytes")


def test_multipart_without_exactly_one_file_is_refused(client):
    response = client.post("/count", data={"note": "no file"}, content_type="multipart/form-data")
    assert_error(response, 400, "exactly one file")


def test_unknown_route_and_wrong_method_answer_json(client):
    assert_error(client.get("/nothing-here"), 404, "not found")
    assert_error(client.get("/count"), 405, "not allowed")


def test_garbage_never_causes_a_server_error(client):
    rng = np.random.default_rng(12)
    valid = scene(1002, 800, 600).encode("jpeg")
    bodies = [rng.bytes(int(n)) for n in rng.integers(1, 5000, 10)]
    bodies += [valid[:n] for n in (2, 10, 100, 400, 2000)]  # truncated uploads
    bodies += [b"\x89PNG\r\n\x1a\n" + rng.bytes(300), b"\xff\xd8\xff\xe0" + rng.bytes(300)]
    for body in bodies:
        response = post(client, body)
        assert 400 <= response.status_code < 500, (body[:16], response.get_data(as_text=True))
        assert "error" in response.get_json()


# --- /countme: reading from the bucket (moto S3) ----------------------------------------------------

@pytest.fixture
def bucket_client():
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket=BUCKET)
        app = create_app(Settings(bucket=BUCKET, max_bytes=2_000_000, max_pixels=50_000_000))
        yield app.test_client(), s3


def test_countme_counts_the_stored_image(bucket_client):
    client, s3 = bucket_client
    photo = scene(1002, 800, 600)
    s3.put_object(Bucket=BUCKET, Key="uploads/2026/coins one.jpg", Body=photo.encode("jpeg"))
    response = client.get("/countme/uploads/2026/coins one.jpg")
    assert response.status_code == 200
    assert response.get_json()["total"] == pytest.approx(photo.total_cents / 100)


def test_countme_missing_key_is_404(bucket_client):
    client, _ = bucket_client
    assert_error(client.get("/countme/no/such/photo.jpg"), 404, "no object under key")


def test_countme_object_over_the_size_limit_is_413(bucket_client):
    client, s3 = bucket_client
    s3.put_object(Bucket=BUCKET, Key="big.jpg", Body=b"\xff\xd8" + b"\x00" * 2_100_000)
    assert_error(client.get("/countme/big.jpg"), 413, "over the limit")


def test_countme_object_that_is_not_an_image_is_415(bucket_client):
    client, s3 = bucket_client
    s3.put_object(Bucket=BUCKET, Key="notes.txt", Body=b"shopping list")
    assert_error(client.get("/countme/notes.txt"), 415, "not a JPEG or PNG")


def test_countme_key_too_long_is_400(bucket_client):
    client, _ = bucket_client
    assert_error(client.get("/countme/" + "k" * 1100), 400, "longer than 1024 bytes")


def test_countme_without_a_bucket_is_503(client):
    assert_error(client.get("/countme/anything.jpg"), 503, "no bucket configured")


# --- annotate, the page ------------------------------------------------------------------------------

def test_annotate_returns_the_photo_with_each_coin_circled_at_most_1600_px(client):
    data = photo_bytes("63_cents.jpg")
    plain = post(client, data).get_json()
    response = client.post("/count?annotate=1", data=data, content_type="image/jpeg")
    assert response.status_code == 200 and response.mimetype == "image/png"
    assert response.headers["X-Coin-Total"] == "0.63"
    annotated = cv2.imdecode(np.frombuffer(response.data, np.uint8), cv2.IMREAD_COLOR)
    assert annotated.shape[:2] == (1600, 1200)  # the 3024x4032 photo, long side 1600
    scale = 1600 / 4032
    original = cv2.resize(cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR), (1200, 1600),
                          interpolation=cv2.INTER_AREA)
    changed = np.abs(annotated.astype(int) - original.astype(int)).max(axis=2) > 60
    for coin in plain["coins"]:  # a circle drawn on each coin's fitted outline
        x, y, r = (v * scale for v in (*coin["center"], coin["diameter_px"] / 2))
        theta = np.linspace(0, 2 * np.pi, 72, endpoint=False)
        ring = changed[np.round(y + r * np.sin(theta)).astype(int), np.round(x + r * np.cos(theta)).astype(int)]
        assert ring.mean() > 0.8, coin
    assert changed.mean() < 0.1  # and little else


def test_annotate_with_accept_json_carries_the_image_in_the_answer(client):
    response = client.post("/count?annotate=1", data=photo_bytes("82_cents.jpg"), content_type="image/jpeg",
                           headers={"Accept": "application/json"})
    body = response.get_json()
    assert body["total"] == 0.82 and len(body["coins"]) == 8
    prefix = "data:image/png;base64,"
    assert body["annotated_image"].startswith(prefix)
    image = cv2.imdecode(np.frombuffer(base64.b64decode(body["annotated_image"][len(prefix):]), np.uint8),
                         cv2.IMREAD_COLOR)
    assert image.shape[:2] == (175, 288)  # small photos keep their size


def test_annotate_takes_only_0_or_1(client):
    assert_error(client.post("/count?annotate=maybe", data=photo_bytes("82_cents.jpg")), 400, "annotate must be")


def test_page_and_its_assets_are_served_with_a_strict_content_security_policy(client):
    page = client.get("/")
    assert page.status_code == 200 and page.mimetype == "text/html"
    policy = page.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    for asset, kind in (("page.js", "javascript"), ("page.css", "text/css")):
        response = client.get(f"/page/{asset}")
        assert response.status_code == 200 and kind in response.mimetype
    assert_error(client.get("/page/../app.py"), 404, "not found")
