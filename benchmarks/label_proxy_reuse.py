"""Benchmark: what the label proxy saves per invocation by keeping its session and ID token.

Compares, in one run, against the same loopback token endpoint and token-checking function front
(tests/label_detector/label_fakes.py) with the key in moto Secrets Manager:
  warm    one Lambda container serving every invocation: one Secrets Manager read, one ID token,
          one kept-alive connection (what runtime/label_proxy/handler.py does);
  cold    every invocation in a fresh container (the handler module re-imported): secret read,
          RSA-signed assertion, token request and a new connection each time, i.e. the cost of
          not reusing anything;
  fetch   warm, but the image is an http:// URL: the proxy resolves and judges its host, fetches it
          through the guarded connection (from an image host on 127.0.0.1, which the benchmark lets
          through as the tests do) and posts its bytes, instead of passing a gs:// URI on.

    .venv/bin/python benchmarks/label_proxy_reuse.py [--invocations N]

Loopback figures: they leave out network latency to Google, which makes reuse matter more.
"""

import argparse
import importlib
import ipaddress
import json
import os
import statistics
import sys
import time
from pathlib import Path
from types import SimpleNamespace

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))  # so the script runs from any directory

import boto3  # noqa: E402
from moto import mock_aws  # noqa: E402

from tests.label_detector.label_fakes import (  # noqa: E402
    CAT_JPEG,
    CloudRunFront,
    ImageHost,
    Reply,
    TokenEndpoint,
    http_api_event,
)

CONTEXT = SimpleNamespace(aws_request_id="bench", get_remaining_time_in_millis=lambda: 29_000)


def load_proxy():
    import runtime.label_proxy.guard as guard
    import runtime.label_proxy.handler as handler_module

    if not hasattr(guard, "judged_is_public"):  # let the image host's address through, once
        guard.judged_is_public, loopback = guard.is_public, ipaddress.ip_address("127.0.0.1")
        guard.is_public = lambda address: address == loopback or guard.judged_is_public(address)
    return importlib.reload(handler_module)


def run(invocations: int, fresh_container_each_time: bool, image_uri: str) -> list[float]:
    proxy = load_proxy()
    timings = []
    for n in range(invocations):
        if fresh_container_each_time:
            proxy = load_proxy()
        started = time.perf_counter()
        response = proxy.handler(http_api_event(f"imageUri={image_uri.format(n=n)}"), CONTEXT)
        timings.append((time.perf_counter() - started) * 1000)
        assert response["statusCode"] == 200, response
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--invocations", type=int, default=200, help="invocations per mode (default 200)")
    invocations = parser.parse_args().invocations
    os.environ.update(AWS_DEFAULT_REGION="eu-west-1", AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench")
    with mock_aws(), TokenEndpoint() as token_endpoint, CloudRunFront(token_endpoint) as front, ImageHost() as images:
        images.replies["/cat.jpg"] = Reply(200, CAT_JPEG, headers={"Content-Type": "image/jpeg"})
        key = token_endpoint.new_service_account_key()
        arn = boto3.client("secretsmanager").create_secret(Name="bench/gcp-caller", SecretString=json.dumps(key))["ARN"]
        os.environ.update(GFUNC_URL=front.url, GCP_CREDENTIALS_SECRET_ARN=arn, ALLOWED_GS_BUCKETS="photos")

        print(f"{invocations} invocations per mode; latency of handler() in ms")
        print(f"{'mode':<6} {'mean':>7} {'p50':>7} {'p95':>7} {'tokens minted':>14}")
        modes = (("warm", False, "gs://photos/{n}.jpg"), ("cold", True, "gs://photos/{n}.jpg"),
                 ("fetch", False, images.url("/cat.jpg")))
        for mode, fresh, image_uri in modes:
            hits_before = token_endpoint.hits
            timings = run(invocations, fresh, image_uri)
            p95 = statistics.quantiles(timings, n=20)[-1]
            print(
                f"{mode:<6} {statistics.mean(timings):7.2f} {statistics.median(timings):7.2f} {p95:7.2f} "
                f"{token_endpoint.hits - hits_before:14d}"
            )


if __name__ == "__main__":
    main()
