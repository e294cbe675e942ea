"""The guardrails, as plain functions: no engine, no Pulumi SDK.

A *resource rule* is a function ``(type_token, props) -> messages`` over one resource's engine-shaped
(camelCase) properties, e.g. ``ecr_immutable_tags("aws:ecr/repository:Repository", {"imageTagMutability":
"MUTABLE"})``. A *stack rule* is a function ``(stack) -> findings`` over every resource of a stack, for what
only relations show: a bucket's public access block, encryption and policy are separate resources keyed by
the bucket's id; a Lambda's log group is another resource named in its ``loggingConfig``.

The same functions run in the CrossGuard pack (``policies.pack``: resource rules get the engine's inputs,
stack rules its resource outputs) and over the offline plan (``policies.evaluate``: resource rules get the
recorded inputs, stack rules the mocks' outputs). Values follow the engine's shapes: policy documents and
container definitions are JSON strings; a value not known yet (preview) is ``UNKNOWN`` and a rule reports
only what it can prove; the offline plan shows secret values as ``"[secret]"``.
"""
from __future__ import annotations

import fnmatch
import ipaddress
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import Any

from service_limits import FARGATE_SIZES, LOG_RETENTION_DAYS

PROJECT_DIR = Path(__file__).resolve().parent.parent
MANDATORY = "mandatory"
ADVISORY = "advisory"
SECRET = "[secret]"
"""How the offline plan shows a secret value."""


class _Unknown:
    def __repr__(self) -> str:
        return "<unknown during preview>"


UNKNOWN: Any = _Unknown()
"""A value the engine does not know yet (an output of a resource still to be created)."""


def known(value: Any) -> bool:
    return value is not UNKNOWN


# ---------------------------------------------------------------------------------------------------
# Type tokens
BUCKETS = ("aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2")
PUBLIC_ACCESS_BLOCK = ("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",)
BUCKET_ENCRYPTION = ("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
                     "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2")
BUCKET_POLICY = ("aws:s3/bucketPolicy:BucketPolicy",)
SECURITY_GROUPS = ("aws:ec2/securityGroup:SecurityGroup", "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup")
INGRESS_RULES = ("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
                 "aws:ec2/securityGroupRule:SecurityGroupRule")
LOAD_BALANCERS = ("aws:lb/loadBalancer:LoadBalancer", "aws:alb/loadBalancer:LoadBalancer")
LISTENERS = ("aws:lb/listener:Listener", "aws:alb/listener:Listener")
IDENTITY_POLICIES = ("aws:iam/rolePolicy:RolePolicy", "aws:iam/policy:Policy", "aws:iam/userPolicy:UserPolicy",
                     "aws:iam/groupPolicy:GroupPolicy")
ROLE = "aws:iam/role:Role"
RESOURCE_POLICIES = ("aws:s3/bucketPolicy:BucketPolicy", "aws:sqs/queuePolicy:QueuePolicy",
                     "aws:sns/topicPolicy:TopicPolicy", "aws:secretsmanager/secretPolicy:SecretPolicy",
                     "aws:ecr/repositoryPolicy:RepositoryPolicy", "aws:sqs/queue:Queue", *BUCKETS)
POLICY_ATTACHMENTS = ("aws:iam/rolePolicyAttachment:RolePolicyAttachment",
                      "aws:iam/userPolicyAttachment:UserPolicyAttachment",
                      "aws:iam/groupPolicyAttachment:GroupPolicyAttachment",
                      "aws:iam/policyAttachment:PolicyAttachment",
                      "aws:iam/rolePolicyAttachmentsExclusive:RolePolicyAttachmentsExclusive")
LAMBDA_FUNCTION = "aws:lambda/function:Function"
LAMBDA_PERMISSION = "aws:lambda/permission:Permission"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
TASK_DEFINITION = "aws:ecs/taskDefinition:TaskDefinition"
ECS_SERVICE = "aws:ecs/service:Service"
ECR_REPOSITORY = "aws:ecr/repository:Repository"
IMAGE_BUILDS = ("docker-build:index:Image",)
GCP_PUBLIC_SURFACES = ("gcp:cloudfunctions/", "gcp:cloudfunctionsv2/", "gcp:cloudrun/", "gcp:cloudrunv2/",
                       "gcp:storage/")
GCP_BUCKET = "gcp:storage/bucket:Bucket"


# ---------------------------------------------------------------------------------------------------
# The model: resources, findings, rules.
@dataclass(frozen=True, eq=False)
class Resource:
    type: str
    name: str
    props: Mapping[str, Any]
    urn: str = ""
    parent: str | None = None
    dependencies: Mapping[str, Sequence[str]] = field(default_factory=dict)
    """Property -> URNs of the resources its value was computed from (the engine's property dependencies;
    empty offline, where every value is known)."""

    @property
    def label(self) -> str:
        return f"{self.type} {self.name}"


@dataclass(frozen=True)
class Finding:
    resource: Resource
    message: str


ResourceCheck = Callable[[str, Mapping[str, Any]], Iterable[str]]
StackCheck = Callable[["Stack"], Iterable[Finding]]


@dataclass(frozen=True)
class Rule:
    name: str
    description: str
    enforcement: str
    types: tuple[str, ...] = ()
    """Type tokens a resource rule applies to; a token ending in "/" stands for a whole module."""
    check_resource: ResourceCheck | None = None
    check_stack: StackCheck | None = None

    @property
    def scope(self) -> str:
        return "resource" if self.check_resource else "stack"

    def applies_to(self, type_: str) -> bool:
        return any(type_ == t or (t.endswith("/") and type_.startswith(t)) for t in self.types)

    def findings(self, resources: Sequence[Resource], stack: "Stack") -> list[Finding]:
        """Runs the rule: a resource rule over ``resources`` (inputs), a stack rule over ``stack`` (outputs)."""
        if self.check_stack:
            return list(self.check_stack(stack))
        return [Finding(r, message) for r in resources if self.applies_to(r.type)
                for message in self.check_resource(r.type, r.props)]


RULES: list[Rule] = []


def resource_rule(name: str, description: str, *types: str, enforcement: str = MANDATORY):
    def register(check: ResourceCheck) -> ResourceCheck:
        RULES.append(Rule(name, description, enforcement, types, check_resource=check))
        return check
    return register


def stack_rule(name: str, description: str, enforcement: str = MANDATORY):
    def register(check: StackCheck) -> StackCheck:
        RULES.append(Rule(name, description, enforcement, check_stack=check))
        return check
    return register


class Stack:
    """A stack's resources, with the relations between them resolved by id, ARN or name, or, for values
    the engine does not know yet, by its property dependencies."""

    IDENTIFIERS = ("id", "arn", "name", "bucket")

    def __init__(self, resources: Iterable[Resource]):
        self.resources = list(resources)
        self.by_urn = {r.urn: r for r in self.resources if r.urn}
        self._by_identifier: dict[str, list[Resource]] = {}
        for r in self.resources:
            for key in self.IDENTIFIERS:
                value = r.props.get(key)
                if isinstance(value, str) and value and r not in self._by_identifier.get(value, []):
                    self._by_identifier.setdefault(value, []).append(r)

    def of_type(self, *types: str) -> list[Resource]:
        return [r for r in self.resources if r.type in types]

    def targets(self, source: Resource, prop: str, value: Any, types: Sequence[str]) -> list[Resource]:
        """Resources of ``types`` that ``value`` (found under the top-level property ``prop`` of ``source``)
        refers to."""
        found: list[Resource] = []
        for item in _as_list(value):
            if isinstance(item, str):
                found += [r for r in self._by_identifier.get(item, []) if r.type in types and r not in found]
        if not found:
            found = [r for urn in source.dependencies.get(prop, ()) if (r := self.by_urn.get(urn)) is not None
                     and r.type in types]
        return found

    def referring_to(self, target: Resource, types: Sequence[str], prop: str) -> list[Resource]:
        """Resources of ``types`` whose ``prop`` refers to ``target``."""
        return [r for r in self.of_type(*types) if target in self.targets(r, prop, r.props.get(prop), (target.type,))]

    def unresolved(self, types: Sequence[str], prop: str) -> bool:
        """Whether some resource of ``types`` refers, by ``prop``, to a resource nobody can tell yet (an unknown
        value, and no property dependencies from an older engine): a missing relation is then not proven."""
        return any(not known(r.props.get(prop)) and not r.dependencies.get(prop) for r in self.of_type(*types))


# ---------------------------------------------------------------------------------------------------
# Value helpers
def _as_list(value: Any) -> list:
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not known(value):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _true(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() == "true")


def _json(value: Any) -> Any:
    """A JSON-string property parsed (UNKNOWN or None when it cannot be)."""
    if not known(value) or value is None:
        return value
    if isinstance(value, (dict, list)):
        return value
    try:
        return json.loads(value)
    except (TypeError, ValueError):
        return None


def _tags(props: Mapping[str, Any]) -> Mapping[str, Any]:
    tags = props.get("tags") or props.get("tagsAll") or {}
    return tags if isinstance(tags, Mapping) else {}


def _find(value: Any, key: str) -> list:
    """Every value under ``key`` at any depth of a nested structure."""
    found = []
    if isinstance(value, Mapping):
        for k, v in value.items():
            found += [v] if k == key else []
            found += _find(v, key)
    elif isinstance(value, (list, tuple)):
        for v in value:
            found += _find(v, key)
    return found


# ---------------------------------------------------------------------------------------------------
# S3
SSE_ALGORITHMS = ("AES256", "aws:kms", "aws:kms:dsse")
PUBLIC_ACCESS_FLAGS = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")


@stack_rule("s3-public-access-blocked",
            "S3 buckets have a public access block with all four settings on")
def s3_public_access_blocked(stack: Stack) -> Iterable[Finding]:
    for bucket in stack.of_type(*BUCKETS):
        blocks = stack.referring_to(bucket, PUBLIC_ACCESS_BLOCK, "bucket")
        if not blocks and not stack.unresolved(PUBLIC_ACCESS_BLOCK, "bucket"):
            yield Finding(bucket, "no aws.s3.BucketPublicAccessBlock for this bucket in the stack")
        for block in blocks:
            off = [flag for flag in PUBLIC_ACCESS_FLAGS
                   if known(block.props.get(flag)) and not _true(block.props.get(flag))]
            if off:
                yield Finding(block, f"public access block leaves {', '.join(off)} off")


@stack_rule("s3-default-encryption", "S3 buckets have default server-side encryption (SSE-S3 or SSE-KMS)")
def s3_default_encryption(stack: Stack) -> Iterable[Finding]:
    for bucket in stack.of_type(*BUCKETS):
        configs = [bucket.props.get("serverSideEncryptionConfiguration")]
        configs += [c.props.get("rules") for c in stack.referring_to(bucket, BUCKET_ENCRYPTION, "bucket")]
        algorithms = [a for c in configs for a in _find(c, "sseAlgorithm")]
        if any(not known(a) for a in algorithms) or stack.unresolved(BUCKET_ENCRYPTION, "bucket"):
            continue
        if not any(a in SSE_ALGORITHMS for a in algorithms):
            yield Finding(bucket, "no server-side encryption configuration (aws.s3."
                                  "BucketServerSideEncryptionConfiguration with one of "
                                  f"{', '.join(SSE_ALGORITHMS)}) for this bucket in the stack")


@stack_rule("s3-tls-only-policy", "S3 bucket policies deny every request not made over TLS (aws:SecureTransport)")
def s3_tls_only_policy(stack: Stack) -> Iterable[Finding]:
    for bucket in stack.of_type(*BUCKETS):
        documents = [bucket.props.get("policy")] if bucket.props.get("policy") else []
        documents += [p.props.get("policy") for p in stack.referring_to(bucket, BUCKET_POLICY, "bucket")]
        parsed = [_json(d) for d in documents]
        if any(not known(d) for d in parsed) or stack.unresolved(BUCKET_POLICY, "bucket"):
            continue
        arn = bucket.props.get("arn")
        arn = arn if isinstance(arn, str) else None
        if not any(_denies_plain_http(s, arn) for d in parsed for s in _statements(d)):
            yield Finding(bucket, "no bucket policy with a Deny of s3:* for every principal on the bucket and its "
                                  "objects when aws:SecureTransport is false")


def _denies_plain_http(statement: Mapping, bucket_arn: str | None) -> bool:
    if statement.get("Effect") != "Deny" or statement.get("Principal") not in ("*", {"AWS": "*"}, {"AWS": ["*"]}):
        return False
    if not any(a in ("*", "s3:*") for a in _as_list(statement.get("Action"))):
        return False
    conditions = statement.get("Condition") or {}
    insecure = [v for test in ("Bool", "BoolIfExists") for v in _as_list((conditions.get(test) or {}).get(
        "aws:SecureTransport"))]
    if not any(str(v).lower() == "false" for v in insecure):
        return False
    if bucket_arn is None:
        return True
    resources = [r for r in _as_list(statement.get("Resource")) if isinstance(r, str)]
    return all(any(fnmatch.fnmatchcase(target, r) for r in resources) for target in (bucket_arn, f"{bucket_arn}/*"))


# ---------------------------------------------------------------------------------------------------
# Security groups
WORLD_OPEN_PORTS = (80, 443)
REMOTE_ADMIN_PORTS = {22: "SSH", 3389: "RDP"}
COMPUTE_SECURITY_GROUP_PROPS = {
    # type -> (top-level property, path to the list of security group ids)
    ECS_SERVICE: ("networkConfiguration", ("networkConfiguration", "securityGroups")),
    LAMBDA_FUNCTION: ("vpcConfig", ("vpcConfig", "securityGroupIds")),
    "aws:ec2/instance:Instance": ("vpcSecurityGroupIds", ("vpcSecurityGroupIds",)),
    "aws:ec2/launchTemplate:LaunchTemplate": ("vpcSecurityGroupIds", ("vpcSecurityGroupIds",)),
}


@dataclass(frozen=True)
class Ingress:
    protocol: str
    from_port: int
    to_port: int
    sources: tuple[str, ...]
    """CIDR blocks and prefix lists the rule admits (security-group sources are not addresses)."""

    def covers(self, port: int) -> bool:
        if self.protocol in ("-1", "all"):
            return True
        return self.protocol in ("tcp", "6", "udp", "17") and self.from_port <= port <= self.to_port

    @property
    def single_port(self) -> int | None:
        return self.from_port if self.from_port == self.to_port else None

    @property
    def world_open(self) -> bool:
        return any(_is_world(s) for s in self.sources)

    @property
    def ports(self) -> str:
        if self.protocol in ("-1", "all"):
            return "all traffic"
        return f"{self.protocol} {self.from_port}" + (f"-{self.to_port}" if self.to_port != self.from_port else "")


def _is_world(source: str) -> bool:
    try:
        return ipaddress.ip_network(source, strict=False).prefixlen == 0
    except ValueError:
        return False


def ingress_rules(type_: str, props: Mapping[str, Any]) -> list[Ingress]:
    """The ingress rules a security group, a vpc ingress rule or an ec2 security group rule declares."""
    def make(protocol, from_port, to_port, *sources) -> Ingress | None:
        if not all(known(v) for v in (protocol, from_port, to_port)):
            return None
        low, high = _number(from_port), _number(to_port)
        low, high = (0 if low is None else int(low)), (65535 if high is None else int(high))
        flat = tuple(s for group in sources for s in _as_list(group) if isinstance(s, str))
        return Ingress(str(protocol).lower(), max(low, 0), high if high >= 0 else 65535, flat)

    rules: list[Ingress | None] = []
    if type_ in SECURITY_GROUPS:
        rules = [make(i.get("protocol"), i.get("fromPort"), i.get("toPort"), i.get("cidrBlocks"),
                      i.get("ipv6CidrBlocks"), i.get("prefixListIds"))
                 for i in _as_list(props.get("ingress")) if isinstance(i, Mapping)]
    elif type_ == "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule":
        rules = [make(props.get("ipProtocol"), props.get("fromPort"), props.get("toPort"), props.get("cidrIpv4"),
                      props.get("cidrIpv6"), props.get("prefixListId"))]
    elif type_ == "aws:ec2/securityGroupRule:SecurityGroupRule" and props.get("type") == "ingress":
        rules = [make(props.get("protocol"), props.get("fromPort"), props.get("toPort"), props.get("cidrBlocks"),
                      props.get("ipv6CidrBlocks"), props.get("prefixListIds"))]
    return [r for r in rules if r is not None]


@resource_rule("security-group-no-remote-admin",
               "No SSH (22) or RDP (3389) ingress from any address range: use SSM Session Manager or ECS Exec",
               *SECURITY_GROUPS, *INGRESS_RULES)
def security_group_no_remote_admin(type_: str, props: Mapping[str, Any]) -> Iterable[str]:
    for rule in ingress_rules(type_, props):
        for port, service in REMOTE_ADMIN_PORTS.items():
            if rule.sources and rule.covers(port):
                yield f"{service} (port {port}) open to {', '.join(rule.sources)} ({rule.ports})"


@stack_rule("security-group-no-public-ingress",
            "No ingress from 0.0.0.0/0 or ::/0, except HTTP (80) and HTTPS (443) on load-balancer groups")
def security_group_no_public_ingress(stack: Stack) -> Iterable[Finding]:
    load_balancer_groups = load_balancer_security_groups(stack)
    for resource in stack.of_type(*SECURITY_GROUPS, *INGRESS_RULES):
        if resource.type in SECURITY_GROUPS:
            groups = [resource]
        else:
            group_id = resource.props.get("securityGroupId")
            groups = stack.targets(resource, "securityGroupId", group_id, SECURITY_GROUPS)
            if not groups and not known(group_id):
                continue  # which group it opens cannot be told yet
        is_load_balancer = bool(groups) and all(g in load_balancer_groups for g in groups)
        for rule in ingress_rules(resource.type, resource.props):
            if not rule.world_open:
                continue
            web_port = rule.protocol in ("tcp", "6") and rule.single_port in WORLD_OPEN_PORTS
            if web_port and is_load_balancer:
                continue
            where = "a load-balancer group (only 80 and 443 may be)" if is_load_balancer else (
                "a group that is not a load-balancer group of this stack")
            yield Finding(resource, f"{rule.ports} open to the internet on {where}")


def load_balancer_security_groups(stack: Stack) -> list[Resource]:
    """Groups of the stack that front load balancers: tagged role=load-balancer or attached to a load balancer
    of the stack, and attached to no compute (task, function, instance) of the stack."""
    tagged = [g for g in stack.of_type(*SECURITY_GROUPS) if _tags(g.props).get("role") == "load-balancer"]
    attached = [g for lb in stack.of_type(*LOAD_BALANCERS)
                for g in stack.targets(lb, "securityGroups", lb.props.get("securityGroups"), SECURITY_GROUPS)]
    compute = []
    for type_, (prop, path) in COMPUTE_SECURITY_GROUP_PROPS.items():
        for resource in stack.of_type(type_):
            value: Any = resource.props
            for key in path:
                value = value.get(key) if isinstance(value, Mapping) else None
            compute += stack.targets(resource, prop, value, SECURITY_GROUPS)
    return [g for g in {id(g): g for g in tagged + attached}.values() if g not in compute]


# ---------------------------------------------------------------------------------------------------
# IAM
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


def _statements(document: Any) -> list[Mapping]:
    if not isinstance(document, Mapping):
        return []
    return [s for s in _as_list(document.get("Statement")) if isinstance(s, Mapping)]


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


# ---------------------------------------------------------------------------------------------------
# Secrets in plaintext (Lambda environments, container environments)
SECRET_WORDS = {"PASSWORD", "PASSWD", "PASSPHRASE", "SECRET", "SECRETS", "TOKEN", "CREDENTIAL", "CREDENTIALS",
                "APIKEY", "PRIVATEKEY"}
KEY_QUALIFIERS = {"API", "PRIVATE", "ACCESS", "SECRET", "SIGNING", "ENCRYPTION", "MASTER", "CLIENT", "ACCOUNT", "SA"}
REFERENCE_SUFFIXES = {"ARN", "ARNS", "NAME", "ID", "PATH", "URL", "URI", "PARAMETER", "PARAM", "FILE", "HEADER",
                      "ENDPOINT", "REGION", "TTL", "SECONDS"}
SECRET_VALUES = {
    "an AWS access key id": re.compile(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b"),
    "a private key": re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
    "a service account key": re.compile(r'"private_key"\s*:'),
    "a JWT": re.compile(r"\beyJ[\w-]{8,}\.eyJ[\w-]{8,}\.[\w-]{8,}"),
    "a GitHub token": re.compile(r"\bgh[pousr]_[A-Za-z0-9]{36,}"),
    "a Slack token": re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}"),
    "a Google API key": re.compile(r"\bAIza[0-9A-Za-z_-]{35}"),
    "credentials in a URL": re.compile(r"://[^/\s:@]+:[^/\s@]+@"),
}


def secret_looking_name(name: str) -> bool:
    words = [w.upper() for w in re.split(r"[^A-Za-z0-9]+|(?<=[a-z0-9])(?=[A-Z])", name) if w]
    if not words:
        return False
    if any(pair == ("ACCESS", "KEY") for pair in pairwise(words)):
        return True  # AWS_ACCESS_KEY_ID too: a credential, whatever its suffix
    if words[-1] in REFERENCE_SUFFIXES:
        return False
    return (any(w in SECRET_WORDS for w in words) or words == ["KEY"]
            or any(a in KEY_QUALIFIERS and b == "KEY" for a, b in pairwise(words)))


def plaintext_secret_problems(variables: Mapping[str, Any]) -> list[str]:
    """Why each variable looks like a secret passed in plaintext (by its name or its value)."""
    problems = []
    for name, value in variables.items():
        if not known(value):
            continue
        text = "" if value is None else str(value)
        if text == SECRET:
            problems.append(f"{name} holds a Pulumi secret in a plaintext variable")
            continue
        kinds = [kind for kind, pattern in SECRET_VALUES.items() if pattern.search(text)]
        if kinds:
            problems.append(f"{name} holds what looks like {kinds[0]}")
        elif text and secret_looking_name(name) and not text.startswith("arn:"):
            problems.append(f"{name} looks like a secret (by its name)")
    return problems


FIX_SECRETS = "keep it in Secrets Manager and pass its ARN (NAME_SECRET_ARN)"


# ---------------------------------------------------------------------------------------------------
# Lambda
MAX_LAMBDA_TIMEOUT = 300
TIMEOUT_JUSTIFICATION_TAG = "timeout-justification"


@resource_rule("lambda-timeout-bounded", f"Lambda timeouts are at most {MAX_LAMBDA_TIMEOUT} s, unless the function "
               f"has a '{TIMEOUT_JUSTIFICATION_TAG}' tag saying why", LAMBDA_FUNCTION)
def lambda_timeout_bounded(type_: str, props: Mapping[str, Any]) -> Iterable[str]:
    timeout = _number(props.get("timeout", 3))
    justified = str(_tags(props).get(TIMEOUT_JUSTIFICATION_TAG) or "").strip()
    if timeout is not None and timeout > MAX_LAMBDA_TIMEOUT and not justified:
        yield (f"timeout {int(timeout)} s is above {MAX_LAMBDA_TIMEOUT} s; shorten it or tag the function "
               f"{TIMEOUT_JUSTIFICATION_TAG}=<why>")


@resource_rule("lambda-no-plaintext-secrets", "No secret-looking values in Lambda environment variables",
               LAMBDA_FUNCTION)
def lambda_no_plaintext_secrets(type_: str, props: Mapping[str, Any]) -> Iterable[str]:
    environment = props.get("environment")
    variables = environment.get("variables") if isinstance(environment, Mapping) else None
    if isinstance(variables, Mapping):
        for problem in plaintext_secret_problems(variables):
            yield f"environment variable {problem}: {FIX_SECRETS}"


@stack_rule("lambda-log-group-retention", "Lambda functions log to a log group of the stack that has a retention")
def lambda_log_group_retention(stack: Stack) -> Iterable[Finding]:
    for function in stack.of_type(LAMBDA_FUNCTION):
        logging_config = function.props.get("loggingConfig")
        group = logging_config.get("logGroup") if isinstance(logging_config, Mapping) else None
        if group:
            groups = stack.targets(function, "loggingConfig", group, (LOG_GROUP,))
            if not groups and known(group):
                yield Finding(function, f"logs to {group}, which is not a log group of this stack, so nothing sets "
                                        "its retention")
        else:
            name = function.props.get("name") or function.props.get("id")
            groups = [g for g in stack.of_type(LOG_GROUP)
                      if (known(name) and g.props.get("name") == f"/aws/lambda/{name}")
                      or (not known(g.props.get("name")) and function.urn in g.dependencies.get("name", ()))]
            if not groups and known(name):
                yield Finding(function, f"logs to /aws/lambda/{name}, which this stack does not create, so Lambda "
                                        "creates it without a retention; set loggingConfig.logGroup to a log group "
                                        "of the stack")
        for g in groups:
            problem = _retention_problem(g.props)
            if problem:
                yield Finding(function, f"its log group {g.name} {problem}")


@resource_rule("lambda-permission-not-public", "Lambda permissions are never granted to every principal (*) "
               "without a source condition", LAMBDA_PERMISSION)
def lambda_permission_not_public(type_: str, props: Mapping[str, Any]) -> Iterable[str]:
    scoped = any(props.get(k) for k in ("sourceArn", "sourceAccount", "principalOrgId"))
    if props.get("principal") == "*" and not scoped:
        yield f"anyone may call {props.get('action', 'lambda:InvokeFunction')}: name the principal and its source"


@resource_rule("lambda-permission-source-scoped", "Lambda permissions for AWS services name the source ARN or "
               "account (confused deputy)", LAMBDA_PERMISSION, enforcement=ADVISORY)
def lambda_permission_source_scoped(type_: str, props: Mapping[str, Any]) -> Iterable[str]:
    principal = props.get("principal")
    if isinstance(principal, str) and principal.endswith(".amazonaws.com") and not (
            props.get("sourceArn") or props.get("sourceAccount")):
        yield f"{principal} may invoke the function on behalf of any account: set source_arn or source_account"


# ---------------------------------------------------------------------------------------------------
# CloudWatch log groups
def _retention_problem(props: Mapping[str, Any]) -> str | None:
    retention = props.get("retentionInDays")
    if not known(retention):
        return None
    days = _number(retention)
    if not days:
        return "keeps logs forever (no retentionInDays)"
    if int(days) not in LOG_RETENTION_DAYS:
        return f"has retentionInDays {retention}, which CloudWatch does not accept"
    return None


@resource_rule("log-group-retention", "CloudWatch log groups have a retention period", LOG_GROUP)
def log_group_retention(type_: str, props: Mapping[str, Any]) -> Iterable[str]:
    problem = _retention_problem(props)
    if problem:
        yield problem


# ---------------------------------------------------------------------------------------------------
# ECS
ROOT_USERS = {"root", "0"}
PRIVILEGED_CAPABILITIES = {"ALL", "SYS_ADMIN", "NET_ADMIN"}


def _containers(props: Mapping[str, Any]) -> list[Mapping] | None:
    """The task definition's container definitions, None when not known yet."""
    definitions = _json(props.get("containerDefinitions"))
    if not known(definitions) or not isinstance(definitions, list):
        return None
    return [c for c in definitions if isinstance(c, Mapping)]


def _container_name(container: Mapping) -> str:
    return str(container.get("name") or "<unnamed>")


def _task_size(value: Any) -> int | None:
    """Task cpu units or memory MiB as ECS accepts them: "256", 1024, "0.25 vCPU", "2 GB"."""
    if not known(value) or value is None:
        return None
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(vcpu|gb)?\s*", str(value), re.IGNORECASE)
    if not match:
        return None
    return int(float(match[1]) * (1024 if match[2] else 1))


@resource_rule("ecs-task-awslogs", "Every container of a task definition logs to CloudWatch Logs (awslogs) into "
               "an existing log group", TASK_DEFINITION)
def ecs_task_awslogs(type_: str, props: Mapping[str, Any]) -> Iterable[str]:
    for container in _containers(props) or []:
        config = container.get("logConfiguration") or {}
        options = config.get("options") or {}
        if config.get("logDriver") != "awslogs":
            driver = config.get("logDriver") or "no log driver"
            yield f"container {_container_name(container)} logs with {driver}, not awslogs"
        elif not options.get("awslogs-group"):
            yield f"container {_container_name(container)} names no awslogs-group"
        elif _true(options.get("awslogs-create-group")):
            yield (f"container {_container_name(container)} lets awslogs create its group (without retention); "
                   "create the log group in the stack")


@resource_rule("ecs-fargate-size", "Fargate task definitions use awsvpc and a cpu/memory combination Fargate offers",
               TASK_DEFINITION)
def ecs_fargate_size(type_: str, props: Mapping[str, Any]) -> Iterable[str]:
    compatibilities = props.get("requiresCompatibilities")
    if not known(compatibilities) or "FARGATE" not in _as_list(compatibilities):
        return
    if known(props.get("networkMode")) and props.get("networkMode") != "awsvpc":
        yield f"network mode {props.get('networkMode')!r}: Fargate requires awsvpc"
    cpu, memory = _task_size(props.get("cpu")), _task_size(props.get("memory"))
    if not (known(props.get("cpu")) and known(props.get("memory"))):
        return
    if cpu not in FARGATE_SIZES:
        yield f"cpu {props.get('cpu')!r} is not a Fargate size; allowed: {', '.join(map(str, FARGATE_SIZES))}"
    elif memory not in FARGATE_SIZES[cpu]:
        allowed = FARGATE_SIZES[cpu]
        examples = ", ".join(map(str, allowed[:4])) + (", ..." if len(allowed) > 4 else "")
        yield (f"memory {props.get('memory')!r} is not offered with {cpu} cpu units; allowed: "
               f"{allowed[0]}-{allowed[-1]} MiB ({examples})")


@resource_rule("ecs-no-privileged", "No privileged containers, added admin capabilities or host networking",
               TASK_DEFINITION)
def ecs_no_privileged(type_: str, props: Mapping[str, Any]) -> Iterable[str]:
    if props.get("networkMode") == "host":
        yield "network mode host shares the host's network stack"
    for container in _containers(props) or []:
        if _true(container.get("privileged")):
            yield f"container {_container_name(container)} is privileged"
        added = {str(c).upper() for c in _find(container.get("linuxParameters"), "add") for c in _as_list(c)}
        if added & PRIVILEGED_CAPABILITIES:
            yield f"container {_container_name(container)} adds {', '.join(sorted(added & PRIVILEGED_CAPABILITIES))}"


@resource_rule("ecs-no-plaintext-secrets", "No secret-looking values in container environment variables (use "
               "the task definition's secrets)", TASK_DEFINITION)
def ecs_no_plaintext_secrets(type_: str, props: Mapping[str, Any]) -> Iterable[str]:
    for container in _containers(props) or []:
        variables = {e.get("name"): e.get("value") for e in _as_list(container.get("environment"))
                     if isinstance(e, Mapping) and e.get("name")}
        for problem in plaintext_secret_problems(variables):
            yield (f"container {_container_name(container)}: environment variable {problem}: pass it in the "
                   "container's secrets (valueFrom a Secrets Manager ARN)")


@stack_rule("ecs-non-root-user", "Containers run as a non-root user: a user in the task definition, or an image "
            "of this stack whose Dockerfile sets a non-root USER", enforcement=ADVISORY)
def ecs_non_root_user(stack: Stack) -> Iterable[Finding]:
    images = _image_users(stack)
    for task in stack.of_type(TASK_DEFINITION):
        for container in _containers(task.props) or []:
            user, image = container.get("user"), container.get("image")
            if not known(user) or not known(image):
                continue
            if user:
                if str(user).split(":")[0] in ROOT_USERS:
                    yield Finding(task, f"container {_container_name(container)} runs as {user}")
                continue
            built = images.get(_repository_of(str(image or "")))
            if built is None:
                yield Finding(task, f"container {_container_name(container)} sets no user and its image {image} is "
                                    "not built by this stack from a Dockerfile with a non-root USER; set user if the "
                                    "image allows")
            elif built[1] is None:
                yield Finding(task, f"container {_container_name(container)} sets no user and {built[0]} sets no "
                                    "USER: it runs as its base image's user (root unless the base image sets one)")
            elif built[1].split(":")[0] in ROOT_USERS:
                yield Finding(task, f"container {_container_name(container)} runs as root ({built[0]} sets USER "
                                    f"{built[1]})")


def _repository_of(image: str) -> str:
    if "@" in image:
        return image.split("@", 1)[0]
    head, _, tail = image.rpartition(":")
    return head if head and "/" not in tail else image


def _image_users(stack: Stack) -> dict[str, tuple[str, str | None]]:
    """Repository -> (Dockerfile, its final USER or None) for the images this stack builds."""
    users = {}
    for build in stack.of_type(*IMAGE_BUILDS):
        dockerfile = build.props.get("dockerfile")
        location = dockerfile.get("location") if isinstance(dockerfile, Mapping) else None
        if not isinstance(location, str):
            continue
        path = Path(location) if Path(location).is_absolute() else PROJECT_DIR / location
        try:
            instructions = re.findall(r"^\s*USER\s+(\S+)", path.read_text(), re.IGNORECASE | re.MULTILINE)
        except OSError:
            continue
        for tag in _as_list(build.props.get("tags")):
            if isinstance(tag, str):
                users[_repository_of(tag)] = (location, instructions[-1] if instructions else None)
    return users


@resource_rule("ecs-service-circuit-breaker", "ECS services use the deployment circuit breaker with rollback",
               ECS_SERVICE)
def ecs_service_circuit_breaker(type_: str, props: Mapping[str, Any]) -> Iterable[str]:
    controller = props.get("deploymentController")
    if isinstance(controller, Mapping) and controller.get("type") in ("CODE_DEPLOY", "EXTERNAL"):
        return  # those controllers have no circuit breaker
    breaker = props.get("deploymentCircuitBreaker")
    if not known(breaker):
        return
    breaker = breaker if isinstance(breaker, Mapping) else {}
    missing = [k for k in ("enable", "rollback") if known(breaker.get(k)) and not _true(breaker.get(k))]
    if missing:
        yield f"deployment circuit breaker without {' and '.join(missing)}: a failing release would not roll back"


@resource_rule("ecs-service-public-ip", "ECS tasks get no public IP (advisory: dev networks without NAT need it)",
               ECS_SERVICE, enforcement=ADVISORY)
def ecs_service_public_ip(type_: str, props: Mapping[str, Any]) -> Iterable[str]:
    network = props.get("networkConfiguration")
    if isinstance(network, Mapping) and _true(network.get("assignPublicIp")):
        yield "tasks get public IPs; prefer private subnets with NAT or VPC endpoints"


# ---------------------------------------------------------------------------------------------------
# ECR
@resource_rule("ecr-scan-on-push", "ECR repositories scan images on push", ECR_REPOSITORY)
def ecr_scan_on_push(type_: str, props: Mapping[str, Any]) -> Iterable[str]:
    scanning = props.get("imageScanningConfiguration")
    if known(scanning) and not (isinstance(scanning, Mapping) and _true(scanning.get("scanOnPush"))):
        yield "images are not scanned on push"


@resource_rule("ecr-immutable-tags", "ECR repositories have immutable tags", ECR_REPOSITORY)
def ecr_immutable_tags(type_: str, props: Mapping[str, Any]) -> Iterable[str]:
    mutability = props.get("imageTagMutability", "MUTABLE")
    if known(mutability) and not str(mutability).startswith("IMMUTABLE"):
        yield f"image tag mutability is {mutability}: a pushed tag could be overwritten"


# ---------------------------------------------------------------------------------------------------
# Load balancers
TLS12_POLICY = re.compile(r"^ELBSecurityPolicy-(TLS13-1-[23]|TLS-1-2|FS-1-2)-")


@resource_rule("lb-drop-invalid-headers", "Application load balancers drop invalid HTTP header fields",
               *LOAD_BALANCERS)
def lb_drop_invalid_headers(type_: str, props: Mapping[str, Any]) -> Iterable[str]:
    if props.get("loadBalancerType", "application") == "application" and known(props.get("dropInvalidHeaderFields")) \
            and not _true(props.get("dropInvalidHeaderFields")):
        yield "drop_invalid_header_fields is off (request smuggling through malformed headers)"


@resource_rule("lb-https-tls12", "HTTPS and TLS listeners use a TLS 1.2+ security policy", *LISTENERS)
def lb_https_tls12(type_: str, props: Mapping[str, Any]) -> Iterable[str]:
    if props.get("protocol") not in ("HTTPS", "TLS"):
        return
    policy = props.get("sslPolicy")
    if known(policy) and not (isinstance(policy, str) and TLS12_POLICY.match(policy)):
        yield (f"{props.get('protocol')} listener with ssl policy {policy or 'the default ELBSecurityPolicy-2016-08'}, "
               "which allows TLS below 1.2; use ELBSecurityPolicy-TLS13-1-2-2021-06")


@resource_rule("lb-http-redirects-to-https", "HTTP listeners redirect to HTTPS", *LISTENERS, enforcement=ADVISORY)
def lb_http_redirects_to_https(type_: str, props: Mapping[str, Any]) -> Iterable[str]:
    if props.get("protocol", "HTTP") != "HTTP":
        return
    actions = [a for a in _as_list(props.get("defaultActions")) if isinstance(a, Mapping)]
    if actions and not all(a.get("type") == "redirect" and (a.get("redirect") or {}).get("protocol") == "HTTPS"
                           for a in actions):
        yield "serves plain HTTP instead of redirecting to HTTPS (configure a certificate)"


# ---------------------------------------------------------------------------------------------------
# GCP
PUBLIC_MEMBERS = ("allUsers", "allAuthenticatedUsers")


@resource_rule("gcp-no-public-members", "No allUsers or allAuthenticatedUsers on Cloud Functions, Cloud Run services "
               "or Cloud Storage", *GCP_PUBLIC_SURFACES)
def gcp_no_public_members(type_: str, props: Mapping[str, Any]) -> Iterable[str]:
    members = _as_list(props.get("member")) + _as_list(props.get("members")) + _as_list(props.get("entity"))
    members += [str(e).split(":", 1)[-1] for e in _as_list(props.get("roleEntities"))]
    policy = _json(props.get("policyData"))
    if isinstance(policy, Mapping):
        members += [m for binding in _as_list(policy.get("bindings")) if isinstance(binding, Mapping)
                    for m in _as_list(binding.get("members"))]
    public = sorted({m for m in members if isinstance(m, str) and m in PUBLIC_MEMBERS})
    if public:
        yield f"grants {props.get('role') or 'access'} to {', '.join(public)}: grant it to a dedicated service account"
    if props.get("predefinedAcl") in ("publicRead", "publicReadWrite"):
        yield f"predefined ACL {props['predefinedAcl']} makes objects public"


@resource_rule("gcp-bucket-public-access-prevention", "Cloud Storage buckets enforce public access prevention and "
               "uniform bucket-level access", GCP_BUCKET, enforcement=ADVISORY)
def gcp_bucket_public_access_prevention(type_: str, props: Mapping[str, Any]) -> Iterable[str]:
    if known(props.get("publicAccessPrevention")) and props.get("publicAccessPrevention") != "enforced":
        yield "public_access_prevention is not enforced"
    if known(props.get("uniformBucketLevelAccess")) and not _true(props.get("uniformBucketLevelAccess")):
        yield "uniform bucket-level access is off (object ACLs could make objects public)"


def rule(name: str) -> Rule:
    return next(r for r in RULES if r.name == name)
