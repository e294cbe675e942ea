"""The stub-pipeline stack under the mock engine: the schedule and its role, the build's role in both index modes,
the state-change rule and alarms on the environment's topic, config refused before any resource, cost, policy."""
from __future__ import annotations

import json

import pytest

from planning.mocks import ACCOUNT_ID, ProviderMocks
from planning.offline import RecordingMonitor
from policies.rules.codebuild import codebuild_no_plaintext_secrets, codebuild_not_privileged
from programs.common import ConfigError
from runtime.boto_stubs import contract
from stacks.cost import estimate_environment
from tests.conftest import run_program

SOURCE = "https://github.com/example/cloud-patterns.git"
NAME = "test-stub-pipeline"
ARN = f"us-east-1:{ACCOUNT_ID}"


@pytest.fixture(scope="module")
def alerts():
    return {"test-alerts": run_program("alerts", {"alerts": {"emails": []}}).outputs}


def plan_with(alerts, monitor=None, **settings):
    return run_program("stub-pipeline", {"stub_pipeline": {"source_url": SOURCE, **settings}},
                       upstream={"alerts": "test-alerts"}, upstream_outputs=alerts, short_name="stub-pipeline",
                       monitor=monitor)


@pytest.fixture(scope="module")
def codeartifact(alerts):
    return plan_with(alerts)


@pytest.fixture(scope="module")
def external(alerts):
    return plan_with(alerts, index_url="https://pypi.example.com/", notify_on=["FAILED", "STOPPED", "SUCCEEDED"])


def one(plan, type_token, name=None):
    [resource] = [r for r in plan.of_type(type_token) if name is None or r.name == name]
    return resource


def statements(plan, name):
    return {s["Sid"]: (s["Action"], s["Resource"], s.get("Condition"))
            for s in json.loads(one(plan, "aws:iam/rolePolicy:RolePolicy", name).inputs["policy"])["Statement"]}


def trust(plan, name):
    [statement] = json.loads(one(plan, "aws:iam/role:Role", name).inputs["assumeRolePolicy"])["Statement"]
    return statement["Principal"], statement["Condition"]


def test_the_schedule_starts_exactly_this_project_through_its_own_role(codeartifact):
    schedule = one(codeartifact, "aws:scheduler/schedule:Schedule").inputs
    assert (schedule["scheduleExpression"], schedule["groupName"]) == ("rate(3 days)", NAME)
    target = schedule["target"]
    assert target["arn"] == "arn:aws:scheduler:::aws-sdk:codebuild:startBuild"
    assert json.loads(target["input"]) == {"ProjectName": NAME}
    assert target["roleArn"].startswith(f"arn:aws:iam::{ACCOUNT_ID}:role/{NAME}-schedule-")
    assert statements(codeartifact, f"{NAME}-schedule-policy") == {
        "StartTheBuild": ("codebuild:StartBuild", f"arn:aws:codebuild:{ARN}:project/{NAME}", None)}
    assert trust(codeartifact, f"{NAME}-schedule") == ({"Service": "scheduler.amazonaws.com"}, {
        "StringEquals": {"aws:SourceAccount": ACCOUNT_ID},
        "ArnLike": {"aws:SourceArn": f"arn:aws:scheduler:{ARN}:schedule-group/{NAME}"}})


def test_the_project_runs_the_repository_s_buildspec_on_a_small_image_and_logs_with_retention(codeartifact):
    project = one(codeartifact, "aws:codebuild/project:Project").inputs
    assert project["source"] == {"type": "GITHUB", "location": SOURCE, "buildspec": contract.BUILDSPEC,
                                 "gitCloneDepth": 1}
    environment = project["environment"]
    assert (environment["type"], environment["computeType"], environment["privilegedMode"]) == (
        "ARM_CONTAINER", "BUILD_GENERAL1_SMALL", False)
    assert (project["buildTimeout"], project["concurrentBuildLimit"], project["badgeEnabled"]) == (15, 1, True)
    assert project["logsConfig"]["cloudwatchLogs"] == {"status": "ENABLED", "groupName": f"/aws/codebuild/{NAME}"}
    assert one(codeartifact, "aws:cloudwatch/logGroup:LogGroup").inputs["retentionInDays"] == 30
    assert trust(codeartifact, f"{NAME}-build") == ({"Service": "codebuild.amazonaws.com"}, {
        "StringEquals": {"aws:SourceAccount": ACCOUNT_ID},
        "ArnLike": {"aws:SourceArn": f"arn:aws:codebuild:{ARN}:project/{NAME}"}})
    assert codeartifact.outputs["badge_url"].startswith("https://codebuild.us-east-1.amazonaws.com/badges?uuid=")


def test_with_codeartifact_the_build_may_log_and_publish_exactly_its_package_and_keeps_no_secret(codeartifact):
    repository = f"arn:aws:codeartifact:{ARN}:repository/{NAME}/python"
    assert statements(codeartifact, f"{NAME}-build-policy") == {
        "WriteOwnLogs": (["logs:CreateLogStream", "logs:PutLogEvents"],
                         f"arn:aws:logs:{ARN}:log-group:/aws/codebuild/{NAME}:*", None),
        "TokenForTheDomain": ("codeartifact:GetAuthorizationToken", f"arn:aws:codeartifact:{ARN}:domain/{NAME}", None),
        "BearerTokenForCodeArtifact": ("sts:GetServiceBearerToken", "*", {
            "StringEquals": {"sts:AWSServiceName": "codeartifact.amazonaws.com"}}),
        "ReadTheRepository": (["codeartifact:GetRepositoryEndpoint", "codeartifact:ReadFromRepository"], repository,
                              None),
        "PublishThePackage": (["codeartifact:PublishPackageVersion", "codeartifact:PutPackageMetadata"],
                              f"arn:aws:codeartifact:{ARN}:package/{NAME}/python/pypi//cloud-patterns-botostubs",
                              None)}
    assert codeartifact.of_type("aws:ssm/parameter:Parameter") == []
    variables = {v["name"]: v for v in one(codeartifact, "aws:codebuild/project:Project").inputs["environment"][
        "environmentVariables"]}
    settings = contract.Settings.from_env({k: v["value"] for k, v in variables.items()})
    assert (settings.domain, settings.domain_owner, settings.repository) == (NAME, ACCOUNT_ID, "python")
    assert {v["type"] for v in variables.values()} == {"PLAINTEXT"}
    repo = one(codeartifact, "aws:codeartifact/repository:Repository").inputs
    assert "upstreams" not in repo and "externalConnections" not in repo
    reader = json.loads(one(codeartifact, "aws:iam/policy:Policy").inputs["policy"])["Statement"]
    assert [s["Sid"] for s in reader] == ["TokenForTheDomain", "BearerTokenForCodeArtifact", "ReadTheRepository"]


def test_with_an_external_index_the_build_reads_exactly_its_token_parameter(external):
    parameter = one(external, "aws:ssm/parameter:Parameter").inputs
    assert (parameter["name"], parameter["type"], parameter["value"]) == (f"/{NAME}/INDEX_TOKEN", "SecureString",
                                                                          "[secret]")
    assert statements(external, f"{NAME}-build-policy") == {
        "WriteOwnLogs": (["logs:CreateLogStream", "logs:PutLogEvents"],
                         f"arn:aws:logs:{ARN}:log-group:/aws/codebuild/{NAME}:*", None),
        "ReadTheSecret": ("ssm:GetParameters", f"arn:aws:ssm:{ARN}:parameter/{NAME}/INDEX_TOKEN", None)}
    variables = {v["name"]: (v["value"], v["type"]) for v in one(external, "aws:codebuild/project:Project").inputs[
        "environment"]["environmentVariables"]}
    assert variables["INDEX_TOKEN"] == (f"/{NAME}/INDEX_TOKEN", "PARAMETER_STORE")
    assert variables["INDEX_URL"] == ("https://pypi.example.com/", "PLAINTEXT")
    assert external.outputs["index_token_parameter"] == f"/{NAME}/INDEX_TOKEN"
    assert external.of_type("aws:codeartifact/domain:Domain") == []


def test_a_customer_managed_key_is_used_only_through_ssm_for_that_parameter(alerts):
    key = f"arn:aws:kms:{ARN}:key/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
    plan = plan_with(alerts, index_url="https://pypi.example.com/", kms_key_arn=key)
    assert one(plan, "aws:ssm/parameter:Parameter").inputs["keyId"] == key
    assert statements(plan, f"{NAME}-build-policy")["DecryptTheSecret"] == ("kms:Decrypt", key, {"StringEquals": {
        "kms:ViaService": "ssm.us-east-1.amazonaws.com",
        "kms:EncryptionContext:PARAMETER_ARN": f"arn:aws:ssm:{ARN}:parameter/{NAME}/INDEX_TOKEN"}})


def test_failed_and_stopped_builds_and_both_alarms_notify_the_environment_s_topic(codeartifact, external, alerts):
    topic = alerts["test-alerts"]["topic_arn"]
    rule = one(codeartifact, "aws:cloudwatch/eventRule:EventRule").inputs
    assert json.loads(rule["eventPattern"]) == {
        "source": ["aws.codebuild"], "detail-type": ["CodeBuild Build State Change"],
        "detail": {"project-name": [NAME], "build-status": ["FAILED", "STOPPED"]}}
    target = one(codeartifact, "aws:cloudwatch/eventTarget:EventTarget").inputs
    assert target["arn"] == topic and "<status>" in target["inputTransformer"]["inputTemplate"]
    assert json.loads(one(external, "aws:cloudwatch/eventRule:EventRule").inputs["eventPattern"])["detail"][
        "build-status"] == ["FAILED", "STOPPED", "SUCCEEDED"]
    found = {r.name: r.inputs for r in codeartifact.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")}
    assert set(found) == {f"{NAME}-stale", f"{NAME}-schedule-dropped"} and codeartifact.outputs["alarms"] == 2
    assert all(a["alarmActions"] == [topic] and a["okActions"] == [topic] for a in found.values())
    stale = found[f"{NAME}-stale"]
    assert (stale["namespace"], stale["metricName"], stale["dimensions"], stale["period"],
            stale["evaluationPeriods"], stale["treatMissingData"]) == (
        "AWS/CodeBuild", "SucceededBuilds", {"ProjectName": NAME}, 86400, 4, "breaching")
    assert found[f"{NAME}-schedule-dropped"]["dimensions"] == {"ScheduleGroup": NAME}


@pytest.mark.parametrize("settings, message", [
    ({"schedule": "rate(3 day)"}, "stub_pipeline.schedule: 'rate(3 day)' is not allowed"),
    ({"schedule": "rate(1 days)"}, "stub_pipeline.schedule"),
    ({"schedule": "rate(7 days)"}, "stub_pipeline.stale_after_days: 4 is not allowed; allowed: more days than the "
                                   "schedule's interval (rate(7 days))"),
    ({"index_url": "https://token:x@pypi.example.com/"}, "stub_pipeline.index_url"),
    ({"index_url": "http://pypi.example.com/"}, "stub_pipeline.index_url"),
    ({"package_name": "-bad"}, "stub_pipeline.package_name"),
    ({"notify_on": ["FAILED", "BROKEN"]}, "stub_pipeline.notify_on"),
    ({"kms_key_arn": "alias/mine"}, "stub_pipeline.kms_key_arn"),
    ({"badge": True}, "stub_pipeline.badge: unknown setting"),
])
def test_bad_config_is_refused_naming_the_key_before_any_resource(alerts, settings, message):
    monitor = RecordingMonitor(ProviderMocks())
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        plan_with(alerts, monitor=monitor, **settings)
    assert [r for r in monitor.recorded if r.custom and r.type != "pulumi:pulumi:StackReference"] == []


def test_the_cost_is_the_scheduled_build_minutes_and_every_resource_is_accounted_for(codeartifact, external):
    for plan in (codeartifact, external):
        stack = estimate_environment([plan]).stacks[0]
        assert stack.not_priced == []
        accounted = {(line.resource, line.type) for line in [*stack.fixed, *stack.usage, *stack.free]}
        assert accounted == {(r.name, r.type) for r in plan.resources if r.custom}
        [builds] = [line for line in stack.fixed if line.type == "aws:codebuild/project:Project"]
        runs = 730 / 72
        assert builds.monthly == pytest.approx(runs * 2 * 0.0034)  # 2 billed minutes a run on arm1.small
    usage = {line.usage_key for line in estimate_environment([codeartifact]).stacks[0].usage}
    assert {"package_storage_gb", "package_requests", "log_gb"} == usage


def test_the_codebuild_rules_refuse_a_plain_text_secret_and_flag_privileged_builds():
    def project(**environment):
        return {"environment": {"type": "ARM_CONTAINER", **environment}}
    leaked = project(environmentVariables=[{"name": "INDEX_TOKEN", "value": "pypi-AgEIcHlwaS5vcmc",
                                            "type": "PLAINTEXT"}])
    kept = project(environmentVariables=[{"name": "INDEX_TOKEN", "value": "/p/INDEX_TOKEN", "type": "PARAMETER_STORE"},
                                         {"name": "INDEX_URL", "value": "https://pypi.example.com/"}])
    assert list(codebuild_no_plaintext_secrets("aws:codebuild/project:Project", leaked)) == [
        "INDEX_TOKEN looks like a secret (by its name): make it a PARAMETER_STORE or SECRETS_MANAGER variable"]
    assert list(codebuild_no_plaintext_secrets("aws:codebuild/project:Project", kept)) == []
    assert list(codebuild_not_privileged("aws:codebuild/project:Project", project(privilegedMode=True)))
    assert list(codebuild_not_privileged("aws:codebuild/project:Project", project(privilegedMode=False))) == []
