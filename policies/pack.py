"""The rules of ``policies.rules`` as a Pulumi CrossGuard policy pack.

Resource rules become ``ResourceValidationPolicy``s (checked against each resource's inputs before it is
created or updated); stack rules become ``StackValidationPolicy``s (checked against every resource's outputs,
with the engine's property dependencies standing in for ids not known during a preview).
``policies/__main__.py`` serves the pack; ``pulumi preview --policy-pack policies`` runs it.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.proxy import _DictProxy, _is_unknown, _ListProxy

from policies import rules

PACK_NAME = "cloud-patterns-guardrails"
ENFORCEMENT = {rules.MANDATORY: EnforcementLevel.MANDATORY, rules.ADVISORY: EnforcementLevel.ADVISORY}
SEVERITY = {rules.MANDATORY: Severity.HIGH, rules.ADVISORY: Severity.LOW}


def plain(value: Any) -> Any:
    """The SDK's unknown-checking proxies as plain dicts and lists, unknown values as ``rules.UNKNOWN`` (so a
    rule can still judge the known part of a resource during a preview) and integral numbers as ints (the
    wire format has only doubles)."""
    if isinstance(value, (_DictProxy, _ListProxy)):
        value = value["__target"]  # the proxies' own escape hatch: raw values, unknowns unchecked
    if isinstance(value, Mapping):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if _is_unknown(value):
        return rules.UNKNOWN
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def stack_resource(resource: PolicyResource) -> rules.Resource:
    return rules.Resource(
        type=resource.resource_type, name=resource.name, props=plain(resource.props), urn=resource.urn,
        parent=resource.parent.urn if resource.parent is not None else None,
        dependencies={prop: tuple(d.urn for d in deps) for prop, deps in resource.property_dependencies.items()})


def resource_policy(rule: rules.Rule) -> ResourceValidationPolicy:
    def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        if rule.applies_to(args.resource_type):
            for message in rule.check_resource(args.resource_type, plain(args.props)):
                report_violation(message, args.urn)

    return ResourceValidationPolicy(name=rule.name, description=rule.description, validate=validate,
                                    enforcement_level=ENFORCEMENT[rule.enforcement],
                                    severity=SEVERITY[rule.enforcement])


def stack_policy(rule: rules.Rule) -> StackValidationPolicy:
    def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
        stack = rules.Stack(stack_resource(r) for r in args.resources)
        for finding in rule.check_stack(stack):
            report_violation(f"{finding.resource.label}: {finding.message}", finding.resource.urn or None)

    return StackValidationPolicy(name=rule.name, description=rule.description, validate=validate,
                                 enforcement_level=ENFORCEMENT[rule.enforcement], severity=SEVERITY[rule.enforcement])


def build_policies() -> list[Policy]:
    return [resource_policy(r) if r.scope == "resource" else stack_policy(r) for r in rules.RULES]


def pack_arguments() -> dict[str, Any]:
    """What ``pulumi_policy.PolicyPack`` takes (constructing it starts serving, so tests stop here)."""
    return {"name": PACK_NAME, "policies": build_policies(), "enforcement_level": EnforcementLevel.ADVISORY,
            "description": "Guardrails of the cloud-patterns project: S3, security groups, IAM, Lambda, ECS, ECR, "
                           "CloudWatch Logs, load balancers and GCP public access"}
