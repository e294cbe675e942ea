"""The policies over the real offline plans of dev and prod, and the plan command's verdict."""
from __future__ import annotations

import dataclasses
import json

import pulumi_aws as aws
import pytest
from typer.testing import CliRunner

import programs.network
from planning.offline import StackPlan
from planning.project import load_environment
from policies.evaluate import check_plan, check_plans
from stacks.cli import app
from tests.conftest import planned


@pytest.fixture(scope="module", params=["dev", "prod"])
def environment_plans(request) -> tuple[str, list[StackPlan]]:
    return request.param, list(planned(request.param))


def test_every_stack_passes_with_no_mandatory_violation(environment_plans):
    name, plans = environment_plans
    reports = check_plans(plans)
    assert [r.stack for r in reports] == list(load_environment(name).stacks)
    offenders = {r.stack: [f"{v.policy}: {v.resource_type} {v.resource_name}: {v.message}" for v in r.mandatory]
                 for r in reports if r.mandatory}
    assert offenders == {}


def test_the_plans_relations_are_resolved_like_the_engines(environment_plans):
    """The network's load-balancer group admits 80 and 443 from anywhere; the offline evaluation finds that group
    from each ingress rule's securityGroupId (an id the mocks made), so untagging the group is a violation."""
    _, plans = environment_plans
    network = next(p for p in plans if p.spec.program == "network")
    untagged = [dataclasses.replace(r, inputs={**r.inputs, "tags": {}})
                if r.inputs.get("tags", {}).get("role") == "load-balancer" else r for r in network.resources]
    violations = check_plan(dataclasses.replace(network, resources=untagged)).mandatory
    assert sorted((v.policy, v.message) for v in violations) == sorted(
        ("security-group-no-public-ingress",
         f"tcp {port} open to the internet on a group that is not a load-balancer group of this stack")
        for port in (80, 80, 443, 443))


@pytest.fixture
def network_with_mutable_repository(monkeypatch):
    """The dev network's real program, plus an ECR repository that breaks two mandatory policies."""
    network_main = programs.network.main

    def main() -> None:
        network_main()
        aws.ecr.Repository("mutable-images", image_tag_mutability="MUTABLE")

    monkeypatch.setattr(programs.network, "main", main)


def test_a_plan_with_a_mandatory_violation_exits_non_zero(network_with_mutable_repository):
    result = CliRunner().invoke(app, ["plan", "dev", "--offline", "--stack", "network"])
    assert result.exit_code == 1, result.output
    assert "policies failed: 2 mandatory" in result.output


def test_the_json_plan_carries_each_stacks_violations(network_with_mutable_repository):
    result = CliRunner().invoke(app, ["plan", "dev", "--offline", "--stack", "network", "--json"])
    assert result.exit_code == 1, result.stderr
    document = json.loads(result.stdout)
    assert set(document["stacks"][0]) == {"name", "program", "depends_on", "resources", "outputs"}
    assert document["policy"]["mandatory"] == 2
    violations = document["policy"]["stacks"]["dev-network"]["violations"]
    assert sorted((v["policy"], v["enforcement"], v["name"]) for v in violations) == [
        ("ecr-immutable-tags", "mandatory", "mutable-images"), ("ecr-scan-on-push", "mandatory", "mutable-images")]
    assert "policies failed" in result.stderr


def test_a_compliant_plan_exits_zero():
    result = CliRunner().invoke(app, ["plan", "dev", "--offline", "--stack", "network", "--json"])
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["policy"] == {
        "mandatory": 0, "advisory": 0, "stacks": {"dev-network": {"mandatory": 0, "advisory": 0, "violations": []}}}
