"""IAM trust and escalation: who may assume a role, to which service a role may be passed, what no policy grants on
every resource, and resource policies that would open a queue, topic, secret or repository to anyone."""
from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Mapping
from typing import Any

from policies.rules.core import _as_list, _json, _statements, known, resource_rule
from policies.rules.iam import IDENTITY_POLICIES, ROLE, _allow_statements, _label

SOURCE_KEYS = ("aws:sourceaccount", "aws:sourcearn", "aws:sourceorgid", "aws:sourceorgpaths", "sts:externalid")
# Services that assume roles without a source context: conditions on it would make the role unusable.
NO_SOURCE_CONTEXT = ("ec2.amazonaws.com", "edgelambda.amazonaws.com")
ESCALATION_ACTIONS = ("iam:PutRolePolicy", "iam:AttachRolePolicy", "iam:CreatePolicyVersion",
                      "iam:SetDefaultPolicyVersion", "iam:UpdateAssumeRolePolicy", "iam:PutUserPolicy",
                      "iam:AttachUserPolicy", "iam:CreateAccessKey", "sts:AssumeRole", "lambda:UpdateFunctionCode")
PUBLIC_RESOURCE_POLICIES = ("aws:sqs/queuePolicy:QueuePolicy", "aws:sns/topicPolicy:TopicPolicy",
                            "aws:secretsmanager/secretPolicy:SecretPolicy", "aws:ecr/repositoryPolicy:RepositoryPolicy",
                            "aws:sqs/queue:Queue", "aws:s3/bucketPolicy:BucketPolicy")
RESOURCE_POLICY_GUARDS = ("aws:sourcearn", "aws:sourceaccount", "aws:principalorgid", "aws:principalaccount",
                          "aws:sourcevpce", "aws:sourcevpc", "aws:principalarn")


def _principals(statement: Mapping) -> tuple[bool, list[str]]:
    """(anyone, service principals) of a statement."""
    principal = statement.get("Principal")
    if principal == "*":
        return True, []
    if not isinstance(principal, Mapping):
        return False, []
    anyone = "*" in _as_list(principal.get("AWS"))
    return anyone, [s for s in _as_list(principal.get("Service")) if isinstance(s, str)]


def _condition_keys(statement: Mapping) -> set[str]:
    conditions = statement.get("Condition")
    if not isinstance(conditions, Mapping):
        return set()
    return {key.lower() for test in conditions.values() if isinstance(test, Mapping) for key in test}


@resource_rule("iam-trust-source-conditions", "Role trust policies never trust every principal, and trust AWS "
               "services only with a source condition (aws:SourceAccount or aws:SourceArn: the confused deputy)", ROLE)
def iam_trust_source_conditions(type_: str, props: Mapping[str, Any]) -> Iterable[str]:
    document = _json(props.get("assumeRolePolicy"))
    if not known(document):
        return
    for statement in _statements(document):
        if statement.get("Effect", "Allow") != "Allow":
            continue
        anyone, services = _principals(statement)
        if anyone:
            yield f"{_label(statement)} lets every principal assume the role"
        checked = [s for s in services if s not in NO_SOURCE_CONTEXT]
        if checked and not _condition_keys(statement) & set(SOURCE_KEYS):
            yield (f"{_label(statement)} trusts {', '.join(checked)} without aws:SourceAccount or aws:SourceArn: any "
                   "account's resources of that service could act with this role")


@resource_rule("iam-pass-role-to-named-service", "iam:PassRole only with an iam:PassedToService condition",
               *IDENTITY_POLICIES, ROLE)
def iam_pass_role_to_named_service(type_: str, props: Mapping[str, Any]) -> Iterable[str]:
    for statement in _allow_statements(type_, props, ("identity",)):
        actions = [a for a in _as_list(statement.get("Action")) if isinstance(a, str)]
        if any(fnmatch.fnmatchcase("iam:passrole", a.lower()) for a in actions) and \
                "iam:passedtoservice" not in _condition_keys(statement):
            yield f"{_label(statement)} allows iam:PassRole to any service: add an iam:PassedToService condition"


@resource_rule("iam-no-escalation-on-every-resource", "No privilege-escalation action (iam:PutRolePolicy, "
               "iam:AttachRolePolicy, iam:CreatePolicyVersion, sts:AssumeRole, lambda:UpdateFunctionCode, ...) on "
               "Resource *", *IDENTITY_POLICIES, ROLE)
def iam_no_escalation_on_every_resource(type_: str, props: Mapping[str, Any]) -> Iterable[str]:
    for statement in _allow_statements(type_, props, ("identity",)):
        if "*" not in _as_list(statement.get("Resource")) and not statement.get("NotResource"):
            continue
        actions = [a for a in _as_list(statement.get("Action")) if isinstance(a, str)]
        granted = sorted({e for e in ESCALATION_ACTIONS for a in actions if fnmatch.fnmatchcase(e.lower(), a.lower())})
        if granted:
            yield f"{_label(statement)} allows {', '.join(granted)} on every resource: name the roles and functions"


@resource_rule("resource-policy-not-public", "Queue, topic, secret, repository and bucket policies grant nothing to "
               "every principal (*) without a source or organization condition", *PUBLIC_RESOURCE_POLICIES)
def resource_policy_not_public(type_: str, props: Mapping[str, Any]) -> Iterable[str]:
    document = _json(props.get("policy"))
    if not known(document) or not document:
        return
    for statement in _statements(document):
        if statement.get("Effect", "Allow") != "Allow":
            continue
        anyone, _ = _principals(statement)
        if anyone and not _condition_keys(statement) & set(RESOURCE_POLICY_GUARDS):
            yield f"{_label(statement)} grants {statement.get('Action')} to every principal"
