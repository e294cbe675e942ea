"""Cost estimate of an environment's stacks, from their offline plan (``python -m stacks cost``).

Every cloud resource a stack's plan records (type token and camelCase inputs, as the engine receives
them) lands in exactly one of four lists of its stack:

- fixed: what it costs per month whatever the use (a load balancer's hours, a NAT gateway, a public
  IPv4 address, a Fargate service's tasks at their desired count, a secret, ...);
- usage: a price per unit of use (per task run, per million Lambda invocations at the function's
  memory and an assumed duration, per GB of logs ingested, ...); a usage file (YAML, see
  ``USAGE_KEYS``) gives monthly quantities and turns these into a monthly total;
- free: costs nothing by itself, or is billed through another line (the reason says which);
- not priced: a type, or a configuration, without a price. Never silently dropped.

Prices come from ``stacks/prices.yaml``: list prices with their region, currency and the date they
were taken. Components (``custom=False``) are logical groupings, not cloud resources: they are skipped.
"""
from __future__ import annotations

import fnmatch
import json
import math
import tempfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Union

import yaml

from stacks import diff
from planning.offline import PlannedResource, StackPlan, plan_environment
from planning.project import PROJECT, PROJECT_DIR, Environment, StackSpec, load_environment

PRICES_FILE = Path(__file__).with_name("prices.yaml")
GB_PER_MIB = 1 / 1024

USAGE_KEYS: dict[str, str] = {
    "task_runs": "on-demand task runs a month (one thumbnail = one run)",
    "lambda_invocations": "invocations of each Lambda function a month",
    "api_requests": "requests to each HTTP API a month",
    "log_gb": "GB ingested into each log group a month",
    "nat_gb": "GB processed by each NAT gateway a month",
    "endpoint_gb": "GB processed by each interface endpoint a month",
    "alb_lcu": "average load balancer capacity units of each load balancer over the month",
    "s3_storage_gb": "GB stored in each S3 bucket (monthly average)",
    "s3_put_requests": "PUT/COPY/POST/LIST requests to each S3 bucket a month",
    "s3_get_requests": "GET and other read requests to each S3 bucket a month",
    "sqs_requests": "requests to each SQS queue a month",
    "sns_publishes": "publishes to each SNS topic a month",
    "ecr_storage_gb": "GB of images stored in each ECR repository",
    "secret_api_calls": "API calls to each Secrets Manager secret a month",
    "kms_requests": "requests to each KMS key a month",
    "cognito_mau": "monthly active users of each Cognito user pool",
    "function_invocations": "invocations of each Google Cloud function a month",
    "vision_units": "Cloud Vision label-detection units (images) a month",
    "gcs_storage_gb": "GB stored in each Cloud Storage bucket (monthly average)",
}
ASSUMPTIONS: dict[str, tuple[float, str]] = {
    "task_seconds": (60, "average run time of an on-demand task, seconds (billed for at least 60)"),
    "lambda_duration_ms": (200, "average duration of a Lambda invocation, ms"),
    "function_duration_ms": (1000, "average duration of a Google Cloud function invocation, ms"),
}

# Cloud Run functions (2nd gen) give a function this many vCPU for its memory unless availableCpu is set.
GCP_DEFAULT_CPU_BY_MEMORY_MIB = ((128, 0.083), (256, 0.167), (512, 0.333), (1024, 0.583), (2048, 1.0),
                                 (4096, 2.0), (8192, 2.0), (16384, 4.0), (32768, 8.0))


class CostError(Exception):
    """A price or usage file that cannot be used; nothing has been estimated."""


# ---------------------------------------------------------------------------------------------------
# Prices and usage files.

@dataclass(frozen=True)
class PriceList:
    region: str
    gcp_region: str
    currency: str
    taken: str
    status: str
    hours_per_month: float
    rates: Mapping[str, float]
    free: Mapping[str, str]
    """Type token -> why it costs nothing by itself."""

    def __getitem__(self, rate: str) -> float:
        try:
            return self.rates[rate]
        except KeyError:
            raise CostError(f"the price file has no rate {rate!r}") from None

    @property
    def caption(self) -> str:
        return (f"{self.currency} {self.status}, taken {self.taken} (AWS {self.region}, "
                f"Google Cloud {self.gcp_region}); {self.hours_per_month:g} h a month")


def load_prices(path: Path = PRICES_FILE) -> PriceList:
    document = _read_yaml(path, "price file")
    missing = [k for k in ("region", "gcp_region", "currency", "taken", "status", "hours_per_month", "rates",
                           "free") if k not in document]
    if missing:
        raise CostError(f"{path}: missing {', '.join(missing)}")
    rates = document["rates"]
    bad = [k for k, v in rates.items() if not _is_amount(v)]
    if bad:
        raise CostError(f"{path}: rates must be non-negative numbers: {', '.join(bad)}")
    return PriceList(region=str(document["region"]), gcp_region=str(document["gcp_region"]),
                     currency=str(document["currency"]), taken=str(document["taken"]),
                     status=str(document["status"]), hours_per_month=float(document["hours_per_month"]),
                     rates={k: float(v) for k, v in rates.items()},
                     free={str(k): str(v) for k, v in document["free"].items()})


UsageValue = Union[float, Mapping[str, float]]


@dataclass
class Usage:
    """Monthly usage and assumptions: ``defaults`` for every stack, ``stacks`` by short or full name.

    A value is a number, which applies to every resource of its kind in the stack, or a mapping from
    resource name to number."""

    defaults: Mapping[str, UsageValue] = field(default_factory=dict)
    stacks: Mapping[str, Mapping[str, UsageValue]] = field(default_factory=dict)
    source: str | None = None
    _used: set[tuple[str, str, str]] = field(default_factory=set, repr=False)

    def lookup(self, stack: StackPlan, key: str, resource: str) -> float | None:
        for section_name in (stack.spec.name, stack.spec.short_name, None):
            section = self.stacks.get(section_name, {}) if section_name else self.defaults
            value = section.get(key)
            if isinstance(value, Mapping):
                if resource in value:
                    self._used.add((section_name or "defaults", key, resource))
                    return float(value[resource])
            elif value is not None:
                return float(value)
        return None

    def assumption(self, stack: StackPlan, key: str, resource: str) -> float:
        value = self.lookup(stack, key, resource)
        return ASSUMPTIONS[key][0] if value is None else value

    def check_names(self, plans: Iterable[StackPlan], known_stacks: Iterable[str] | None) -> None:
        """Refuses stack names that are no stack, and resource names that match nothing they could."""
        plans = list(plans)
        if known_stacks is not None:
            known = set(known_stacks) | {p.spec.name for p in plans} | {p.spec.short_name for p in plans}
            unknown = sorted(set(self.stacks) - known)
            if unknown:
                raise CostError(f"{self.source or 'usage'}: stacks.{unknown[0]} is no stack of this environment; "
                                f"stacks: {', '.join(sorted(known_stacks))}")
        for plan in plans:
            for section_name in (plan.spec.name, plan.spec.short_name):
                for key, value in self.stacks.get(section_name, {}).items():
                    if not isinstance(value, Mapping):
                        continue
                    for resource in value:
                        if (section_name, key, resource) not in self._used:
                            raise CostError(
                                f"{self.source or 'usage'}: stacks.{section_name}.{key}.{resource}: {plan.spec.name} "
                                f"has no resource {resource!r} that {key} applies to")


def load_usage(path: Path) -> Usage:
    document = _read_yaml(Path(path), "usage file")
    allowed = {*USAGE_KEYS, *ASSUMPTIONS}
    extra = set(document) - {"defaults", "stacks"}
    if extra:
        raise CostError(f"{path}: unknown top-level key {sorted(extra)[0]!r}; allowed: defaults, stacks")

    def section(where: str, values: Any) -> dict[str, UsageValue]:
        if values is None:
            return {}
        if not isinstance(values, dict):
            raise CostError(f"{path}: {where} must be a mapping of usage keys")
        for key, value in values.items():
            if key not in allowed:
                raise CostError(f"{path}: {where}.{key}: unknown usage key; allowed: {', '.join(sorted(allowed))}")
            numbers = value.items() if isinstance(value, dict) else [(None, value)]
            for resource, number in numbers:
                if not _is_amount(number):
                    at = f"{where}.{key}" + (f".{resource}" if resource is not None else "")
                    raise CostError(f"{path}: {at} is {number!r}; it must be a non-negative number"
                                    + ("" if resource is not None else " or a mapping of resource name to number"))
        return values

    stacks = document.get("stacks") or {}
    if not isinstance(stacks, dict):
        raise CostError(f"{path}: stacks must map a stack name to its usage")
    return Usage(defaults=section("defaults", document.get("defaults")),
                 stacks={str(name): section(f"stacks.{name}", values) for name, values in stacks.items()},
                 source=str(path))


def _read_yaml(path: Path, what: str) -> dict:
    try:
        document = yaml.safe_load(path.read_text())
    except OSError as error:
        raise CostError(f"{what} {path}: {error.strerror}") from None
    except yaml.YAMLError as error:
        raise CostError(f"{what} {path}: not valid YAML: {error}") from None
    if not isinstance(document, dict):
        raise CostError(f"{what} {path}: expected a mapping at the top")
    return document


def _is_amount(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value >= 0 and math.isfinite(value)


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
    context = _StackContext(plan, prices, usage or Usage())
    cost = StackCost(plan.spec.name, plan.spec.short_name)
    lists = {FixedCost: cost.fixed, UsageRate: cost.usage, NoCost: cost.free, NotPriced: cost.not_priced}
    for resource in plan.resources:
        if resource.custom:
            for line in context.price(resource):
                lists[type(line)].append(line)
    if plan.spec.region != prices.region and any(r.type.startswith("aws:") for r in plan.resources):
        cost.notes.append(f"this stack is in {plan.spec.region}; the AWS prices are those of {prices.region}")
    return cost


Rule = Callable[[PlannedResource, "_StackContext"], "list[Line] | None"]
RULES: dict[str, Rule] = {}


def rule(*type_tokens: str) -> Callable[[Rule], Rule]:
    def register(function: Rule) -> Rule:
        for token in type_tokens:
            RULES[token] = function
        return function
    return register


class _StackContext:
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


# ---------------------------------------------------------------------------------------------------
# Pricing rules, by type token. A rule returns its lines, or None to fall back to the free list.

@rule("aws:lb/loadBalancer:LoadBalancer")
def _load_balancer(lb: PlannedResource, ctx: _StackContext) -> list[Line]:
    kind = lb.inputs.get("loadBalancerType", "application")
    if kind != "application":
        return [NotPriced(lb.name, lb.type, f"{kind} load balancers have no price in the price file")]
    p = ctx.prices
    lines: list[Line] = [ctx.fixed_hours(lb, "Application Load Balancer", 1, p["alb_hour"], "ALB")]
    if not lb.inputs.get("internal", False):
        nodes = len(lb.inputs.get("subnets") or lb.inputs.get("subnetMappings") or [])
        lines.append(ctx.fixed_hours(lb, f"public IPv4 addresses (one per subnet: {nodes})", nodes,
                                     p["public_ipv4_hour"], "IP"))
    lcu_month = p["alb_lcu_hour"] * ctx.hours
    lines.append(ctx.usage_line(lb, "load balancer capacity units", lcu_month, "LCU (monthly average)", "alb_lcu",
                                f"{ctx.hours:g} h × {_rate(p['alb_lcu_hour'])}/LCU-h"))
    return lines


@rule("aws:ec2/natGateway:NatGateway")
def _nat_gateway(nat: PlannedResource, ctx: _StackContext) -> list[Line]:
    if nat.inputs.get("connectivityType") == "private":
        return [NotPriced(nat.name, nat.type, "private NAT gateways have no price in the price file")]
    p = ctx.prices
    return [ctx.fixed_hours(nat, "NAT gateway", 1, p["nat_gateway_hour"], "gateway"),
            ctx.usage_line(nat, "data processed", p["nat_gateway_gb"], "GB", "nat_gb", "per GB processed")]


@rule("aws:ec2/eip:Eip")
def _elastic_ip(eip: PlannedResource, ctx: _StackContext) -> list[Line]:
    return [ctx.fixed_hours(eip, "public IPv4 address", 1, ctx.prices["public_ipv4_hour"], "IP")]


@rule("aws:ec2/vpcEndpoint:VpcEndpoint")
def _vpc_endpoint(endpoint: PlannedResource, ctx: _StackContext) -> list[Line]:
    kind = endpoint.inputs.get("vpcEndpointType", "Gateway")
    service = str(endpoint.inputs.get("serviceName", "")).rsplit(".", 1)[-1]
    if kind == "Gateway":
        return [NoCost(endpoint.name, endpoint.type, f"gateway endpoints ({service}) are free")]
    if kind != "Interface":
        return [NotPriced(endpoint.name, endpoint.type, f"{kind} endpoints have no price in the price file")]
    p = ctx.prices
    zones = len(endpoint.inputs.get("subnetIds") or []) or 1
    return [ctx.fixed_hours(endpoint, f"interface endpoint {service} ({zones} AZ)", zones,
                            p["interface_endpoint_az_hour"], "AZ"),
            ctx.usage_line(endpoint, "data processed", p["interface_endpoint_gb"], "GB", "endpoint_gb",
                           "per GB processed")]


@dataclass(frozen=True)
class FargateSize:
    vcpu: float
    memory_gb: float
    architecture: str
    extra_storage_gb: float

    def hourly(self, prices: PriceList) -> float:
        arch = "arm" if self.architecture == "ARM64" else "x86"
        return (self.vcpu * prices[f"fargate_{arch}_vcpu_hour"] + self.memory_gb * prices[f"fargate_{arch}_gb_hour"]
                + self.extra_storage_gb * prices["fargate_storage_gb_hour"])

    def describe(self, prices: PriceList) -> str:
        arch = "arm" if self.architecture == "ARM64" else "x86"
        parts = [f"{self.vcpu:g} vCPU × {_rate(prices[f'fargate_{arch}_vcpu_hour'])}",
                 f"{self.memory_gb:g} GB × {_rate(prices[f'fargate_{arch}_gb_hour'])}"]
        if self.extra_storage_gb:
            parts.append(f"{self.extra_storage_gb:g} GB storage × {_rate(prices['fargate_storage_gb_hour'])}")
        return f"({' + '.join(parts)})/h"


def _fargate_size(task: PlannedResource, prices: PriceList) -> FargateSize | str:
    """The billed size of a task definition, or why it cannot be priced."""
    platform = task.inputs.get("runtimePlatform") or {}
    if platform.get("operatingSystemFamily", "LINUX") != "LINUX":
        return f"{platform['operatingSystemFamily']} Fargate tasks have no price in the price file"
    if "FARGATE" not in (task.inputs.get("requiresCompatibilities") or []):
        return "not a Fargate task definition (EC2 capacity is not in the plan)"
    try:
        vcpu, memory_mib = int(task.inputs["cpu"]) / 1024, int(task.inputs["memory"])
    except (KeyError, TypeError, ValueError):
        return "its cpu and memory are not known from the plan"
    storage = float((task.inputs.get("ephemeralStorage") or {}).get("sizeInGib", 0))
    extra = max(0.0, storage - prices["fargate_included_storage_gb"])
    return FargateSize(vcpu, memory_mib * GB_PER_MIB, platform.get("cpuArchitecture", "X86_64"), extra)


@rule("aws:ecs/service:Service")
def _ecs_service(service: PlannedResource, ctx: _StackContext) -> list[Line]:
    strategies = [s.get("capacityProvider") for s in service.inputs.get("capacityProviderStrategies") or []]
    if strategies and set(strategies) != {"FARGATE"}:
        return [NotPriced(service.name, service.type, f"capacity providers {', '.join(strategies)} are not priced")]
    if not strategies and service.inputs.get("launchType", "EC2") != "FARGATE":
        return [NotPriced(service.name, service.type, "not a Fargate service (EC2 capacity is not in the plan)")]
    family = _task_family(service.inputs.get("taskDefinition"))
    task = ctx.task_definitions.get(family)
    if task is None:
        return [NotPriced(service.name, service.type, f"its task definition {family!r} is not in this stack")]
    size = _fargate_size(task, ctx.prices)
    if isinstance(size, str):
        return [NotPriced(service.name, service.type, size)]
    count = int(service.inputs.get("desiredCount", 0))
    lines: list[Line] = [FixedCost(
        service.name, service.type, f"Fargate tasks of {family} at desired count {count}",
        count * size.hourly(ctx.prices) * ctx.hours,
        f"{_count(count)}{ctx.hours:g} h × {size.describe(ctx.prices)}")]
    if (service.inputs.get("networkConfiguration") or {}).get("assignPublicIp"):
        lines.append(ctx.fixed_hours(service, "public IPv4 address per task", count, ctx.prices["public_ipv4_hour"],
                                     "IP"))
    return lines


@rule("aws:ecs/taskDefinition:TaskDefinition")
def _task_definition(task: PlannedResource, ctx: _StackContext) -> list[Line]:
    family = str(task.inputs.get("family"))
    services = ctx.services_by_family.get(family)
    if services:
        return [NoCost(task.name, task.type, f"billed through service {', '.join(s.name for s in services)}")]
    size = _fargate_size(task, ctx.prices)
    if isinstance(size, str):
        return [NotPriced(task.name, task.type, size)]
    p = ctx.prices
    seconds = ctx.usage.assumption(ctx.plan, "task_seconds", task.name)
    billed = max(p["fargate_minimum_seconds"], math.ceil(seconds))
    hourly = size.hourly(p)
    basis = [f"{billed:g} s billed ({seconds:g} s assumed, {p['fargate_minimum_seconds']:g} s minimum) × "
             f"{size.describe(p)}"]
    invokers = ctx.invokers_of(family)
    for function in invokers:
        environment = (function.inputs.get("environment") or {}).get("variables") or {}
        if str(environment.get("ASSIGN_PUBLIC_IP", "")).upper() == "ENABLED":
            hourly += p["public_ipv4_hour"]
            basis.append(f"its public IPv4 address at {_rate(p['public_ipv4_hour'])}/h")
            break
    price = hourly * billed / 3600
    for function in invokers:
        invocation, how = _lambda_invocation(function, ctx)
        price += invocation
        basis.append(f"one invocation of {function.name} ({how})")
    item = f"run of task {family}" + (f" started by {', '.join(f.name for f in invokers)}" if invokers else "")
    return [ctx.usage_line(task, item, price, "task run", "task_runs", " + ".join(basis))]


def _lambda_invocation(function: PlannedResource, ctx: _StackContext) -> tuple[float, str]:
    """The price of one invocation at the function's memory and architecture and the assumed duration."""
    p = ctx.prices
    memory_gb = int(function.inputs.get("memorySize", 128)) * GB_PER_MIB
    arch = "arm" if (function.inputs.get("architectures") or ["x86_64"])[0] == "arm64" else "x86"
    milliseconds = math.ceil(ctx.usage.assumption(ctx.plan, "lambda_duration_ms", function.name))
    gb_second = p[f"lambda_{arch}_gb_second"]
    price = p["lambda_million_requests"] / 1e6 + memory_gb * milliseconds / 1000 * gb_second
    return price, (f"{_rate(p['lambda_million_requests'])}/1M + {memory_gb:g} GB × {milliseconds / 1000:g} s "
                   f"assumed × {_rate(gb_second)}/GB-s {arch}")


@rule("aws:lambda/function:Function")
def _lambda_function(function: PlannedResource, ctx: _StackContext) -> list[Line]:
    families = ctx.runs_tasks(function)
    if families:
        return [NoCost(function.name, function.type,
                       f"priced in each run of task {', '.join(families)} (one invocation per run)")]
    invocation, how = _lambda_invocation(function, ctx)
    return [ctx.usage_line(function, "invocations", invocation * 1e6, "1M invocations", "lambda_invocations",
                           f"1M × ({how})", unit_size=1e6)]


@rule("aws:cloudwatch/logGroup:LogGroup")
def _log_group(group: PlannedResource, ctx: _StackContext) -> list[Line]:
    p = ctx.prices
    infrequent = group.inputs.get("logGroupClass") == "INFREQUENT_ACCESS"
    ingestion = p["logs_infrequent_ingestion_gb" if infrequent else "logs_ingestion_gb"]
    retention = group.inputs.get("retentionInDays")
    if not retention:
        return [ctx.usage_line(group, "log ingestion (kept forever: storage grows every month, not estimated)",
                               ingestion, "GB", "log_gb", f"{_rate(ingestion)}/GB ingested")]
    months_kept = retention / (365 / 12)
    storage = p["logs_storage_gb_month"] * months_kept
    return [ctx.usage_line(group, f"log ingestion and {retention}-day storage", ingestion + storage, "GB", "log_gb",
                           f"{_rate(ingestion)}/GB ingested + {_rate(p['logs_storage_gb_month'])}/GB-month × "
                           f"{months_kept:.2f} months kept")]


@rule("aws:cloudwatch/metricAlarm:MetricAlarm")
def _alarm(alarm: PlannedResource, ctx: _StackContext) -> list[Line]:
    high_resolution = int(alarm.inputs.get("period", 60)) < 60
    rate = ctx.prices["high_resolution_alarm_month" if high_resolution else "alarm_month"]
    return [FixedCost(alarm.name, alarm.type, "metric alarm", rate, f"{_rate(rate)}/alarm-month")]


@rule("aws:appautoscaling/policy:Policy")
def _scaling_policy(policy: PlannedResource, ctx: _StackContext) -> list[Line] | None:
    if policy.inputs.get("policyType") != "TargetTrackingScaling":
        return [NoCost(policy.name, policy.type, "step scaling: its alarms are separate resources")]
    configuration = policy.inputs.get("targetTrackingScalingPolicyConfiguration") or {}
    alarms = 1 if configuration.get("disableScaleIn") else 2
    rate = ctx.prices["alarm_month"]
    return [FixedCost(policy.name, policy.type, f"the {alarms} CloudWatch alarms target tracking creates",
                      alarms * rate, f"{alarms} × {_rate(rate)}/alarm-month")]


@rule("aws:apigatewayv2/api:Api")
def _http_api(api: PlannedResource, ctx: _StackContext) -> list[Line]:
    if api.inputs.get("protocolType") != "HTTP":
        return [NotPriced(api.name, api.type, f"{api.inputs.get('protocolType')} APIs have no price in the price file")]
    price = ctx.prices["http_api_million_requests"]
    return [ctx.usage_line(api, "HTTP API requests", price, "1M requests", "api_requests", "per million requests",
                           unit_size=1e6)]


@rule("aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2")
def _s3_bucket(bucket: PlannedResource, ctx: _StackContext) -> list[Line]:
    p = ctx.prices
    return [ctx.usage_line(bucket, "S3 Standard storage", p["s3_gb_month"], "GB-month", "s3_storage_gb",
                           "per GB-month"),
            ctx.usage_line(bucket, "S3 PUT requests", p["s3_thousand_puts"], "1k requests", "s3_put_requests",
                           "per 1,000 PUT/COPY/POST/LIST", unit_size=1000),
            ctx.usage_line(bucket, "S3 GET requests", p["s3_thousand_gets"], "1k requests", "s3_get_requests",
                           "per 1,000 GET", unit_size=1000)]


@rule("aws:sqs/queue:Queue")
def _sqs_queue(queue: PlannedResource, ctx: _StackContext) -> list[Line]:
    return [ctx.usage_line(queue, "SQS requests", ctx.prices["sqs_million_requests"], "1M requests", "sqs_requests",
                           "per million requests", unit_size=1e6)]


@rule("aws:sns/topic:Topic")
def _sns_topic(topic: PlannedResource, ctx: _StackContext) -> list[Line]:
    return [ctx.usage_line(topic, "SNS publishes", ctx.prices["sns_million_publishes"], "1M publishes",
                           "sns_publishes", "per million publishes", unit_size=1e6)]


@rule("aws:ecr/repository:Repository")
def _ecr_repository(repository: PlannedResource, ctx: _StackContext) -> list[Line]:
    return [ctx.usage_line(repository, "image storage", ctx.prices["ecr_gb_month"], "GB-month", "ecr_storage_gb",
                           "per GB-month")]


def _monthly_plus_requests(resource: PlannedResource, ctx: _StackContext, what: str, unit: str, month_rate: str,
                           requests: str, request_rate: str, usage_key: str) -> list[Line]:
    """A fixed price per resource-month, plus a price per 10,000 API requests."""
    p = ctx.prices
    return [FixedCost(resource.name, resource.type, what, p[month_rate], f"{_rate(p[month_rate])}/{unit}-month"),
            ctx.usage_line(resource, requests, p[request_rate], f"10k {requests}", usage_key,
                           f"per 10,000 {requests}", unit_size=1e4)]


@rule("aws:secretsmanager/secret:Secret")
def _secret(secret: PlannedResource, ctx: _StackContext) -> list[Line]:
    return _monthly_plus_requests(secret, ctx, "secret", "secret", "secret_month", "API calls", "secrets_ten_thousand_calls",
                                  "secret_api_calls")


@rule("aws:kms/key:Key")
def _kms_key(key: PlannedResource, ctx: _StackContext) -> list[Line]:
    return _monthly_plus_requests(key, ctx, "customer managed key", "key", "kms_key_month", "requests", "kms_ten_thousand_requests",
                                  "kms_requests")


@rule("aws:cognito/userPool:UserPool")
def _user_pool(pool: PlannedResource, ctx: _StackContext) -> list[Line]:
    p = ctx.prices
    tier = str(pool.inputs.get("userPoolTier", "ESSENTIALS")).lower()
    rate = f"cognito_{tier}_mau"
    if rate not in p.rates:
        return [NotPriced(pool.name, pool.type, f"the {tier} tier has no price in the price file")]
    free = p["cognito_free_mau"]
    return [ctx.usage_line(pool, f"monthly active users ({tier} tier, first {free:,.0f} free)", p[rate], "MAU",
                           "cognito_mau", f"per MAU above {free:,.0f}", free_quantity=free)]


@rule("gcp:cloudfunctionsv2/function:Function")
def _gcp_function(function: PlannedResource, ctx: _StackContext) -> list[Line]:
    p = ctx.prices
    service = function.inputs.get("serviceConfig") or {}
    memory_gib = _memory_gib(str(service.get("availableMemory", "256M")))
    vcpu = float(service["availableCpu"]) if service.get("availableCpu") else _default_gcp_cpu(memory_gib)
    assumed = ctx.usage.assumption(ctx.plan, "function_duration_ms", function.name)
    seconds = math.ceil(assumed / 100) / 10  # billed in 100 ms steps
    per_second = vcpu * p["gcp_vcpu_second"] + memory_gib * p["gcp_gib_second"]
    price = p["gcp_function_million_invocations"] + 1e6 * seconds * per_second
    lines: list[Line] = [ctx.usage_line(
        function, "invocations", price, "1M invocations", "function_invocations",
        f"{_rate(p['gcp_function_million_invocations'])}/1M + 1M × {seconds:g} s ({assumed:g} ms assumed) × "
        f"({vcpu:g} vCPU × {_rate(p['gcp_vcpu_second'])} + {memory_gib:g} GiB × {_rate(p['gcp_gib_second'])})/s",
        unit_size=1e6)]
    minimum = int(service.get("minInstanceCount") or 0)
    if minimum:
        idle = vcpu * p["gcp_idle_vcpu_second"] + memory_gib * p["gcp_idle_gib_second"]
        lines.append(FixedCost(
            function.name, function.type, f"{_plural(minimum, 'minimum instance')} kept warm (idle rate)",
            minimum * idle * 3600 * ctx.hours,
            f"{_count(minimum)}{ctx.hours:g} h × 3600 s × ({vcpu:g} vCPU × {_rate(p['gcp_idle_vcpu_second'])} + "
            f"{memory_gib:g} GiB × {_rate(p['gcp_idle_gib_second'])})/s"))
    return lines


def _memory_gib(quantity: str) -> float:
    units = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "k": 1e3, "M": 1e6, "G": 1e9}
    for suffix in ("Ki", "Mi", "Gi", "k", "M", "G"):
        if quantity.endswith(suffix):
            return float(quantity[:-len(suffix)]) * units[suffix] / 2**30
    return float(quantity) / 2**30


def _default_gcp_cpu(memory_gib: float) -> float:
    mib = memory_gib * 1024
    return next((cpu for limit, cpu in GCP_DEFAULT_CPU_BY_MEMORY_MIB if mib <= limit + 1e-9),
                GCP_DEFAULT_CPU_BY_MEMORY_MIB[-1][1])


@rule("gcp:projects/service:Service")
def _gcp_api(api: PlannedResource, ctx: _StackContext) -> list[Line] | None:
    if api.inputs.get("service") != "vision.googleapis.com":
        return None
    p = ctx.prices
    free = p["vision_free_units"]
    return [ctx.usage_line(api, f"Cloud Vision label detection (first {free:,.0f} units a month free)",
                           p["vision_thousand_units"], "1k units", "vision_units",
                           f"per 1,000 units above {free:,.0f}", unit_size=1000, free_quantity=free)]


@rule("gcp:storage/bucket:Bucket")
def _gcs_bucket(bucket: PlannedResource, ctx: _StackContext) -> list[Line]:
    return [ctx.usage_line(bucket, "Cloud Storage Standard storage", ctx.prices["gcs_gb_month"], "GB-month",
                           "gcs_storage_gb", "per GB-month")]


# ---------------------------------------------------------------------------------------------------
# Plans from plan documents (``plan --offline --json``), e.g. of another git ref.

def plans_from_document(document: dict, selected: Iterable[str] | None = None,
                        specs: Environment | None = None) -> list[StackPlan]:
    """``specs``: the environment the document was planned from, when it is this checkout's (its stacks' config,
    e.g. their region, then stays with the plans)."""
    environment = document["environment"]
    wanted = set(selected) if selected is not None else None
    plans = []
    for stack in document["stacks"]:
        if wanted is not None and stack["name"] not in wanted:
            continue
        spec = specs.stacks.get(stack["name"]) if specs is not None else None
        spec = spec or StackSpec(
            name=stack["name"], environment=environment, short_name=stack["name"].removeprefix(f"{environment}-"),
            program=stack["program"], upstream={name: name for name in stack.get("depends_on", [])}, config={},
            path=Path("."))
        # Documents written before resources carried "custom": the project's own types are its components.
        resources = [PlannedResource(r["urn"], r["type"], r["name"], r.get("parent"), r["inputs"],
                                     r.get("custom", not r["type"].startswith(f"{PROJECT}:")))
                     for r in stack["resources"]]
        plans.append(StackPlan(spec, resources))
    return plans


def plans_at(ref: str, environment: str, selected: Iterable[str] | None = None,
             project_dir: Path | None = None) -> list[StackPlan]:
    """The offline plans of ``environment`` as of the git ``ref`` (exported aside; the checkout is untouched)."""
    project_dir = Path(project_dir or PROJECT_DIR)
    with tempfile.TemporaryDirectory(prefix="stacks-cost-base-") as temporary:
        commit = diff.export_ref(project_dir, ref, Path(temporary))
        document = diff.plan_document(Path(temporary), environment, f"{ref} ({commit})")
    return plans_from_document(document, selected)


def report_section(env: Environment, names: list[str], base_ref: str | None = None,
                   plans: list[StackPlan] | None = None, usage: Usage | None = None,
                   base_plans: list[StackPlan] | None = None) -> str:
    """The cost section of a Markdown report (preview, offline plan, offline diff against ``base_ref``).

    A report is still worth having when the estimate is not: the reason then stands in its place."""
    try:
        plans = plans if plans is not None else plan_environment(env, names)
        if base_plans is None and base_ref:
            base_plans = plans_at(base_ref, env.name, names)
        return cost_markdown(plans, base_plans, usage, level=5)
    except Exception as error:  # a report is never lost to its cost section
        return f"Cost not estimated: {type(error).__name__}: {error}"


# ---------------------------------------------------------------------------------------------------
# Markdown (for `preview --markdown`, pull requests and the terminal).

def cost_markdown(plans: list[StackPlan], base_plans: list[StackPlan] | None = None, usage: Usage | None = None,
                  prices: PriceList | None = None, details: bool = True, level: int = 3) -> str:
    """The cost table of ``plans`` as Markdown; with ``base_plans`` (the plans before a change), the cost
    change as well."""
    # A stack only one side of the change has is still a stack the usage file may name.
    known = {p.spec.short_name for p in [*plans, *(base_plans or [])]}
    estimate = estimate_environment(plans, usage, prices, known_stacks=known)
    parts = []
    if base_plans is not None:
        before = estimate_environment(base_plans, usage, prices, known_stacks=known)
        parts.append(cost_change_markdown(before, estimate, level))
    parts.append(estimate_markdown(estimate, details=details, level=level))
    return "\n\n".join(parts)


def estimate_markdown(estimate: EnvironmentCost, details: bool = True, collapsible: bool = True, level: int = 3
                      ) -> str:
    with_usage = estimate.usage_source is not None
    lines = [f"{'#' * level} Cost estimate: {estimate.environment}", "",
             f"_{estimate.prices.caption}." + (f" Usage from `{estimate.usage_source}`._" if with_usage else
                                                 " No usage file: usage-based costs are per unit._"), "",
             "| Stack | Fixed per month | Usage per month | Per task run | Not priced |",
             "|---|--:|--:|--:|---|"]
    for stack in estimate.stacks:
        lines.append(f"| {stack.stack} | {_money(stack.fixed_monthly, 2)} | "
                     f"{_money(stack.usage_monthly, 2) if with_usage else '—'} | "
                     f"{' + '.join(_money(u.price) for u in stack.per_task_run) or '—'} | "
                     f"{', '.join(sorted({n.type for n in stack.not_priced})) or '—'} |")
    lines.append(f"| **{estimate.environment}** | **{_money(estimate.fixed_monthly, 2)}** | "
                 f"**{_money(estimate.usage_monthly, 2) if with_usage else '—'}** | | |")
    if details:
        for stack in estimate.stacks:
            lines += ["", *_stack_details(stack, with_usage, collapsible, level + 1)]
    return "\n".join(lines)


def _stack_details(stack: StackCost, with_usage: bool, collapsible: bool, level: int) -> list[str]:
    title = (f"{stack.stack}: {_money(stack.fixed_monthly, 2)} a month fixed, "
             f"{_plural(len(stack.usage), 'usage rate')}, {len(stack.free)} free, {len(stack.not_priced)} not priced")
    lines = [f"<details><summary>{title}</summary>", ""] if collapsible else [f"{'#' * level} {title}", ""]
    lines += [f"_Note: {note}._\n" for note in stack.notes]
    if stack.fixed:
        lines += ["| Fixed | Resource | Per month | Basis |", "|---|---|--:|---|"]
        lines += [f"| {f.item} | `{f.resource}` | {_money(f.monthly, 2)} | {f.basis} |" for f in stack.fixed]
        lines.append("")
    if stack.usage:
        lines += ["| Usage | Resource | Price | Usage | Per month | Basis |", "|---|---|--:|--:|--:|---|"]
        for u in stack.usage:
            quantity = "—" if u.quantity is None else f"{u.quantity:,.10g}"
            monthly = "—" if u.monthly is None else _money(u.monthly, 2)
            lines.append(f"| {u.item} | `{u.resource}` | {_money(u.price)} per {u.unit} | {quantity} | "
                         f"{monthly} | {u.basis} |")
        lines.append("")
    if stack.not_priced:
        lines += ["| Not priced | Resource | Why |", "|---|---|---|"]
        lines += [f"| {n.type} | `{n.resource}` | {n.reason} |" for n in stack.not_priced]
        lines.append("")
    if stack.free:
        counts: dict[tuple[str, str], int] = {}
        for free in stack.free:
            counts[free.type, free.reason] = counts.get((free.type, free.reason), 0) + 1
        lines += ["Free: " + "; ".join(f"{count} × {type_token} ({reason})"
                                       for (type_token, reason), count in counts.items()), ""]
    if collapsible:
        lines.append("</details>")
    return lines


def cost_change_markdown(before: EnvironmentCost, after: EnvironmentCost, level: int = 3) -> str:
    """Per stack, the fixed monthly cost before and after a change, and every unit price that changed."""
    with_usage = after.usage_source is not None
    names = list(dict.fromkeys([s.stack for s in before.stacks] + [s.stack for s in after.stacks]))
    old = {s.stack: s for s in before.stacks}
    new = {s.stack: s for s in after.stacks}
    usage_column = " Usage per month change |" if with_usage else ""
    lines = [f"{'#' * level} Cost change: {after.environment}", "",
             "| Stack | Fixed per month before | after | change |" + usage_column,
             "|---|--:|--:|--:|" + ("--:|" if with_usage else "")]
    for name in names:
        was, now = old.get(name), new.get(name)
        fixed_was = was.fixed_monthly if was else 0.0
        fixed_now = now.fixed_monthly if now else 0.0
        row = (f"| {name}{'' if was else ' (new)'}{'' if now else ' (removed)'} | {_money(fixed_was, 2)} | "
               f"{_money(fixed_now, 2)} | {_signed(fixed_now - fixed_was)} |")
        if with_usage:
            row += f" {_signed((now.usage_monthly if now else 0) - (was.usage_monthly if was else 0))} |"
        lines.append(row)
    total = f"| **total** | {_money(before.fixed_monthly, 2)} | {_money(after.fixed_monthly, 2)} | " \
            f"**{_signed(after.fixed_monthly - before.fixed_monthly)}** |"
    if with_usage:
        total += f" **{_signed(after.usage_monthly - before.usage_monthly)}** |"
    lines.append(total)
    changed = []
    for name in names:
        rates_was = {(u.resource, u.item): u for u in (old[name].usage if name in old else [])}
        rates_now = {(u.resource, u.item): u for u in (new[name].usage if name in new else [])}
        for key in dict.fromkeys([*rates_was, *rates_now]):
            was, now = rates_was.get(key), rates_now.get(key)
            if was and now and math.isclose(was.price, now.price, rel_tol=1e-9):
                continue
            unit = (now or was).unit
            changed.append(f"| {name} | `{key[0]}` {key[1]} | {_money(was.price) if was else '—'} | "
                           f"{_money(now.price) if now else '—'} | per {unit} |")
    if changed:
        lines += ["", "| Stack | Usage price changed | before | after | unit |", "|---|---|--:|--:|---|", *changed]
    return "\n".join(lines)


def _money(amount: float, decimals: int | None = None) -> str:
    """``$16.43``; without ``decimals``, three significant digits below a dollar (``$0.045``, ``$0.000243``)."""
    if decimals is not None:
        return f"${amount:,.{decimals}f}"
    digits = 2 if amount == 0 else max(2, 2 - math.floor(math.log10(abs(amount))))
    return _at_least_cents(f"{amount:,.{digits}f}")


def _rate(amount: float) -> str:
    """A list price as the price file states it: ``$0.0000166667``, ``$0.40``."""
    return _at_least_cents(f"{amount:.10f}")


def _at_least_cents(number: str) -> str:
    whole, _, fraction = number.partition(".")
    return f"${whole}.{fraction.rstrip('0').ljust(2, '0')}"


def _signed(amount: float) -> str:
    if abs(amount) < 0.005:
        return "$0.00"
    return f"{'+' if amount > 0 else '−'}{_money(abs(amount), 2)}"


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _count(count: float) -> str:
    return "" if count == 1 else f"{count:g} × "
