"""The guardrails issue 16 added, each with a resource that breaks it and one that keeps it."""
from __future__ import annotations

import json

from policies import rules
from policies.rules import Resource, Stack
from tests.policies.test_policy_rules import ACCOUNT, allow, policy

ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"


def trust(service="lambda.amazonaws.com", conditions=None, principal=None):
    statement = {"Effect": "Allow", "Action": "sts:AssumeRole",
                 "Principal": principal if principal is not None else {"Service": service}}
    if conditions:
        statement["Condition"] = conditions
    return {"assumeRolePolicy": json.dumps({"Version": "2012-10-17", "Statement": [statement]})}


def messages(rule_name, type_, props):
    return list(rules.rule(rule_name).check_resource(type_, props))


def test_trust_without_a_source_condition_or_with_every_principal_is_refused():
    assert messages("iam-trust-source-conditions", ROLE, trust())
    assert messages("iam-trust-source-conditions", ROLE, trust(principal="*"))
    assert messages("iam-trust-source-conditions", ROLE, trust(principal={"AWS": "*"}))
    assert not messages("iam-trust-source-conditions", ROLE,
                        trust(conditions={"StringEquals": {"aws:SourceAccount": ACCOUNT}}))
    assert not messages("iam-trust-source-conditions", ROLE, trust("ec2.amazonaws.com"))  # no source context


def test_pass_role_without_passed_to_service_is_refused():
    role_arn = f"arn:aws:iam::{ACCOUNT}:role/task"
    bare = {"policy": policy(allow(["iam:PassRole"], [role_arn]))}
    scoped = {"policy": policy(allow(["iam:PassRole"], [role_arn], conditions=[
        {"test": "StringEquals", "variable": "iam:PassedToService", "values": ["ecs-tasks.amazonaws.com"]}]))}
    assert messages("iam-pass-role-to-named-service", ROLE_POLICY, bare)
    assert not messages("iam-pass-role-to-named-service", ROLE_POLICY, scoped)


def test_escalation_actions_on_every_resource_are_refused():
    for action in ("iam:PutRolePolicy", "iam:AttachRolePolicy", "iam:CreatePolicyVersion", "sts:AssumeRole",
                   "lambda:UpdateFunctionCode", "iam:*Policy*"):
        assert messages("iam-no-escalation-on-every-resource", ROLE_POLICY, {"policy": policy(allow([action], ["*"]))})
    named = {"policy": policy(allow(["sts:AssumeRole"], [f"arn:aws:iam::{ACCOUNT}:role/reader"]))}
    assert not messages("iam-no-escalation-on-every-resource", ROLE_POLICY, named)


def test_resource_policies_open_to_every_principal_are_refused():
    public = {"sid": "Open", "effect": "Allow", "actions": ["sqs:SendMessage"], "resources": ["arn:aws:sqs:::q"],
              "principals": [{"type": "*", "identifiers": ["*"]}]}
    guarded = {**public, "conditions": [{"test": "ArnEquals", "variable": "aws:SourceArn",
                                         "values": [f"arn:aws:sns:us-east-1:{ACCOUNT}:t"]}]}
    for type_ in ("aws:sqs/queuePolicy:QueuePolicy", "aws:sns/topicPolicy:TopicPolicy",
                  "aws:secretsmanager/secretPolicy:SecretPolicy", "aws:ecr/repositoryPolicy:RepositoryPolicy"):
        assert messages("resource-policy-not-public", type_, {"policy": policy(public)})
        assert not messages("resource-policy-not-public", type_, {"policy": policy(guarded)})


def nacl_stack(*entries):
    acl = Resource("aws:ec2/networkAcl:NetworkAcl", "public", {
        "id": "acl-1", "tags": {"public-tasks": "true", "app-port": "8080", "data-port": "5432"}}, "urn:acl")
    rule_resources = [Resource("aws:ec2/networkAclRule:NetworkAclRule", f"r{n}", {
        "networkAclId": "acl-1", "ruleNumber": n, "egress": False, "protocol": "tcp", "ruleAction": action,
        "fromPort": low, "toPort": high, **source}, f"urn:r{n}") for n, action, low, high, source in entries]
    return Stack([acl, *rule_resources])


def test_a_public_task_nacl_that_admits_the_app_port_from_the_internet_is_refused():
    anywhere, anywhere6 = {"cidrBlock": "0.0.0.0/0"}, {"ipv6CidrBlock": "::/0"}
    open_stack = nacl_stack((400, "allow", 1024, 65535, anywhere))
    closed = nacl_stack((350, "deny", 8080, 8080, anywhere), (360, "deny", 5432, 5432, anywhere),
                        (370, "deny", 8080, 8080, anywhere6), (380, "deny", 5432, 5432, anywhere6),
                        (400, "allow", 1024, 65535, anywhere), (410, "allow", 1024, 65535, anywhere6))
    check = rules.rule("nacl-task-ports-closed-to-internet").check_stack
    assert len(list(check(open_stack))) == 2
    assert list(check(closed)) == []
    half = nacl_stack((350, "deny", 8080, 8080, anywhere), (400, "allow", 1024, 65535, anywhere),
                      (410, "allow", 1024, 65535, anywhere6))
    assert {f.message.split(" (")[0] for f in check(half)} == {"rule 400 admits port 5432", "rule 410 admits port 8080",
                                                               "rule 410 admits port 5432"}
