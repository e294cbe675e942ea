"""The production entrypoint, `python -m runtime.bean_counter`, as a real gunicorn server on loopback,
reading its bucket from a real S3 API (moto's server) through AWS_ENDPOINT_URL."""

from __future__ import annotations

import boto3
import pytest
import requests
from moto.server import ThreadedMotoServer

from tests.bean_counter.bean_counter_support import running_service, scene

BUCKET = "bean-counter-server-test"


@pytest.fixture(scope="module")
def s3_endpoint():
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture(scope="module")
def service(s3_endpoint):
    env = {"BUCKET": BUCKET, "AWS_ENDPOINT_URL": s3_endpoint, "AWS_ACCESS_KEY_ID": "testing",
           "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}
    with running_service(env, workers=2) as running:
        yield running.url, running.log


def test_server_counts_a_posted_photo(service):
    url, _ = service
    photo = scene(1000, 1024, 768)
    response = requests.post(f"{url}/count", data=photo.encode("jpeg"), headers={"Content-Type": "image/jpeg"},
                             timeout=30)
    assert response.status_code == 200, response.text
    assert response.json()["total"] == pytest.approx(photo.total_cents / 100)
    assert len(response.json()["coins"]) == len(photo.coins)


def test_server_usage_page_and_health(service):
    url, _ = service
    page = requests.get(f"{url}/", timeout=10)
    assert page.status_code == 200 and "text/html" in page.headers["Content-Type"]
    assert "/countme/" in page.text
    assert requests.get(f"{url}/healthz", timeout=10).json() == {"status": "ok"}


def test_server_answers_client_mistakes_with_json_4xx(service):
    url, _ = service
    not_image = requests.post(f"{url}/count", data=b"plain text", timeout=10)
    assert not_image.status_code == 415
    assert "not a JPEG or PNG" in not_image.json()["error"]
    empty = requests.post(f"{url}/count", data=b"", timeout=10)
    assert empty.status_code == 400


def test_server_counts_a_photo_from_its_bucket(service, s3_endpoint):
    url, _ = service
    s3 = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1",
                      aws_access_key_id="testing", aws_secret_access_key="testing")
    s3.create_bucket(Bucket=BUCKET)
    photo = scene(1010, 640, 480)
    s3.put_object(Bucket=BUCKET, Key="photos/table.jpg", Body=photo.encode("jpeg"))

    counted = requests.get(f"{url}/countme/photos/table.jpg", timeout=30)
    assert counted.status_code == 200, counted.text
    assert counted.json()["total"] == pytest.approx(photo.total_cents / 100)

    missing = requests.get(f"{url}/countme/photos/missing.jpg", timeout=30)
    assert missing.status_code == 404
    assert "no object under key" in missing.json()["error"]


def test_server_keeps_connections_alive_between_requests(service):
    # gunicorn answers "Connection: close" when it will not keep the connection; the load balancer
    # reuses connections, and one closed under it turns into a 502.
    url, _ = service
    with requests.Session() as session:
        answers = [session.get(f"{url}/healthz", timeout=10) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 200]
    assert all(a.headers.get("Connection", "").lower() == "keep-alive" for a in answers)
