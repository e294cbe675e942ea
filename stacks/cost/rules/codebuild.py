"""CodeBuild projects, EventBridge Scheduler schedules, SSM parameters and CodeArtifact repositories.

A project started by a schedule of its stack runs as often as the schedule's rate says, so its price is fixed:
runs a month × billed minutes a run (the ``build_minutes`` assumption; on-demand EC2 compute is billed by the
minute, rounded up) × the rate of its image's compute type. A project no schedule starts is priced per build
minute (usage key ``codebuild_minutes``). Account-wide free tiers (CodeBuild's 100 minutes, Scheduler's 14M
invocations) are not applied, as everywhere in the price file.
"""
from __future__ import annotations

import json

from planning.offline import PlannedResource
from service_limits import schedule_rate_seconds
from stacks.cost.formatting import _rate
from stacks.cost.model import FixedCost, Line, NoCost, NotPriced, StackContext, rule

START_BUILD = "arn:aws:scheduler:::aws-sdk:codebuild:startBuild"
COMPUTE_RATES = {("ARM_CONTAINER", "BUILD_GENERAL1_SMALL"): "codebuild_arm_small_minute",
                 ("LINUX_CONTAINER", "BUILD_GENERAL1_SMALL"): "codebuild_linux_small_minute"}


def runs_a_month(schedule: PlannedResource, ctx: StackContext) -> float | None:
    seconds = schedule_rate_seconds(schedule.inputs.get("scheduleExpression"))
    return None if seconds is None else ctx.hours * 3600 / seconds


def _schedules_of(project: PlannedResource, ctx: StackContext) -> list[PlannedResource]:
    def starts(schedule: PlannedResource) -> bool:
        target = schedule.inputs.get("target") or {}
        try:
            started = json.loads(target.get("input") or "{}").get("ProjectName")
        except (TypeError, ValueError, AttributeError):
            return False
        return target.get("arn") == START_BUILD and started == project.inputs.get("name")
    return [s for s in ctx.plan.of_type("aws:scheduler/schedule:Schedule") if starts(s)]


@rule("aws:codebuild/project:Project")
def _project(project: PlannedResource, ctx: StackContext) -> list[Line]:
    environment = project.inputs.get("environment") or {}
    rate_key = COMPUTE_RATES.get((environment.get("type"), environment.get("computeType")))
    if rate_key is None:
        return [NotPriced(project.name, project.type, f"no price for {environment.get('type')} "
                                                      f"{environment.get('computeType')} in the price file")]
    per_minute = ctx.prices[rate_key]
    schedules = [(s, runs) for s in _schedules_of(project, ctx) if (runs := runs_a_month(s, ctx)) is not None]
    if not schedules:
        return [ctx.usage_line(project, "build minutes", per_minute, "minute", "codebuild_minutes",
                               f"{_rate(per_minute)}/build minute")]
    minutes = ctx.usage.assumption(ctx.plan, "build_minutes", project.name)
    return [FixedCost(project.name, project.type, f"scheduled builds ({s.inputs.get('scheduleExpression')})",
                      runs * minutes * per_minute,
                      f"{runs:.1f} runs × {minutes:g} min × {_rate(per_minute)}/min") for s, runs in schedules]


@rule("aws:scheduler/schedule:Schedule")
def _schedule(schedule: PlannedResource, ctx: StackContext) -> list[Line]:
    runs = runs_a_month(schedule, ctx)
    rate = ctx.prices["scheduler_million_invocations"]
    if runs is None:
        return [NotPriced(schedule.name, schedule.type, "not a rate expression: invocations a month unknown")]
    return [FixedCost(schedule.name, schedule.type, "schedule invocations", runs * rate / 1e6,
                      f"{runs:.1f} invocations × {_rate(rate)}/million")]


@rule("aws:ssm/parameter:Parameter")
def _parameter(parameter: PlannedResource, ctx: StackContext) -> list[Line]:
    if parameter.inputs.get("tier") in ("Advanced", "Intelligent-Tiering"):
        rate = ctx.prices["ssm_advanced_parameter_month"]
        return [FixedCost(parameter.name, parameter.type, "advanced parameter", rate, f"{_rate(rate)}/parameter-month")]
    kms = "; decrypting a SecureString is one KMS request a read ($0.03 per 10,000)" \
        if parameter.inputs.get("type") == "SecureString" else ""
    return [NoCost(parameter.name, parameter.type, f"standard parameters and standard-throughput reads are free{kms}")]


@rule("aws:codeartifact/repository:Repository")
def _repository(repository: PlannedResource, ctx: StackContext) -> list[Line]:
    p = ctx.prices
    return [ctx.usage_line(repository, "package storage", p["codeartifact_gb_month"], "GB-month", "package_storage_gb",
                           "per GB-month"),
            ctx.usage_line(repository, "requests (publish, pip install)", p["codeartifact_ten_thousand_requests"],
                           "10k requests", "package_requests", "per 10,000 requests", unit_size=1e4)]
