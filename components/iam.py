"""IAM building blocks: policy documents (always through ``aws.iam.get_policy_document``) and roles.

Every role in this project gets exactly one inline policy written for it, never an AWS managed
``*FullAccess`` policy.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Optional

import pulumi
import pulumi_aws as aws

Statement = aws.iam.GetPolicyDocumentStatementArgs


def statement(actions: Sequence[str], resources: Sequence[pulumi.Input[str]], sid: Optional[str] = None,
              conditions: Sequence[aws.iam.GetPolicyDocumentStatementConditionArgs] = ()) -> Statement:
    """An Allow statement; ``resources`` may hold Outputs (ARNs of resources not yet created)."""
    return Statement(sid=sid, effect="Allow", actions=list(actions), resources=list(resources),
                     conditions=list(conditions) or None)


def condition(test: str, variable: str, *values: pulumi.Input[str]) -> aws.iam.GetPolicyDocumentStatementConditionArgs:
    return aws.iam.GetPolicyDocumentStatementConditionArgs(test=test, variable=variable, values=list(values))


def policy_document(statements: Sequence[Statement], parent: Optional[pulumi.Resource] = None) -> pulumi.Output[str]:
    """Renders statements to policy JSON with the provider's ``getPolicyDocument``."""
    opts = pulumi.InvokeOutputOptions(parent=parent) if parent is not None else None
    return aws.iam.get_policy_document_output(statements=list(statements), opts=opts).json


# Services that assume roles without a source context (aws:SourceAccount would make the role unusable).
NO_SOURCE_CONTEXT = ("ec2.amazonaws.com",)
# Services whose documented guard is the account as external id (Firehose's trust policy in its developer guide).
EXTERNAL_ID_SERVICES = ("firehose.amazonaws.com",)


def account_id(parent: Optional[pulumi.Resource] = None) -> pulumi.Output[str]:
    opts = pulumi.InvokeOutputOptions(parent=parent) if parent is not None else None
    return aws.get_caller_identity_output(opts=opts).account_id


def assume_role_policy(service: str, parent: Optional[pulumi.Resource] = None,
                       source_arns: Sequence[pulumi.Input[str]] = ()) -> pulumi.Output[str]:
    """Trust policy for an AWS service principal, pinned to this account (``aws:SourceAccount``) and, where the
    resource acting is known, to it (``aws:SourceArn``, ARN patterns allowed): the confused-deputy guard."""
    if service in NO_SOURCE_CONTEXT:
        conditions = []
    elif service in EXTERNAL_ID_SERVICES:
        conditions = [condition("StringEquals", "sts:ExternalId", account_id(parent))]
    else:
        conditions = [condition("StringEquals", "aws:SourceAccount", account_id(parent))]
    if source_arns:
        conditions.append(condition("ArnLike", "aws:SourceArn", *source_arns))
    return policy_document([Statement(
        effect="Allow", actions=["sts:AssumeRole"],
        principals=[aws.iam.GetPolicyDocumentStatementPrincipalArgs(type="Service", identifiers=[service])],
        conditions=conditions or None)], parent)


def service_role(name: str, service: str, policy: Optional[pulumi.Input[str]], parent: pulumi.Resource,
                 description: str, source_arns: Sequence[pulumi.Input[str]] = ()) -> aws.iam.Role:
    """A role that ``service`` may assume for this account (and for the resources ``source_arns``, ARN patterns
    allowed), with ``policy`` (JSON) as its only inline policy."""
    role = aws.iam.Role(name, description=description,
                        assume_role_policy=assume_role_policy(service, parent, source_arns),
                        opts=pulumi.ResourceOptions(parent=parent))
    # Resources using the role should depend on ``role.permissions`` too, so they never start unauthorised.
    role.permissions = [] if policy is None else [aws.iam.RolePolicy(  # type: ignore[attr-defined]
        f"{name}-policy", role=role.id, policy=policy, opts=pulumi.ResourceOptions(parent=role))]
    return role


def arn_of(service: str, resource: str, parent: Optional[pulumi.Resource] = None) -> pulumi.Output[str]:
    """``arn:aws:<service>:<region>:<account>:<resource>`` in this stack's region and account (patterns allowed)."""
    return pulumi.Output.concat("arn:aws:", service, ":", aws.get_region().region, ":", account_id(parent), ":",
                                resource)


def tls_only_bucket_policy(bucket_arn: pulumi.Input[str], parent: pulumi.Resource,
                           extra: Sequence[Statement] = ()) -> pulumi.Output[str]:
    """Bucket policy that denies every request not made over TLS."""
    objects = pulumi.Output.concat(bucket_arn, "/*")
    deny_plain_http = Statement(
        sid="DenyInsecureTransport", effect="Deny", actions=["s3:*"], resources=[bucket_arn, objects],
        principals=[aws.iam.GetPolicyDocumentStatementPrincipalArgs(type="*", identifiers=["*"])],
        conditions=[condition("Bool", "aws:SecureTransport", "false")])
    return policy_document([deny_plain_http, *extra], parent)


def service_grant(service: str, actions: Sequence[str], resources: Sequence[pulumi.Input[str]],
                  conditions: Sequence[aws.iam.GetPolicyDocumentStatementConditionArgs], sid: Optional[str] = None
                  ) -> Statement:
    """An Allow for an AWS service principal in a resource policy (bucket, topic), always with the conditions that
    pin it to one source (``aws:SourceArn``, ``aws:SourceAccount``): never a confused deputy."""
    if not conditions:
        raise ValueError(f"a grant to {service} needs source conditions (aws:SourceArn or aws:SourceAccount)")
    return Statement(sid=sid, effect="Allow", actions=list(actions), resources=list(resources),
                     principals=[aws.iam.GetPolicyDocumentStatementPrincipalArgs(type="Service",
                                                                                 identifiers=[service])],
                     conditions=list(conditions))
