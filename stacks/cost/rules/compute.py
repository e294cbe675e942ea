"""ECS services and task definitions (Fargate sizes), Lambda functions, Application Auto Scaling policies."""
from __future__ import annotations

import json
import math
from dataclasses import dataclass

from planning.offline import PlannedResource
from stacks.cost.formatting import _count, _rate
from stacks.cost.model import FixedCost, Line, NoCost, NotPriced, StackContext, _task_family, rule
from stacks.cost.prices import PriceList

GB_PER_MIB = 1 / 1024


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
def _ecs_service(service: PlannedResource, ctx: StackContext) -> list[Line]:
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
def _task_definition(task: PlannedResource, ctx: StackContext) -> list[Line]:
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
    if any(_starts_with_public_ip(function) for function in invokers):
        hourly += p["public_ipv4_hour"]
        basis.append(f"its public IPv4 address at {_rate(p['public_ipv4_hour'])}/h")
    price = hourly * billed / 3600
    for function in invokers:
        invocation, how = _lambda_invocation(function, ctx)
        price += invocation
        basis.append(f"one invocation of {function.name} ({how})")
    item = f"run of task {family}" + (f" started by {', '.join(f.name for f in invokers)}" if invokers else "")
    return [ctx.usage_line(task, item, price, "task run", "task_runs", " + ".join(basis))]


def _starts_with_public_ip(function: PlannedResource) -> bool:
    """Whether a starter's variables hold a RunTask network configuration that assigns a public IP."""
    for value in ((function.inputs.get("environment") or {}).get("variables") or {}).values():
        try:
            network = json.loads(value) if isinstance(value, str) and value.startswith("{") else None
        except json.JSONDecodeError:
            continue
        if isinstance(network, dict) and (network.get("awsvpcConfiguration") or {}).get("assignPublicIp") == "ENABLED":
            return True
    return False


def _lambda_invocation(function: PlannedResource, ctx: StackContext) -> tuple[float, str]:
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
def _lambda_function(function: PlannedResource, ctx: StackContext) -> list[Line]:
    families = ctx.runs_tasks(function)
    if families:
        return [NoCost(function.name, function.type,
                       f"priced in each run of task {', '.join(families)} (one invocation per run)")]
    from stacks.cost.rules.firehose import streams_processed_by  # it imports this module

    streams = streams_processed_by(function, ctx)
    if streams:
        return [NoCost(function.name, function.type,
                       f"priced per GB ingested by delivery stream {', '.join(streams)} (its record transform)")]
    from stacks.cost.rules.stepfunctions import machines_invoking  # it imports this module

    machines = machines_invoking(function, ctx)
    if machines:
        return [NoCost(function.name, function.type,
                       f"priced in each execution of state machine {', '.join(machines)} (a step of its path)")]
    invocation, how = _lambda_invocation(function, ctx)
    return [ctx.usage_line(function, "invocations", invocation * 1e6, "1M invocations", "lambda_invocations",
                           f"1M × ({how})", unit_size=1e6)]


@rule("aws:appautoscaling/policy:Policy")
def _scaling_policy(policy: PlannedResource, ctx: StackContext) -> list[Line] | None:
    if policy.inputs.get("policyType") != "TargetTrackingScaling":
        return [NoCost(policy.name, policy.type, "step scaling: its alarms are separate resources")]
    configuration = policy.inputs.get("targetTrackingScalingPolicyConfiguration") or {}
    alarms = 1 if configuration.get("disableScaleIn") else 2
    rate = ctx.prices["alarm_month"]
    return [FixedCost(policy.name, policy.type, f"the {alarms} CloudWatch alarms target tracking creates",
                      alarms * rate, f"{alarms} × {_rate(rate)}/alarm-month")]
