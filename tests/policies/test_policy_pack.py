"""The CrossGuard pack: every rule registered, and the pack answering the engine's analyzer calls, in process
(through the SDK's analyzer service) and as the Pulumi CLI runs it (a process serving gRPC on loopback)."""
from __future__ import annotations

import select
import signal
import subprocess
from pathlib import Path

import grpc
import pytest
import yaml
from google.protobuf import empty_pb2, json_format, struct_pb2
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc
from pulumi_policy import EnforcementLevel, ResourceValidationPolicy, StackValidationPolicy
from pulumi_policy.policy import _PolicyAnalyzerServicer
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE

from policies import PACK_DIR, rules
from policies.pack import PACK_NAME, build_policies, pack_arguments

URN = "urn:pulumi:dev-app::cloud-patterns::{type}::{name}"
PROTO_LEVEL = {rules.MANDATORY: analyzer_pb2.MANDATORY, rules.ADVISORY: analyzer_pb2.ADVISORY}


def struct(props: dict) -> struct_pb2.Struct:
    return json_format.ParseDict(props, struct_pb2.Struct())


def analyze_request(type_: str, name: str, props: dict) -> analyzer_pb2.AnalyzeRequest:
    return analyzer_pb2.AnalyzeRequest(type=type_, name=name, urn=URN.format(type=type_, name=name),
                                       properties=struct(props))


def stack_resource(type_: str, name: str, props: dict, property_dependencies: dict | None = None):
    return analyzer_pb2.AnalyzerResource(
        type=type_, name=name, urn=URN.format(type=type_, name=name), properties=struct(props),
        propertyDependencies={k: analyzer_pb2.AnalyzerPropertyDependencies(urns=v)
                              for k, v in (property_dependencies or {}).items()})


def diagnostics(response) -> list[tuple[str, int, str]]:
    return [(d.policyName, d.enforcementLevel, d.urn) for d in response.diagnostics]


# A new bucket during a preview: its name is not known yet; the public access block is tied to it only by the
# engine's property dependencies. Encryption and policy are missing.
BUCKET_URN = URN.format(type="aws:s3/bucket:Bucket", name="videos")
PREVIEW_STACK = analyzer_pb2.AnalyzeStackRequest(resources=[
    stack_resource("aws:s3/bucket:Bucket", "videos", {"bucket": UNKNOWN_STRING_VALUE, "forceDestroy": False}),
    stack_resource("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "videos",
                   {"bucket": UNKNOWN_STRING_VALUE, **{flag: True for flag in rules.PUBLIC_ACCESS_FLAGS}},
                   {"bucket": [BUCKET_URN]}),
])
# An ECR repository with mutable tags and no scanning, whose name is not known yet.
MUTABLE_REPOSITORY = analyze_request("aws:ecr/repository:Repository", "images",
                                     {"name": UNKNOWN_STRING_VALUE, "imageTagMutability": "MUTABLE",
                                      "imageScanningConfiguration": {"scanOnPush": False}})
COMPLIANT_REPOSITORY = analyze_request("aws:ecr/repository:Repository", "images",
                                       {"imageTagMutability": "IMMUTABLE",
                                        "imageScanningConfiguration": {"scanOnPush": True}})


def test_the_pack_registers_every_rule_with_its_enforcement_level():
    policies = build_policies()
    assert [p.name for p in policies] == [r.name for r in rules.RULES]
    for policy, rule in zip(policies, rules.RULES, strict=True):
        expected = ResourceValidationPolicy if rule.scope == "resource" else StackValidationPolicy
        assert isinstance(policy, expected), rule.name
        assert policy.enforcement_level == (EnforcementLevel.MANDATORY if rule.enforcement == rules.MANDATORY
                                            else EnforcementLevel.ADVISORY)
        assert policy.description == rule.description


def servicer() -> _PolicyAnalyzerServicer:
    """What ``PolicyPack`` serves, without starting its gRPC server."""
    arguments = pack_arguments()
    return _PolicyAnalyzerServicer(arguments["name"], "1.0.0", arguments["policies"], arguments["enforcement_level"],
                                   description=arguments["description"])


def test_the_analyzer_describes_every_policy():
    info = servicer().GetAnalyzerInfo(None, None)
    assert info.name == PACK_NAME
    assert {p.name: p.enforcementLevel for p in info.policies} == {r.name: PROTO_LEVEL[r.enforcement]
                                                                   for r in rules.RULES}
    stack_policies = {p.name for p in info.policies if p.policy_type == analyzer_pb2.PolicyType.POLICY_TYPE_STACK}
    assert stack_policies == {r.name for r in rules.RULES if r.scope == "stack"}


def test_analyze_reports_a_resources_violations_even_while_parts_are_unknown():
    response = servicer().Analyze(MUTABLE_REPOSITORY, None)
    urn = MUTABLE_REPOSITORY.urn
    assert sorted(diagnostics(response)) == [("ecr-immutable-tags", analyzer_pb2.MANDATORY, urn),
                                             ("ecr-scan-on-push", analyzer_pb2.MANDATORY, urn)]
    assert "MUTABLE" in next(d.message for d in response.diagnostics if d.policyName == "ecr-immutable-tags")
    assert diagnostics(servicer().Analyze(COMPLIANT_REPOSITORY, None)) == []


def test_analyze_stack_relates_resources_through_property_dependencies_during_a_preview():
    response = servicer().AnalyzeStack(PREVIEW_STACK, None)
    assert sorted(diagnostics(response)) == [("s3-default-encryption", analyzer_pb2.MANDATORY, BUCKET_URN),
                                             ("s3-tls-only-policy", analyzer_pb2.MANDATORY, BUCKET_URN)]


def test_the_pack_project_file_runs_python_from_the_projects_virtualenv():
    project = yaml.safe_load((PACK_DIR / "PulumiPolicy.yaml").read_text())
    assert project["runtime"]["name"] == "python"
    virtualenv = (PACK_DIR / project["runtime"]["options"]["virtualenv"]).resolve()
    assert (virtualenv / "bin" / "python").exists()
    assert list(virtualenv.glob("lib/python3*/site-packages/pulumi_policy/__init__.py"))


@pytest.fixture
def served_pack():
    """The pack started the way the Pulumi CLI's analyzer plugin starts it: the virtualenv's python runs
    ``-m pulumi.policy <engine> .`` in the pack's directory, and the pack prints the port it serves on."""
    project = yaml.safe_load((PACK_DIR / "PulumiPolicy.yaml").read_text())
    python = Path(PACK_DIR / project["runtime"]["options"]["virtualenv"], "bin", "python")
    process = subprocess.Popen([str(python), "-u", "-m", "pulumi.policy", "127.0.0.1:1", "."], cwd=PACK_DIR,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    channel = None
    try:
        ready, _, _ = select.select([process.stdout], [], [], 60)
        port = process.stdout.readline().strip() if ready else ""
        if not port.isdigit():
            process.kill()
            pytest.fail(f"the pack did not start: {port!r} {process.stderr.read()}")
        channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        yield analyzer_pb2_grpc.AnalyzerStub(channel)
    finally:
        if channel is not None:
            channel.close()
        process.send_signal(signal.SIGINT)  # the pack stops its server on KeyboardInterrupt
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        process.stdout.close()
        process.stderr.close()


def test_the_served_pack_answers_the_engine_over_grpc(served_pack):
    info = served_pack.GetAnalyzerInfo(empty_pb2.Empty())
    assert info.name == PACK_NAME and len(info.policies) == len(rules.RULES)
    assert {d.policyName for d in served_pack.Analyze(MUTABLE_REPOSITORY).diagnostics} == {
        "ecr-immutable-tags", "ecr-scan-on-push"}
    assert list(served_pack.Analyze(COMPLIANT_REPOSITORY).diagnostics) == []
    assert {d.policyName for d in served_pack.AnalyzeStack(PREVIEW_STACK).diagnostics} == {
        "s3-default-encryption", "s3-tls-only-policy"}
