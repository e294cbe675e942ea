"""Checkov through the export: dev and prod pass with every skip justified and used; planted mistakes are found;
the scan makes no network connection."""
from __future__ import annotations

import json
import socket
import subprocess
import sys
import textwrap

import pytest
from rich.console import Console
from typer.testing import CliRunner

from planning.project import PROJECT_DIR, load_environment
from stacks import scan
from stacks.cli import app, extend_offline_report
from stacks.markdown import Report, render

PLANTED = {  # check id -> the planted resource it must name
    "CKV_AWS_70": "aws:s3/bucketPolicy:BucketPolicy::planted-public",  # a policy allowing any principal
    "CKV_AWS_24": "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule::planted-ssh-from-anywhere",
    "CKV_AWS_27": "aws:sqs/queue:Queue::planted-plaintext",  # queue without encryption
    "CKV2_AWS_40": "aws:iam/rolePolicy:RolePolicy::planted-admin",  # iam:* on *
    "CKV_AWS_309": "aws:apigatewayv2/route:Route::planted-open-route",  # route without authorisation
}


@pytest.mark.parametrize("environment", ["dev", "prod"])
def test_the_environment_passes_checkov_with_every_failure_fixed_or_skipped_for_a_reason(scans, environment):
    result = scans[environment]
    counts = result.counts()
    assert counts["evaluated"] > 500 and counts["passed"] > 450  # the checks really ran on the whole plan
    assert [(f.check_id, f.urn) for f in result.of("failed")] == []
    assert result.exit_code == 0
    assert all(f.reason for f in result.of("skipped"))
    print(f"{environment}: {counts}")


def test_every_skip_is_used_by_dev_or_prod(scans):
    stale = {(s.check_id, s.reason) for s in scans["dev"].unused_skips} & \
            {(s.check_id, s.reason) for s in scans["prod"].unused_skips}
    assert stale == set()


def test_graph_checks_connect_resources_through_the_references(scans):
    passed = {(f.check_id, f.urn.rsplit("::", 1)[-1]) for f in scans["dev"].of("passed")}
    assert ("CKV2_AWS_6", "dev-tom-thumb-media") in passed  # the bucket has its public-access block
    assert ("CKV2_AWS_11", "dev-vpc") in passed  # the VPC has its flow log
    assert ("CKV2_AWS_12", "dev-vpc") in passed  # its default security group has no rules
    assert ("CKV2_AWS_5", "dev-app") in passed  # the app group is attached (to the services)


@pytest.mark.parametrize("check_id", sorted(PLANTED))
def test_a_planted_misconfiguration_is_found_and_named_by_its_urn(scans, check_id):
    found = [f for f in scans["planted"].of("failed") if f.check_id == check_id]
    assert [f.urn.split("::", 2)[2].rsplit("$", 1)[-1] for f in found] == [PLANTED[check_id]]
    assert found[0].stack == "test-components" and found[0].check_name


def test_the_planted_stack_fails_the_scan_and_its_secure_twins_pass(scans):
    assert scans["planted"].exit_code == 1
    passed = {(f.check_id, f.urn.rsplit("::", 1)[-1]) for f in scans["dev"].of("passed")}
    assert ("CKV_AWS_309", "dev-label-proxy-detect") in passed  # the proxy's route requires SigV4 (AWS_IAM)
    assert ("CKV_AWS_27", "dev-tom-thumb-invoker-failures") in passed  # its queue is encrypted (SSE-SQS)


def test_a_skip_turns_a_failure_into_a_skipped_result_with_its_reason(scans):
    findings = scans["planted"].findings
    urn = next(f.urn for f in findings if f.check_id == "CKV_AWS_27" and f.result == "failed")
    skip = scan.Skip("CKV_AWS_27", (urn.replace("planted-plaintext", "planted-*"),), "planted queue: test skip")
    elsewhere = scan.Skip("CKV_AWS_27", ("urn:pulumi:prod-*",), "a pattern that covers nothing here")
    judged, unused = scan.apply_skips(findings, [skip, elsewhere])
    queue = [f for f in judged if f.check_id == "CKV_AWS_27" and f.urn == urn]
    assert [(f.result, f.reason) for f in queue] == [("skipped", "planted queue: test skip")]
    assert unused == [elsewhere]
    not_passed = len(findings) - len(scans["planted"].of("passed"))  # the project's skips no longer apply
    assert len([f for f in judged if f.result == "failed"]) == not_passed - 1
    unskipped, _ = scan.apply_skips(judged, [])  # without skips every skipped result fails again
    assert {f.result for f in unskipped} == {"passed", "failed"}


@pytest.mark.parametrize("entry, message", [
    ({"id": "CKV_AWS_27", "resources": "all"}, "needs exactly the keys id, resources and reason"),
    ({"id": "AWS_27", "resources": "all", "reason": "because it is fine here"}, "is not a Checkov check id"),
    ({"id": "CKV_AWS_27", "resources": ["dev-*"], "reason": "because it is fine here"}, "list of URN patterns"),
    ({"id": "CKV_AWS_27", "resources": "all", "reason": "fine"}, "must say why"),
])
def test_an_invalid_skip_is_refused_naming_the_entry(tmp_path, entry, message):
    path = tmp_path / "checkov.yaml"
    path.write_text(__import__("yaml").safe_dump({"skips": [entry]}))
    with pytest.raises(scan.ScanError, match=message) as raised:
        scan.load_skips(path)
    assert "checkov.yaml, skip 1" in str(raised.value)


def test_the_summary_goes_into_the_offline_report_beside_the_cost(scans, plans, monkeypatch):
    monkeypatch.setattr(scan, "scan_environment", lambda environment, plans: scans[environment])
    env = load_environment("dev")
    report = Report("Offline plan: dev", [])
    extend_offline_report(report, env, list(env.stacks), plans=plans["dev"])
    assert [s.title for s in report.sections] == ["Cost", "Checkov"]
    counts = scans["dev"].counts()
    text = render(report)
    assert f"**{counts['evaluated']} checks evaluated**, {counts['passed']} passed, 0 failed, " \
           f"{counts['skipped']} skipped" in text
    assert "| `dev-network` |" in text and "Not scanned (no Terraform type): `docker-build:index:Image`" in text


GUARDED_CONNECT = textwrap.dedent("""
    import socket, sys
    sys.path.insert(0, "stacks")
    import checkov_runner
    port = int(sys.argv[1])
    socket.create_connection(("127.0.0.1", port), timeout=5).close()  # before the guard: connects
    checkov_runner.deny_network()
    for attempt in (lambda: socket.create_connection(("127.0.0.1", port), timeout=5),
                    lambda: socket.socket().connect(("127.0.0.1", port)),
                    lambda: socket.getaddrinfo("example.com", 443)):
        try:
            attempt()
            print("connected")
        except OSError as error:
            print("refused" if "refused during the offline scan" in str(error) else f"other: {error}")
    print(len(checkov_runner.NETWORK_ATTEMPTS))
""")


def test_the_runners_guard_refuses_and_records_every_connection():
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(8)
        completed = subprocess.run([sys.executable, "-c", GUARDED_CONNECT, str(server.getsockname()[1])],
                                   cwd=PROJECT_DIR, capture_output=True, text=True, timeout=60)
    assert completed.stdout.split() == ["refused", "refused", "refused", "3"], completed.stderr


def test_the_scan_ran_checkov_offline_with_no_connection_attempted(scans):
    """Every scan above ran under the runner's guard, which recorded no attempt (run_checkov refuses any)."""
    assert {r.checkov_version for r in scans.values()} == {"3.3.30"}
    assert [r.network_attempts for r in scans.values()] == [[], [], []]


def test_the_scan_command_judges_the_selected_stack_and_exits_0_when_every_failure_is_skipped():
    result = CliRunner().invoke(app, ["scan", "dev", "--stack", "alerts", "--json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["summary"] == {"evaluated": 4, "passed": 3, "failed": 0, "skipped": 1}
    assert document["stacks"]["dev (providers)"]["passed"] == 1  # the provider block holds no credentials
    [finding] = document["findings"]
    assert finding["urn"].endswith("cloud-patterns:operations:AlertTopic$aws:sns/topic:Topic::dev-alerts")
    assert (finding["check_id"], finding["result"]) == ("CKV_AWS_26", "skipped") and finding["reason"]


def test_the_terminal_report_names_each_failed_or_skipped_check_under_its_stack_and_urn(scans):
    console = Console(width=400, record=True)
    console.print(scan.render(scans["planted"]))
    text = console.export_text()
    assert text.startswith(f"planted: Checkov 3.3.30, {scans['planted'].counts()['evaluated']} checks evaluated")
    assert "urn:pulumi:test-components::cloud-patterns::aws:sqs/queue:Queue::planted-plaintext\n" in text
    assert "failed CKV_AWS_27 Ensure all data stored in the SQS queue is encrypted" in text
    assert "skipped CKV_AWS_145 Ensure that S3 buckets are encrypted with KMS by default (skipped: SSE-S3" in text
    assert "not scanned:" not in text  # the planted stack has only types with a Terraform counterpart
