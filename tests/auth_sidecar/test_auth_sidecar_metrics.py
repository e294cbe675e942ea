"""The sidecar's awsjwtauth metrics: valid embedded metric format, counted right, in the class and in the running
sidecar (its stdout, as awslogs ships it)."""

import json
import signal
import sys
import time

import requests

from runtime.auth_sidecar import metrics as names
from runtime.auth_sidecar.metrics import Metrics
from tests.auth_sidecar.alb_auth_support import (
    ManagedProcess,
    SigningKey,
    alb_token,
    free_port,
    start_sidecar,
    user_claims,
)
from tests.auth_sidecar.emf import parse


def collect(lines: list[str]) -> tuple[dict, dict, list]:
    """Sums of the service-level counts, errors by reason and the key fetch times of EMF lines."""
    counts, errors, fetches = {}, {}, []
    for document in map(parse, lines):
        [directive] = document["_aws"]["CloudWatchMetrics"]
        assert directive["Namespace"] == "awsjwtauth"
        if "reason" in document:
            assert directive["Dimensions"] == [["service", "reason"]]
            errors[document["reason"]] = errors.get(document["reason"], 0) + document["error"]
            continue
        assert directive["Dimensions"] == [["service"]]
        for metric in directive["Metrics"]:
            if metric["Name"] == names.KEY_FETCH_MS:
                assert metric["Unit"] == "Milliseconds"
                fetches += document[names.KEY_FETCH_MS]
            else:
                assert metric["Unit"] == "Count"
                counts[metric["Name"]] = counts.get(metric["Name"], 0) + document[metric["Name"]]
    return counts, errors, fetches


def test_a_flush_writes_valid_emf_and_starts_counting_again():
    lines = []
    metrics = Metrics("test-auth-sidecar", write=lines.append, clock=lambda: 1_700_000_000.25)
    for _ in range(3):
        metrics.success()
    metrics.error("expired")
    metrics.error("expired")
    metrics.error("wrong_signer")
    metrics.key_cache(hit=False)
    metrics.key_cache(hit=True)
    metrics.key_fetch(97.25)

    documents = metrics.flush()

    assert [json.loads(line) for line in lines] == documents
    assert collect(lines) == ({"info.auth_user": 3, "restart": 1, "cache.keys.hits": 1, "cache.keys.misses": 1},
                              {"expired": 2, "wrong_signer": 1}, [97.25])
    assert {d["_aws"]["Timestamp"] for d in documents} == {1_700_000_000_250}
    assert {d["service"] for d in documents} == {"test-auth-sidecar"}

    metrics.success()
    lines.clear()
    metrics.flush()
    assert collect(lines) == ({"info.auth_user": 1, "restart": 0, "cache.keys.hits": 0, "cache.keys.misses": 0}, {}, [])


def test_fetch_times_stay_within_the_100_values_emf_allows():
    lines = []
    metrics = Metrics("svc", write=lines.append)
    for i in range(150):
        metrics.key_fetch(i)

    metrics.flush()

    assert collect(lines)[2] == list(range(100))


def test_a_background_flush_runs_every_interval():
    lines = []
    metrics = Metrics("svc", write=lines.append)
    metrics.start(0.05)
    metrics.success()
    deadline = time.monotonic() + 5
    while not lines and time.monotonic() < deadline:
        time.sleep(0.01)
    metrics.stop()

    assert collect(lines)[0]["info.auth_user"] == 1


def test_the_running_sidecar_counts_what_it_decided(tmp_path, key_server, signing_key):
    sidecar, address = start_sidecar(tmp_path, key_url_template=key_server.url_template,
                                     ENV_METRICS_INTERVAL_SECONDS="3600", ENV_METRICS_SERVICE="test-auth-sidecar")
    try:
        def auth(token):
            headers = {} if token is None else {"X-Amzn-Oidc-Data": token}
            return requests.get(f"http://{address}/auth", headers=headers, timeout=5).status_code

        distinct = [alb_token(signing_key, user_claims(sub=f"user-{i}")) for i in range(3)]
        statuses = [auth(token) for token in distinct]            # one key fetch (a miss), then two hits
        statuses.append(auth(distinct[0]))                         # the cached decision: no key lookup
        statuses += [auth(alb_token(signing_key, user_claims(expires_in=-60))) for _ in range(2)]  # two hits
        statuses.append(auth(None))                                # no token: refused before any key lookup
        statuses.append(auth(alb_token(SigningKey())))             # unknown kid: a miss, and a fetch
    finally:
        sidecar.process.send_signal(signal.SIGTERM)  # as ECS stops it: the last counts are flushed on the way out
        sidecar.process.wait(timeout=10)
        sidecar.stop()

    assert statuses == [200, 200, 200, 200, 401, 401, 401, 401]
    lines = [line for line in sidecar.log_text().splitlines() if '"_aws"' in line]
    counts, errors, fetches = collect(lines)
    assert counts == {"info.auth_user": 4, "restart": 1, "cache.keys.hits": 4, "cache.keys.misses": 2}
    assert errors == {"expired": 2, "missing_token": 1, "unknown_kid": 1}
    assert len(fetches) == 2 and all(0 < ms < 5000 for ms in fetches)
    assert {json.loads(line)["service"] for line in lines} == {"test-auth-sidecar"}


def test_metrics_off_writes_no_emf(tmp_path, key_server, signing_key):
    port = free_port()
    env = {"ALB_ARN": "arn:aws:elasticloadbalancing:eu-west-1:1:loadbalancer/app/x/1", "VALID_DOMAINS": "example.com",
           "KEY_URL_TEMPLATE": key_server.url_template, "AWS_REGION": "eu-west-1", "METRICS_INTERVAL_SECONDS": "0",
           "PATH": "/usr/bin:/bin"}
    sidecar = ManagedProcess("sidecar", [sys.executable, "-m", "runtime.auth_sidecar", "--port", str(port)],
                             tmp_path / "sidecar.log", env=env)
    try:
        sidecar.wait_until_serving(f"http://127.0.0.1:{port}/healthz")
        requests.get(f"http://127.0.0.1:{port}/auth", headers={"X-Amzn-Oidc-Data": alb_token(signing_key)}, timeout=5)
    finally:
        sidecar.process.send_signal(signal.SIGTERM)
        sidecar.process.wait(timeout=10)
        sidecar.stop()

    assert sidecar.process.returncode == 0
    assert '"_aws"' not in sidecar.log_text()
