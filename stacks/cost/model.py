"""What an estimate is made of (its lines, a stack's and an environment's cost), estimating, and the registry
of pricing rules (``rule``) with the stack context a rule prices a resource in."""
from __future__ import annotations

import fnmatch
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Union

from planning.offline import PlannedResource, StackPlan, plan_environment
from planning.project import load_environment
from stacks.cost.formatting import _count, _rate
from stacks.cost.prices import PriceList, Usage, load_prices, load_usage


# ---------------------------------------------------------------------------------------------------
# What an estimate is made of.

@dataclass(frozen=True)
class FixedCost:
    resource: str
    type: str
    item: str
    monthly: float
    basis: str


@dataclass(frozen=True)
class UsageRate:
    """``price`` per ``unit`` (``unit_size`` base quantities, e.g. 1M invocations) of ``usage_key``."""

    resource: str
    type: str
    item: str
    price: float
    unit: str
    usage_key: str
    basis: str
    unit_size: float = 1
    free_quantity: float = 0
    quantity: float | None = None
    """Monthly quantity, in base units, from the usage file; None when it gives none."""

    @property
    def monthly(self) -> float | None:
        if self.quantity is None:
            return None
        return max(0.0, self.quantity - self.free_quantity) / self.unit_size * self.price


@dataclass(frozen=True)
class NoCost:
    resource: str
    type: str
    reason: str


@dataclass(frozen=True)
class NotPriced:
    resource: str
    type: str
    reason: str


Line = Union[FixedCost, UsageRate, NoCost, NotPriced]


@dataclass
class StackCost:
    stack: str
    short_name: str
    fixed: list[FixedCost] = field(default_factory=list)
    usage: list[UsageRate] = field(default_factory=list)
    free: list[NoCost] = field(default_factory=list)
    not_priced: list[NotPriced] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def fixed_monthly(self) -> float:
        return sum(line.monthly for line in self.fixed)

    @property
    def usage_monthly(self) -> float:
        return sum(line.monthly or 0.0 for line in self.usage)

    @property
    def per_task_run(self) -> list[UsageRate]:
        return [line for line in self.usage if line.usage_key == "task_runs"]

    def to_json(self) -> dict:
        return {"stack": self.stack, "fixed_monthly": self.fixed_monthly,
                "usage_monthly": self.usage_monthly if any(u.quantity is not None for u in self.usage) else None,
                "fixed": [vars(line) for line in self.fixed],
                "usage": [{**vars(line), "monthly": line.monthly} for line in self.usage],
                "free": [vars(line) for line in self.free], "not_priced": [vars(line) for line in self.not_priced],
                "notes": self.notes}


@dataclass
class EnvironmentCost:
    environment: str
    prices: PriceList
    stacks: list[StackCost]
    usage_source: str | None = None

    @property
    def fixed_monthly(self) -> float:
        return sum(s.fixed_monthly for s in self.stacks)

    @property
    def usage_monthly(self) -> float:
        return sum(s.usage_monthly for s in self.stacks)

    def stack(self, name: str) -> StackCost:
        return next(s for s in self.stacks if name in (s.stack, s.short_name))

    def to_json(self) -> dict:
        prices = self.prices
        return {"environment": self.environment, "currency": prices.currency, "region": prices.region,
                "gcp_region": prices.gcp_region, "prices_taken": prices.taken, "prices_status": prices.status,
                "hours_per_month": prices.hours_per_month, "usage_file": self.usage_source,
                "fixed_monthly": self.fixed_monthly,
                "usage_monthly": self.usage_monthly if self.usage_source else None,
                "stacks": [s.to_json() for s in self.stacks]}


# ---------------------------------------------------------------------------------------------------
# Estimating.

def estimate(environment: str, selections: list[str] | None = None, usage_file: Path | None = None
             ) -> EnvironmentCost:
    """Plans an environment's stacks offline (all, or the selected ones) and estimates their cost."""
    usage = load_usage(usage_file) if usage_file else None  # a bad usage file fails before any planning
    env = load_environment(environment)
    plans = plan_environment(env, env.resolve(selections))
    return estimate_environment(plans, usage, known_stacks=[s.short_name for s in env.stacks.values()],
                                environment=env.name)


def estimate_environment(plans: list[StackPlan], usage: Usage | None = None, prices: PriceList | None = None,
                         known_stacks: Iterable[str] | None = None, environment: str | None = None
                         ) -> EnvironmentCost:
    """The cost of each planned stack. ``known_stacks`` (all the environment's short names) lets a usage
    file name stacks that were not selected; without it, every stack the file names must be planned."""
    prices = prices or load_prices()
    usage = usage or Usage()
    stacks = [estimate_stack(plan, prices, usage) for plan in plans]
    usage.check_names(plans, known_stacks if known_stacks is not None else [p.spec.short_name for p in plans])
    name = environment or (plans[0].spec.environment if plans else "")
    return EnvironmentCost(name, prices, stacks, usage.source)


def estimate_stack(plan: StackPlan, prices: PriceList, usage: Usage | None = None) -> StackCost:
    register_rules()
    context = StackContext(plan, prices, usage or Usage())
    cost = StackCost(plan.spec.name, plan.spec.short_name)
    lists = {FixedCost: cost.fixed, UsageRate: cost.usage, NoCost: cost.free, NotPriced: cost.not_priced}
    for resource in plan.resources:
        if resource.custom:
            for line in context.price(resource):
                lists[type(line)].append(line)
    if plan.spec.region != prices.region and any(r.type.startswith("aws:") for r in plan.resources):
        cost.notes.append(f"this stack is in {plan.spec.region}; the AWS prices are those of {prices.region}")
    return cost


Rule = Callable[[PlannedResource, "StackContext"], "list[Line] | None"]
RULES: dict[str, Rule] = {}


def rule(*type_tokens: str) -> Callable[[Rule], Rule]:
    def register(function: Rule) -> Rule:
        for token in type_tokens:
            RULES[token] = function
        return function
    return register


def register_rules() -> None:
    """Imports the rules package, whose modules register their rules: estimating never depends on who imported
    what before."""
    from stacks.cost import rules  # noqa: F401  (imported for its registrations)


class StackContext:
    """One stack's resources, indexed for the rules that need a resource's neighbours."""

    def __init__(self, plan: StackPlan, prices: PriceList, usage: Usage):
        self.plan, self.prices, self.usage = plan, prices, usage
        self.hours = prices.hours_per_month
        self.task_definitions = {str(r.inputs.get("family")): r
                                 for r in plan.of_type("aws:ecs/taskDefinition:TaskDefinition")}
        self.services_by_family: dict[str, list[PlannedResource]] = {}
        for service in plan.of_type("aws:ecs/service:Service"):
            family = _task_family(service.inputs.get("taskDefinition"))
            self.services_by_family.setdefault(family, []).append(service)
        self.policies_by_role: dict[str, list[dict]] = {}
        for policy in plan.of_type("aws:iam/rolePolicy:RolePolicy"):
            try:
                document = json.loads(policy.inputs.get("policy") or "{}")
            except (TypeError, json.JSONDecodeError):
                continue
            self.policies_by_role.setdefault(str(policy.inputs.get("role")), []).append(document)

    def price(self, resource: PlannedResource) -> list[Line]:
        rule_for_type = RULES.get(resource.type)
        lines = rule_for_type(resource, self) if rule_for_type else None
        if lines is not None:
            return lines
        if resource.type in self.prices.free:
            return [NoCost(resource.name, resource.type, self.prices.free[resource.type])]
        return [NotPriced(resource.name, resource.type, "no price for this resource type")]

    def usage_line(self, resource: PlannedResource, item: str, price: float, unit: str, usage_key: str,
                   basis: str, unit_size: float = 1, free_quantity: float = 0) -> UsageRate:
        return UsageRate(resource.name, resource.type, item, price, unit, usage_key, basis, unit_size, free_quantity,
                         self.usage.lookup(self.plan, usage_key, resource.name))

    def fixed_hours(self, resource: PlannedResource, item: str, count: float, hourly: float, what: str) -> FixedCost:
        return FixedCost(resource.name, resource.type, item, count * hourly * self.hours,
                         f"{_count(count)}{self.hours:g} h × {_rate(hourly)}/{what}-h")

    def invokers_of(self, family: str) -> list[PlannedResource]:
        """Lambda functions whose role may ecs:RunTask this task definition family."""
        def policies(function: PlannedResource) -> list[dict]:
            role_name = str(function.inputs.get("role", "")).split("/")[-1]  # the role's ARN ends in its name
            return self.policies_by_role.get(role_name, [])
        return [function for function in self.plan.of_type("aws:lambda/function:Function")
                if any(_allows_run_task(document, family) for document in policies(function))]

    def runs_tasks(self, function: PlannedResource) -> list[str]:
        return [family for family in self.task_definitions if function in self.invokers_of(family)]


def _task_family(task_definition: Any) -> str:
    """``arn:...:task-definition/family:3``, ``family:3`` or ``family`` -> ``family``."""
    text = str(task_definition or "")
    return text.split("task-definition/", 1)[-1].split(":", 1)[0]


def _allows_run_task(document: dict, family: str) -> bool:
    for statement in _as_list(document.get("Statement")):
        if statement.get("Effect") != "Allow" or "ecs:RunTask" not in _as_list(statement.get("Action")):
            continue
        for resource in _as_list(statement.get("Resource")):
            pattern = str(resource).split("task-definition/", 1)[-1] if "task-definition/" in str(resource) else None
            if pattern and (fnmatch.fnmatchcase(f"{family}:1", pattern) or pattern == family):
                return True
    return False


def _as_list(value: Any) -> list:
    return value if isinstance(value, list) else [] if value is None else [value]

