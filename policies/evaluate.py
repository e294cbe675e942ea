"""The policy rules over the offline plan: the same functions the CrossGuard pack runs, per stack.

Resource rules see each resource's recorded inputs, as the engine's ``Analyze`` would. Stack rules see what
the engine's ``AnalyzeStack`` sees, the resources' outputs: the provider mocks that answered the plan are
asked again for each resource's id and outputs (they are derived from type and name, so they are the ones
the plan's references were resolved to), which is how a bucket's public access block finds its bucket.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from pulumi.runtime import MockResourceArgs
from rich.console import Console
from rich.tree import Tree

from policies import rules
from planning.mocks import ProviderMocks
from planning.offline import StackPlan


@dataclass(frozen=True)
class Violation:
    policy: str
    enforcement: str
    resource_type: str
    resource_name: str
    urn: str
    message: str

    def to_json(self) -> dict:
        return {"policy": self.policy, "enforcement": self.enforcement, "type": self.resource_type,
                "name": self.resource_name, "urn": self.urn, "message": self.message}


@dataclass
class StackPolicyReport:
    stack: str
    violations: list[Violation] = field(default_factory=list)

    @property
    def mandatory(self) -> list[Violation]:
        return [v for v in self.violations if v.enforcement == rules.MANDATORY]

    @property
    def advisory(self) -> list[Violation]:
        return [v for v in self.violations if v.enforcement == rules.ADVISORY]

    def to_json(self) -> dict:
        return {"mandatory": len(self.mandatory), "advisory": len(self.advisory),
                "violations": [v.to_json() for v in self.violations]}


def planned_inputs(plan: StackPlan) -> list[rules.Resource]:
    return [rules.Resource(r.type, r.name, r.inputs, r.urn, r.parent) for r in plan.resources]


def planned_outputs(plan: StackPlan) -> list[rules.Resource]:
    """Each resource as the engine reports it after an update: its outputs, id included."""
    values, _ = plan.spec.engine_config()
    mocks = ProviderMocks(region=plan.spec.region, gcp_project=values.get("gcp:project", "cloud-patterns-dev"),
                          gcp_region=values.get("gcp:region", "us-central1"))
    resources = []
    # Explicit providers first: what is made through one carries its region.
    for r in sorted(plan.resources, key=lambda r: not r.type.startswith("pulumi:providers:")):
        props = dict(r.inputs)
        if r.custom and r.type != "pulumi:pulumi:StackReference":
            resource_id, outputs = mocks.new_resource(MockResourceArgs(r.type, r.name, dict(r.inputs), custom=True,
                                                                       provider=r.provider))
            props = {**outputs, "id": resource_id}
        resources.append(rules.Resource(r.type, r.name, props, r.urn, r.parent))
    order = {r.urn: i for i, r in enumerate(plan.resources)}
    return sorted(resources, key=lambda r: order[r.urn])


def check_plan(plan: StackPlan, rule_set: Sequence[rules.Rule] = rules.RULES) -> StackPolicyReport:
    inputs, stack = planned_inputs(plan), rules.Stack(planned_outputs(plan))
    report = StackPolicyReport(plan.spec.name)
    for rule in rule_set:
        for finding in rule.findings(inputs, stack):
            report.violations.append(Violation(rule.name, rule.enforcement, finding.resource.type,
                                               finding.resource.name, finding.resource.urn, finding.message))
    return report


def check_plans(plans: Sequence[StackPlan]) -> list[StackPolicyReport]:
    return [check_plan(p) for p in plans]


def policy_document(reports: Sequence[StackPolicyReport]) -> dict:
    return {"mandatory": sum(len(r.mandatory) for r in reports), "advisory": sum(len(r.advisory) for r in reports),
            "stacks": {r.stack: r.to_json() for r in reports}}


def render(report: StackPolicyReport) -> Tree:
    """A stack's violations, mandatory first, each with its resource and what to fix."""
    tree = Tree(f"[bold]{report.stack}[/] policies: {len(report.mandatory)} mandatory, {len(report.advisory)} "
                "advisory violations")
    for v in report.mandatory + report.advisory:
        level = "[bold red]mandatory[/]" if v.enforcement == rules.MANDATORY else "[yellow]advisory[/]"
        tree.add(f"{level} {v.policy}: {v.resource_type} [cyan]{v.resource_name}[/]").add(v.message)
    return tree


def policy_gate(plans: Sequence[StackPlan], console: Console, document: dict | None = None) -> bool:
    """Checks every plan against the policies and prints the violations per stack on ``console``; with a plan
    ``document`` (``plan --json``) adds them to it as a top-level ``policy`` section. True when a mandatory
    policy is violated (the plan must fail)."""
    reports = check_plans(plans)
    if document is not None:
        document["policy"] = policy_document(reports)
    for report in reports:
        if report.violations:
            console.print(render(report), highlight=False)
    mandatory = sum(len(r.mandatory) for r in reports)
    advisory = sum(len(r.advisory) for r in reports)
    verdict = "[bold red]failed[/]" if mandatory else "[bold green]passed[/]"
    console.print(f"policies {verdict}: {mandatory} mandatory and {advisory} advisory violations in "
                  f"{len(reports)} stacks ({len(rules.RULES)} policies)", highlight=False)
    return mandatory > 0
