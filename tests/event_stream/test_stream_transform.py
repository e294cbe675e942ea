"""The record transform with Firehose-shaped events: every record id answered once, in order, with the right
result; the answer under Lambda's 6 MB; the package the stack deploys runs as Lambda imports it."""
from __future__ import annotations

import base64
import json
import subprocess
import sys
import textwrap
import zipfile

import pytest

from components import packaging
from runtime.stream_transform import contract, transform
from tests.event_stream.firehose_support import decoded, event, record_id, settings

GOOD = {"event_id": "e-1", "event_type": "click", "occurred_at": "2025-01-31T12:00:00.123Z", "user_id": 42,
        "page": "/", "duration_ms": 1200, "amount": None, "consent": True}


def run(payloads, **changes):
    outcome = transform.transform(event(payloads)["records"], settings(**changes))
    assert [e["recordId"] for e in outcome.records] == [record_id(i) for i in range(len(payloads))]
    return outcome


def one(payload, **changes) -> dict:
    [entry] = run([payload], **changes).records
    return entry


def test_a_valid_record_passes_on_one_line_with_the_newline_firehose_does_not_add():
    pretty = json.dumps(GOOD, indent=2).encode()  # spread over lines, as a producer might send it
    entry = one(pretty)
    assert entry["result"] == "Ok"
    line = decoded(entry)
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    assert json.loads(line) == GOOD and list(json.loads(line)) == list(GOOD)  # key order kept


@pytest.mark.parametrize("payload, reason", [
    ("%%% not base64 %%%", "not base64"),
    (b"\xff\xfe not utf-8", "not UTF-8 JSON"),
    (b'{"event_id": "e-1", ', "not UTF-8 JSON"),
    (b'{"event_id": "e-1", "amount": NaN}', "not UTF-8 JSON"),
    (b'["a", "list"]', "not a JSON object"),
    (json.dumps({**GOOD, "event_id": None}).encode(), "missing required field"),
    (json.dumps({k: v for k, v in GOOD.items() if k != "occurred_at"}).encode(), "missing required field"),
    (json.dumps({**GOOD, "user_id": "42"}).encode(), "wrong type"),
    (json.dumps({**GOOD, "duration_ms": 2**31}).encode(), "wrong type"),
    (json.dumps({**GOOD, "consent": 1}).encode(), "wrong type"),
    (json.dumps({**GOOD, "user_id": True}).encode(), "wrong type"),
    (json.dumps({**GOOD, "occurred_at": "31/01/2025"}).encode(), "wrong type"),
    (json.dumps({**GOOD, "occurred_at": "2025-02-30T00:00:00Z"}).encode(), "wrong type"),
])
def test_malformed_records_fail_with_empty_data_and_a_counted_reason(payload, reason):
    outcome = run([payload])
    assert outcome.records[0]["result"] == transform.FAILED and outcome.records[0]["data"] == ""
    assert dict(outcome.reasons) == {reason: 1}


def test_numbers_timestamps_and_nulls_that_fit():
    fits = {**GOOD, "amount": 3, "duration_ms": -5, "occurred_at": 1735689600000, "page": None}
    assert one(json.dumps(fits).encode())["result"] == "Ok"
    assert one(json.dumps({**GOOD, "occurred_at": "2025-01-31 12:00:00.123456789"}).encode())["result"] == "Ok"


def test_unknown_fields_pass_or_fail_as_configured():
    extra = json.dumps({**GOOD, "referrer": "x"}).encode()
    assert one(extra)["result"] == "Ok"
    assert one(extra, allow_unknown_fields=False)["result"] == transform.FAILED


def test_drop_rules_drop_valid_records_only_and_compare_by_kind():
    heartbeat = json.dumps({**GOOD, "event_type": "heartbeat"}).encode()
    assert one(heartbeat) == {"recordId": record_id(0), "result": "Dropped", "data": ""}
    invalid_heartbeat = json.dumps({**GOOD, "event_type": "heartbeat", "user_id": "x"}).encode()
    assert one(invalid_heartbeat)["result"] == transform.FAILED  # a bad record is kept for a look, not dropped
    by_number = {"duration_ms": (0,)}
    assert one(json.dumps({**GOOD, "duration_ms": 0}).encode(), drop_when=by_number)["result"] == "Dropped"
    assert one(json.dumps({**GOOD, "consent": False}).encode(), drop_when={"consent": (0,)})["result"] == "Ok"


def test_oversize_records_fail():
    big = json.dumps({**GOOD, "page": "x" * 70_000}).encode()
    assert one(big)["result"] == transform.FAILED
    assert one(big, max_record_bytes=100_000)["result"] == "Ok"


def test_a_mixed_batch_accounts_for_every_record_once_in_order():
    good = json.dumps(GOOD).encode()
    payloads = [good, "!!", json.dumps({**GOOD, "event_type": "heartbeat"}).encode(), b"[]", good] * 200
    outcome = run(payloads)
    results = [e["result"] for e in outcome.records]
    assert results == ["Ok", transform.FAILED, "Dropped", transform.FAILED, "Ok"] * 200
    assert dict(outcome.counts) == {"Ok": 400, transform.FAILED: 400, "Dropped": 200}
    assert len({e["recordId"] for e in outcome.records}) == 1000


def test_the_answer_stays_under_the_lambda_limit_and_still_names_every_record():
    # 8 records of ~900 KB: their transformed data (base64) would be ~9.6 MB; the answer may hold 6 MB.
    payloads = [json.dumps({**GOOD, "page": chr(97 + i) * 900_000}).encode() for i in range(8)]
    outcome = run(payloads, max_record_bytes=contract.FIREHOSE_MAX_RECORD_BYTES)
    size = len(json.dumps(outcome.response()))
    assert size <= contract.LAMBDA_RESPONSE_MAX_BYTES
    assert [e["result"] for e in outcome.records] == ["Ok"] * 5 + [transform.FAILED] * 3
    assert dict(outcome.reasons) == {"answer would exceed the Lambda response limit": 3}
    assert json.loads(decoded(outcome.records[4]))["page"][0] == "e"


def test_the_size_reckoning_is_exact_for_any_mix():
    payloads = [json.dumps({**GOOD, "page": "p" * n}).encode() for n in range(0, 3000, 7)] + ["??"] * 50
    outcome = run(payloads)
    exact = len(json.dumps(outcome.response()))
    limit = exact  # the same batch with the limit at exactly its answer's size still fits whole
    again = transform.transform(event(payloads)["records"], settings(), limit=limit)
    assert again.records == outcome.records
    tighter = transform.transform(event(payloads)["records"], settings(), limit=limit - 1)
    assert len(json.dumps(tighter.response())) <= limit - 1 and tighter.counts["Ok"] == outcome.counts["Ok"] - 1


def test_settings_round_trip_through_the_environment_and_bad_ones_are_refused():
    values = settings(drop_when={"event_type": ("heartbeat", "ping"), "consent": (False,)})
    assert contract.Settings.from_env(values.environment()) == values
    for name, value, message in [
        (contract.ENV_COLUMNS, '{"a": "varchar"}', "columns.a"),
        (contract.ENV_COLUMNS, "not json", "must be JSON objects"),
        (contract.ENV_REQUIRED, "event_id,nope", "required: 'nope'"),
        (contract.ENV_DROP_WHEN, '{"nope": [1]}', "drop_when: 'nope'"),
        (contract.ENV_ALLOW_UNKNOWN, "maybe", contract.ENV_ALLOW_UNKNOWN),
        (contract.ENV_MAX_RECORD_BYTES, "2000000", "max_record_bytes"),
    ]:
        with pytest.raises(ValueError, match=message):
            contract.Settings.from_env({**values.environment(), name: value})


def test_the_deployed_package_runs_with_its_files_at_the_root(tmp_path):
    """What the stack deploys (the archive of runtime/stream_transform), imported as Lambda imports it."""
    with zipfile.ZipFile(tmp_path / "package.zip", "w") as package:
        for name, asset in packaging.source_archive(contract.SOURCE_DIR).assets.items():
            package.write(packaging.project_path(asset.path), name)
    root = tmp_path / "task"
    zipfile.ZipFile(tmp_path / "package.zip").extractall(root)
    payloads = [base64.b64encode(json.dumps(GOOD).encode()).decode(), "%%"]
    script = textwrap.dedent(f"""
        import json, handler
        event = {{"records": [{{"recordId": "a", "data": {payloads[0]!r}}}, {{"recordId": "b", "data": "%%"}}]}}
        print(json.dumps(handler.handler(event, None)))
    """)
    env = {**settings().environment(), "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-c", script], cwd=root, env=env, capture_output=True, text=True,
                          check=True)
    answer = json.loads(done.stdout.splitlines()[-1])
    assert [(e["recordId"], e["result"]) for e in answer["records"]] == [("a", "Ok"), ("b", transform.FAILED)]
