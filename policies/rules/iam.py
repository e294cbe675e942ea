"""IAM: no wildcard actions, no wildcard resources on data-plane actions, iam:PassRole on named roles only, no AWS
managed full-access policies; identity policies (inline on roles too) and resource policies."""
from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from policies.rules.core import _as_list, _json, _statements, known, resource_rule
from policies.rules.tokens import BUCKET_POLICY, BUCKETS

IDENTITY_POLICIES = ("aws:iam/rolePolicy:RolePolicy", "aws:iam/policy:Policy", "aws:iam/userPolicy:UserPolicy",
                     "aws:iam/groupPolicy:GroupPolicy")
ROLE = "aws:iam/role:Role"
RESOURCE_POLICIES = (*BUCKET_POLICY, "aws:sqs/queuePolicy:QueuePolicy",
                     "aws:sns/topicPolicy:TopicPolicy", "aws:secretsmanager/secretPolicy:SecretPolicy",
                     "aws:ecr/repositoryPolicy:RepositoryPolicy", "aws:sqs/queue:Queue", *BUCKETS)
POLICY_ATTACHMENTS = ("aws:iam/rolePolicyAttachment:RolePolicyAttachment",
                      "aws:iam/userPolicyAttachment:UserPolicyAttachment",
                      "aws:iam/groupPolicyAttachment:GroupPolicyAttachment",
                      "aws:iam/policyAttachment:PolicyAttachment",
                      "aws:iam/rolePolicyAttachmentsExclusive:RolePolicyAttachmentsExclusive")

DATA_PLANE_ACTIONS = (
    "s3:GetObject*", "s3:PutObject*", "s3:DeleteObject*", "s3:RestoreObject", "s3:AbortMultipartUpload",
    "s3:ListBucket*", "s3:ListMultipartUploadParts", "s3:ReplicateObject",
    "secretsmanager:GetSecretValue", "secretsmanager:PutSecretValue", "secretsmanager:UpdateSecret",
    "dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query", "dynamodb:Scan", "dynamodb:PutItem",
    "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem", "dynamodb:Transact*",
    "dynamodb:PartiQL*", "dynamodb:GetRecords",
    "sqs:SendMessage*", "sqs:ReceiveMessage", "sqs:DeleteMessage*", "sqs:ChangeMessageVisibility*", "sqs:PurgeQueue",
    "sns:Publish", "kms:Decrypt", "kms:Encrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*",
    "ssm:GetParameter*", "lambda:InvokeFunction", "kinesis:PutRecord*", "kinesis:GetRecords", "firehose:PutRecord*",
    "logs:PutLogEvents", "logs:GetLogEvents", "logs:FilterLogEvents",
    "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:PutImage",
)
ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]+$")
FULL_ACCESS_POLICY = re.compile(r"^arn:aws[a-z-]*:iam::aws:policy/(.+/)?(\w*FullAccess\w*|AdministratorAccess)$")


def _policy_documents(type_: str, props: Mapping[str, Any], kinds: Sequence[str]) -> list[Any]:
    """Parsed policy documents of a resource: identity policies (inline on roles too) and/or resource policies."""
    raw = []
    if "identity" in kinds and type_ in IDENTITY_POLICIES:
        raw.append(props.get("policy"))
    if "identity" in kinds and type_ == ROLE:
        raw += [p.get("policy") for p in _as_list(props.get("inlinePolicies")) if isinstance(p, Mapping)]
    if "resource" in kinds and type_ in RESOURCE_POLICIES:
        raw.append(props.get("policy"))
    return [d for d in (_json(r) for r in raw if r) if known(d)]


def _allow_statements(type_: str, props: Mapping[str, Any], kinds: Sequence[str]) -> Iterable[Mapping]:
    for document in _policy_documents(type_, props, kinds):
        for statement in _statements(document):
            if statement.get("Effect", "Allow") == "Allow":
                yield statement


def _label(statement: Mapping) -> str:
    return f"statement {statement['Sid']!r}" if statement.get("Sid") else "a statement"


def _action_overlaps(action: str, pattern: str) -> bool:
    """Whether an action (possibly with wildcards) grants some action that ``pattern`` names."""
    action, pattern = action.lower(), pattern.lower()
    return fnmatch.fnmatchcase(action, pattern) or fnmatch.fnmatchcase(pattern.replace("*", ""), action)


def _is_wildcard_resource(resource: str) -> bool:
    if resource == "*":
        return True
    parts = resource.split(":", 5)
    return len(parts) == 6 and parts[0] == "arn" and re.fullmatch(r"[*/]+", parts[5]) is not None


@resource_rule("iam-no-wildcard-actions", "No Allow of every action (*) or of a whole service (s3:*), and no "
               "Allow with NotAction", *IDENTITY_POLICIES, ROLE, *RESOURCE_POLICIES)
def iam_no_wildcard_actions(type_: str, props: Mapping[str, Any]) -> Iterable[str]:
    for statement in _allow_statements(type_, props, ("identity", "resource")):
        if statement.get("NotAction"):
            yield f"{_label(statement)} allows every action except {statement['NotAction']}"
        wild = [a for a in _as_list(statement.get("Action")) if isinstance(a, str) and re.fullmatch(r"\*|[\w-]+:\*", a)]
        if wild:
            yield f"{_label(statement)} allows {', '.join(wild)}: name the actions"


@resource_rule("iam-no-wildcard-resource-on-data", "No Resource * on data-plane actions (S3 objects, Secrets Manager "
               "values, DynamoDB items, SQS messages, KMS data keys, ...)", *IDENTITY_POLICIES, ROLE)
def iam_no_wildcard_resource_on_data(type_: str, props: Mapping[str, Any]) -> Iterable[str]:
    for statement in _allow_statements(type_, props, ("identity",)):
        resources = [r for r in _as_list(statement.get("Resource")) if isinstance(r, str)]
        if not (statement.get("NotResource") or any(_is_wildcard_resource(r) for r in resources)):
            continue
        data = sorted({a for a in _as_list(statement.get("Action")) if isinstance(a, str)
                       for pattern in DATA_PLANE_ACTIONS if _action_overlaps(a, pattern)})
        if data:
            where = (f"every resource but {statement['NotResource']}" if statement.get("NotResource")
                     else ", ".join(r for r in resources if _is_wildcard_resource(r)))
            yield f"{_label(statement)} allows {', '.join(data)} on {where}: name the buckets, secrets, tables, queues"


@resource_rule("iam-pass-role-named-roles", "iam:PassRole only on named role ARNs of a given account",
               *IDENTITY_POLICIES, ROLE)
def iam_pass_role_named_roles(type_: str, props: Mapping[str, Any]) -> Iterable[str]:
    for statement in _allow_statements(type_, props, ("identity",)):
        actions = [a for a in _as_list(statement.get("Action")) if isinstance(a, str)]
        if not any(fnmatch.fnmatchcase("iam:passrole", a.lower()) for a in actions):
            continue
        if statement.get("NotResource"):
            yield f"{_label(statement)} allows iam:PassRole on every role but {statement['NotResource']}"
        bad = [r for r in _as_list(statement.get("Resource"))
               if known(r) and not (isinstance(r, str) and ROLE_ARN.match(r))]
        if bad:
            yield f"{_label(statement)} allows iam:PassRole on {', '.join(map(str, bad))}: name each role's full ARN"


@resource_rule("iam-no-managed-full-access", "No AWS managed *FullAccess (or AdministratorAccess) policy attached",
               *POLICY_ATTACHMENTS, ROLE)
def iam_no_managed_full_access(type_: str, props: Mapping[str, Any]) -> Iterable[str]:
    for arn in [a for key in ("policyArn", "policyArns", "managedPolicyArns") for a in _as_list(props.get(key))]:
        if isinstance(arn, str) and FULL_ACCESS_POLICY.match(arn):
            yield f"attaches the AWS managed policy {arn}: write a least-privilege policy instead"
