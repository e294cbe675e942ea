"""functions-framework serving runtime/label_detector (Cloud Vision faked at its REST API),
called over loopback HTTP directly and through the Lambda proxy, with every error case."""

import json
import time

import pytest
import requests

from runtime.label_detector.contract import MAX_IMAGE_BYTES
from tests.label_detector.label_fakes import (
    CAT_JPEG,
    VISION_DENIED_GS_URI,
    VISION_DENIED_MESSAGE,
    VISION_DENIED_URI,
    VISION_FLAKY_URI,
    VISION_UNREACHABLE_MESSAGE,
    VISION_UNREACHABLE_URI,
    LoopbackServer,
    Reply,
    free_port,
)


def body(response: dict) -> dict:
    return json.loads(response["body"])


# --- the Cloud Function on its own ---------------------------------------------------------


def test_function_labels_the_image_with_vision_scores(label_detector_service):
    response = requests.get(
        label_detector_service.url, params={"imageUri": "https://images.example.com/cat.jpg"}, timeout=10
    )

    assert response.status_code == 200
    assert response.json() == {
        "imageUri": "https://images.example.com/cat.jpg",
        "labels": [
            {"description": "Cat", "score": 0.9812},
            {"description": "Whiskers", "score": 0.9377},
            {"description": "Mammal", "score": 0.91},
        ],
    }


def test_function_uses_the_default_image_when_imageUri_is_missing(label_detector_service):
    response = requests.get(label_detector_service.url, timeout=10)

    assert response.status_code == 200
    assert response.json()["imageUri"] == "gs://cloud-samples-data/vision/label/wakeupcat.jpg"
    assert [label["description"] for label in response.json()["labels"]] == ["Cat", "Sleep"]


@pytest.mark.parametrize(
    "image_uri, error",
    [
        ("ftp://images.example.com/cat.jpg", "imageUri must use http://, https:// or gs://"),
        ("file:///etc/passwd", "imageUri must use http://, https:// or gs://"),
        ("gs://bucket-only", "a gs:// imageUri needs an object name: gs://bucket/object"),
        ("https:///no-host.jpg", "imageUri has no host (or bucket)"),
    ],
)
def test_function_answers_400_for_an_unusable_uri(label_detector_service, image_uri, error):
    calls_before = len(label_detector_service.vision_api.server.received)

    response = requests.get(label_detector_service.url, params={"imageUri": image_uri}, timeout=10)

    assert response.status_code == 400
    assert response.json() == {"imageUri": image_uri, "error": error}
    assert len(label_detector_service.vision_api.server.received) == calls_before


@pytest.mark.parametrize(
    "image_uri, vision_message",
    [(VISION_DENIED_URI, VISION_DENIED_MESSAGE), (VISION_UNREACHABLE_URI, VISION_UNREACHABLE_MESSAGE)],
    ids=["api-error", "per-image-error"],
)
def test_function_answers_502_with_the_vision_message(label_detector_service, image_uri, vision_message):
    response = requests.get(label_detector_service.url, params={"imageUri": image_uri}, timeout=10)

    assert response.status_code == 502
    assert response.json() == {"imageUri": image_uri, "error": f"Cloud Vision: {vision_message}"}


def test_function_retries_a_transient_vision_failure(label_detector_service):
    response = requests.get(label_detector_service.url, params={"imageUri": VISION_FLAKY_URI}, timeout=10)

    assert response.status_code == 200
    assert response.json()["labels"] == [{"description": "Flake", "score": 0.5}]
    assert label_detector_service.vision_api.flaky_calls == 2


def test_function_keeps_one_vision_client_per_instance(label_detector_service):
    vision_calls = label_detector_service.vision_api.server.received
    first_call = len(vision_calls)

    for n in range(3):
        response = requests.get(label_detector_service.url, params={"imageUri": f"gs://photos/{n}.jpg"}, timeout=10)
        assert response.status_code == 200

    assert len(vision_calls) == first_call + 3
    # A client built per request would open a new connection each time.
    assert len({call.client_port for call in vision_calls[first_call:]}) == 1


def test_function_rejects_other_methods(label_detector_service):
    response = requests.put(label_detector_service.url, params={"imageUri": "gs://b/o.jpg"}, timeout=10)

    assert response.status_code == 405


def test_function_labels_posted_image_bytes(label_detector_service):
    response = requests.post(label_detector_service.url, data=CAT_JPEG, timeout=10,
                             headers={"Content-Type": "application/octet-stream"})

    assert response.status_code == 200
    assert response.json()["imageUri"] is None
    assert [label["description"] for label in response.json()["labels"]] == ["Cat", "Whiskers", "Mammal"]
    assert label_detector_service.vision_api.contents[-1] == CAT_JPEG


@pytest.mark.parametrize("size, status", [(0, 400), (MAX_IMAGE_BYTES + 1, 413)])
def test_function_refuses_an_empty_or_too_large_posted_image(label_detector_service, size, status):
    calls_before = len(label_detector_service.vision_api.server.received)

    response = requests.post(label_detector_service.url, data=b"x" * size, timeout=30)

    assert response.status_code == status
    assert "error" in response.json()
    assert len(label_detector_service.vision_api.server.received) == calls_before


# --- proxy → function over loopback ---------------------------------------------------------
# http(s) images are fetched by the proxy (from the image host on 127.0.0.1, let through by
# loopback_host_allowed) and posted to the function; gs:// URIs are passed on for Vision to read.


def test_proxy_answers_the_functions_labels(
    cold_proxy, loopback_host_allowed, images, label_detector_service, api_event, lambda_context
):
    proxy = loopback_host_allowed(cold_proxy(GFUNC_URL=label_detector_service.url))
    image_uri = images.url("/cat.jpg")

    response = proxy.handler(api_event(f"imageUri={requests.utils.quote(image_uri, safe='')}"), lambda_context)

    assert response["statusCode"] == 200
    assert response["headers"]["Content-Type"] == "application/json"
    assert body(response) == {
        "imageAnalyzed": image_uri,
        "labels": [
            {"description": "Cat", "score": 0.9812},
            {"description": "Whiskers", "score": 0.9377},
            {"description": "Mammal", "score": 0.91},
        ],
        "message": "3 labels detected",
        "report": "Cat (98%), Whiskers (94%), Mammal (91%)",
    }
    assert label_detector_service.vision_api.contents[-1] == CAT_JPEG
    assert [r.path for r in images.received] == ["/cat.jpg"]


def test_proxy_passes_a_gs_uri_for_vision_to_read(cold_proxy, label_detector_service, api_event, lambda_context):
    proxy = cold_proxy(GFUNC_URL=label_detector_service.url)

    response = proxy.handler(api_event("imageUri=gs://cloud-samples-data/vision/label/wakeupcat.jpg"), lambda_context)

    assert response["statusCode"] == 200
    assert body(response)["report"] == "Cat (99%), Sleep (80%)"


def test_proxy_reports_an_image_without_labels(
    cold_proxy, loopback_host_allowed, images, label_detector_service, api_event, lambda_context
):
    proxy = loopback_host_allowed(cold_proxy(GFUNC_URL=label_detector_service.url))

    response = proxy.handler(api_event(f"imageUri={images.url('/blank.png')}"), lambda_context)

    assert response["statusCode"] == 200
    assert body(response)["labels"] == []
    assert body(response)["report"] == "no labels found"


def test_proxy_uses_DEFAULT_IMAGE_URI_when_imageUri_is_missing(
    cold_proxy, loopback_host_allowed, images, label_detector_service, api_event, lambda_context
):
    proxy = loopback_host_allowed(cold_proxy(GFUNC_URL=label_detector_service.url,
                                             DEFAULT_IMAGE_URI=images.url("/cat.jpg")))

    for query in (None, "imageUri="):
        response = proxy.handler(api_event(query), lambda_context)

        assert response["statusCode"] == 200
        assert body(response)["imageAnalyzed"] == images.url("/cat.jpg")
        assert body(response)["labels"][0]["description"] == "Cat"


def test_proxy_turns_a_vision_error_into_502_with_its_message(
    cold_proxy, loopback_host_allowed, images, label_detector_service, api_event, lambda_context
):
    images.replies["/not-an-image.jpg"] = Reply(200, b"<html>not an image</html>")
    proxy = loopback_host_allowed(cold_proxy(GFUNC_URL=label_detector_service.url))
    cases = {VISION_DENIED_GS_URI: VISION_DENIED_MESSAGE, images.url("/not-an-image.jpg"): "Bad image data."}

    for image_uri, vision_message in cases.items():
        response = proxy.handler(api_event(f"imageUri={image_uri}"), lambda_context)

        assert response["statusCode"] == 502
        assert body(response) == {
            "imageAnalyzed": image_uri,
            "labels": [],
            "message": f"the label detector failed (HTTP 502): Cloud Vision: {vision_message}",
            "report": "",
        }


def test_proxy_passes_the_functions_400_through(cold_proxy, label_detector_service, api_event, lambda_context):
    proxy = cold_proxy(GFUNC_URL=label_detector_service.url)

    response = proxy.handler(api_event("imageUri=gs://photos"), lambda_context)

    assert response["statusCode"] == 400
    assert body(response)["message"] == "a gs:// imageUri needs an object name: gs://bucket/object"


# --- proxy input checks (the function must not even be called) -------------------------------


@pytest.fixture
def upstream():
    """A scripted stand-in for the function; `upstream.reply` is what it answers."""
    server = LoopbackServer(lambda request: server.reply)
    server.reply = Reply(200, {"imageUri": "x", "labels": [{"description": "Thing", "score": 0.5}]})
    with server:
        yield server


def test_proxy_rejects_a_repeated_imageUri(upstream, cold_proxy, api_event, lambda_context):
    proxy = cold_proxy(GFUNC_URL=upstream.url)

    response = proxy.handler(api_event("imageUri=gs://photos/1.jpg&imageUri=gs://photos/2.jpg"), lambda_context)

    assert response["statusCode"] == 400
    assert body(response)["message"] == "give imageUri only once"
    assert upstream.received == []


# --- proxy against a failing function ---------------------------------------------------------


def test_proxy_without_credentials_secret_sends_no_token_and_reuses_its_connection(
    upstream, cold_proxy, api_event, lambda_context
):
    proxy = cold_proxy(GFUNC_URL=upstream.url)

    statuses = [proxy.handler(api_event("imageUri=gs://photos/b.jpg"), lambda_context)["statusCode"] for _ in range(3)]

    assert statuses == [200, 200, 200]
    assert [request.headers.get("authorization") for request in upstream.received] == [None] * 3
    assert len({request.client_port for request in upstream.received}) == 1  # one keep-alive connection


@pytest.mark.parametrize(
    "reply, status, message",
    [
        (Reply(404, {"error": "no such image"}), 404, "no such image"),
        (Reply(429, "Rate exceeded."), 429, "Rate exceeded."),
        (Reply(500, {"error": "boom"}), 502, "the label detector failed (HTTP 500): boom"),
        (
            Reply(503, "<html>Service Unavailable</html>"),
            502,
            "the label detector failed (HTTP 503): <html>Service Unavailable</html>",
        ),
        (Reply(200, "not json"), 502, "the label detector sent an answer that is not a label list"),
        (Reply(200, {"labels": "Cat"}), 502, "the label detector sent an answer that is not a label list"),
        (
            Reply(302, "", headers={"Location": "http://169.254.169.254/"}),
            502,
            "the label detector failed (HTTP 302): Found",
        ),
        (Reply(403, "Forbidden"), 502, "the label detector refused the proxy's credentials"),
    ],
    ids=["404", "429", "500", "503-html", "200-not-json", "200-wrong-shape", "redirect", "403"],
)
def test_proxy_maps_upstream_answers(upstream, cold_proxy, api_event, lambda_context, reply, status, message):
    upstream.reply = reply
    proxy = cold_proxy(GFUNC_URL=upstream.url)

    response = proxy.handler(api_event("imageUri=gs://photos/b.jpg"), lambda_context)

    assert (response["statusCode"], body(response)["message"]) == (status, message)
    assert body(response)["labels"] == []
    assert len(upstream.received) == 1  # no redirect followed


def test_proxy_answers_504_when_the_function_is_too_slow(upstream, cold_proxy, api_event, lambda_context):
    upstream.reply = Reply(200, {"labels": []}, delay=10)
    proxy = cold_proxy(GFUNC_URL=upstream.url, GFUNC_TIMEOUT_SECONDS=0.5)

    started = time.monotonic()
    response = proxy.handler(api_event("imageUri=gs://photos/b.jpg"), lambda_context)

    assert response["statusCode"] == 504
    assert body(response)["message"] == "the label detector did not answer within 0.5 s"
    assert time.monotonic() - started < 3


def test_proxy_keeps_the_upstream_wait_inside_the_lambdas_remaining_time(
    upstream, cold_proxy, api_event, lambda_context
):
    upstream.reply = Reply(200, {"labels": []}, delay=10)
    proxy = cold_proxy(GFUNC_URL=upstream.url)
    lambda_context.get_remaining_time_in_millis = lambda: 1_800

    started = time.monotonic()
    response = proxy.handler(api_event("imageUri=gs://photos/b.jpg"), lambda_context)

    assert response["statusCode"] == 504
    assert body(response)["message"] == "the label detector did not answer within 0.8 s"
    assert time.monotonic() - started < 1.8


def test_proxy_answers_502_when_the_function_cannot_be_reached(cold_proxy, api_event, lambda_context):
    proxy = cold_proxy(GFUNC_URL=f"http://127.0.0.1:{free_port()}/")

    response = proxy.handler(api_event("imageUri=gs://photos/b.jpg"), lambda_context)

    assert response["statusCode"] == 502
    assert body(response)["message"] == "the label detector could not be reached"


def test_proxy_without_GFUNC_URL_is_a_500(cold_proxy, monkeypatch, api_event, lambda_context):
    monkeypatch.delenv("GFUNC_URL", raising=False)
    proxy = cold_proxy()

    response = proxy.handler(api_event("imageUri=gs://photos/b.jpg"), lambda_context)

    assert response["statusCode"] == 500
    assert body(response)["message"] == "the proxy is misconfigured; see its log"


def test_proxy_logs_no_presigned_url_signature(
    upstream, cold_proxy, loopback_host_allowed, images, api_event, lambda_context, caplog
):
    presigned = images.url("/cat.jpg") + "?X-Amz-Credential=AKIAEXAMPLE&X-Amz-Signature=f00dfeed"
    proxy = loopback_host_allowed(cold_proxy(GFUNC_URL=upstream.url))
    caplog.set_level("INFO")

    response = proxy.handler(api_event(f"imageUri={requests.utils.quote(presigned, safe='')}"), lambda_context)

    assert response["statusCode"] == 200
    assert images.received[0].query == {"X-Amz-Credential": ["AKIAEXAMPLE"], "X-Amz-Signature": ["f00dfeed"]}
    (posted,) = upstream.received
    assert (posted.method, posted.query, posted.body) == ("POST", {}, CAT_JPEG)
    assert images.url("/cat.jpg") in caplog.text
    assert "f00dfeed" not in caplog.text and "AKIAEXAMPLE" not in caplog.text
