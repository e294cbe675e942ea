"""Issue 16, network and IAM: the public NACL keeps the task ports private; every service role is pinned to the
account (and, where known, to the resources acting). Each test fails on the code before the fix."""
from __future__ import annotations

import ipaddress
import json

import pytest

from components import iam
from tests.conftest import planned, run_program

ACCOUNT = "123456789012"


def nacl_decision(plan, tier: str, source: str, port: int) -> str:
    """What the tier's NACL does with a TCP packet from ``source`` to ``port``: the first matching rule decides."""
    [acl] = [r for r in plan.of_type("aws:ec2/networkAcl:NetworkAcl") if r.name.endswith(f"-{tier}")]
    rules = [r.inputs for r in plan.of_type("aws:ec2/networkAclRule:NetworkAclRule")
             if r.parent == acl.urn and not r.inputs.get("egress")]
    address = ipaddress.ip_address(source)
    for rule in sorted(rules, key=lambda r: r["ruleNumber"]):
        block = rule.get("cidrBlock") if address.version == 4 else rule.get("ipv6CidrBlock")
        if block and address in ipaddress.ip_network(block) and rule["fromPort"] <= port <= rule["toPort"]:
            return rule["ruleAction"]
    return "deny"  # the NACL's implicit last rule


@pytest.fixture(scope="module")
def dev_style():
    return run_program("network", {"network": {"nat_strategy": "none", "app_port": 8080, "data_port": 5432}})


@pytest.mark.parametrize("source", ["203.0.113.7", "2001:db8::7"])
@pytest.mark.parametrize("port", [8080, 5432])
def test_without_nat_the_public_nacl_refuses_the_app_and_data_ports_from_the_internet(dev_style, source, port):
    assert nacl_decision(dev_style, "public", source, port) == "deny"


def test_the_public_nacl_still_admits_clients_replies_and_the_load_balancers_traffic(dev_style):
    assert nacl_decision(dev_style, "public", "203.0.113.7", 443) == "allow"
    assert nacl_decision(dev_style, "public", "203.0.113.7", 40000) == "allow"  # replies to the tasks' calls
    assert nacl_decision(dev_style, "public", "10.0.1.9", 8080) == "allow"  # the load balancer, in the VPC


def test_with_nat_no_deny_drops_replies_that_nat_gateways_translate_to_any_port():
    plan = run_program("network", {"network": {"nat_strategy": "single"}})
    assert nacl_decision(plan, "public", "203.0.113.7", 8080) == "allow"  # a NAT gateway's reply port
    denies = [r for r in plan.of_type("aws:ec2/networkAclRule:NetworkAclRule") if r.inputs["ruleAction"] == "deny"]
    assert denies == []


@pytest.fixture(scope="module")
def dev_plans():
    return planned("dev")


def trust_statements(plans):
    for plan in plans:
        for role in plan.of_type("aws:iam/role:Role"):
            for statement in json.loads(role.inputs["assumeRolePolicy"])["Statement"]:
                yield plan.spec.name, role.name, statement


def test_every_service_role_trusts_its_service_only_for_this_account(dev_plans):
    statements = list(trust_statements(dev_plans))
    assert len(statements) >= 8
    for stack, role, statement in statements:
        if statement["Principal"]["Service"] in iam.NO_SOURCE_CONTEXT:  # EC2 sends no source: none can be asked
            assert "Condition" not in statement, (stack, role)
            continue
        key = "sts:ExternalId" if statement["Principal"] == {"Service": "firehose.amazonaws.com"} else \
            "aws:SourceAccount"  # Firehose's documented guard is the account as external id
        assert statement["Condition"]["StringEquals"][key] == ACCOUNT, (stack, role)


def test_task_roles_and_flow_logs_are_pinned_to_the_resources_acting(dev_plans):
    by_role = {role: statement for _, role, statement in trust_statements(dev_plans)}
    task_roles = [s for role, s in by_role.items() if role.endswith("-task")]
    assert task_roles and all(s["Condition"]["ArnLike"]["aws:SourceArn"] == f"arn:aws:ecs:us-east-1:{ACCOUNT}:*"
                              for s in task_roles)
    assert by_role["dev-flow-logs"]["Condition"]["ArnLike"]["aws:SourceArn"] == \
        f"arn:aws:ec2:us-east-1:{ACCOUNT}:vpc-flow-log/*"
