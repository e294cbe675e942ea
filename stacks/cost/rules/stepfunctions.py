"""Step Functions state machines, priced per execution (usage key ``workflow_executions``), from their definition.

An execution's price is read off the definition along its success path (from ``StartAt`` through each
``Next``; a Choice by its first rule; both branches of a Parallel; a Map's processor ``map_items`` times):

- Standard workflows bill each state transition; waiting (a callback, a Wait state) costs nothing.
- Express workflows bill each request and its duration at the memory used, in 64 MB steps (64 MB assumed:
  the definitions here carry references, not images); the duration is the path's Lambda time (the
  ``lambda_duration_ms`` assumption each, branches of a Parallel side by side).
- Each Lambda invocation on the path, at its function's memory and architecture; those functions are then free
  in the Lambda rule, so nothing is counted twice. Retries, Catch paths and SNS publishes (priced per topic)
  are not in the per-execution price.
"""
from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

from planning.offline import PlannedResource
from stacks.cost.formatting import _rate
from stacks.cost.model import Line, NotPriced, StackContext, rule

STATE_MACHINE = "aws:sfn/stateMachine:StateMachine"
EXPRESS_MEMORY_GB = 64 / 1024
MAX_STEPS = 1000


def _definition(machine: PlannedResource) -> dict[str, Any] | None:
    try:
        definition = json.loads(machine.inputs.get("definition") or "")
    except (TypeError, json.JSONDecodeError):
        return None
    return definition if isinstance(definition, dict) else None


def _path(container: Mapping[str, Any], map_items: float) -> Iterator[tuple[float, Mapping[str, Any], float]]:
    """(times, state, parallel share) of each state on the success path; ``share`` splits a Parallel's duration
    between its branches (they run side by side)."""
    states, name, steps = container.get("States") or {}, container.get("StartAt"), 0
    while name in states and steps < MAX_STEPS:
        state, steps = states[name], steps + 1
        yield 1, state, 1
        branches = state.get("Branches") or []
        for branch in branches:
            for times, inner, share in _path(branch, map_items):
                yield times, inner, share / len(branches)
        processor = state.get("ItemProcessor") or state.get("Iterator")
        if isinstance(processor, Mapping):
            for times, inner, share in _path(processor, map_items):
                yield times * map_items, inner, share
        if state.get("Type") == "Choice":
            name = ((state.get("Choices") or [{}])[0]).get("Next") or state.get("Default")
        else:
            name = None if state.get("End") else state.get("Next")


def invoked_functions(machine: PlannedResource, ctx: StackContext) -> list[PlannedResource]:
    """The stack's functions the state machine's definition invokes anywhere."""
    from stacks.cost.rules.firehose import _function_for

    definition = json.dumps(_definition(machine) or {})
    return [f for f in ctx.plan.of_type("aws:lambda/function:Function")
            if any(arn.startswith("arn:") and _function_for(arn, ctx) is f for arn in _function_arns(definition))]


def _function_arns(text: str) -> set[str]:
    found, marker = set(), '"FunctionName": "'
    for part in text.split(marker)[1:]:
        found.add(part.split('"', 1)[0])
    return found


def machines_invoking(function: PlannedResource, ctx: StackContext) -> list[str]:
    return [m.name for m in ctx.plan.of_type(STATE_MACHINE) if function in invoked_functions(m, ctx)]


@rule(STATE_MACHINE)
def _state_machine(machine: PlannedResource, ctx: StackContext) -> list[Line]:
    from stacks.cost.rules.compute import _lambda_invocation
    from stacks.cost.rules.firehose import _function_for

    definition = _definition(machine)
    if definition is None:
        return [NotPriced(machine.name, machine.type, "its definition is not known from the plan")]
    p, express = ctx.prices, machine.inputs.get("type") == "EXPRESS"
    map_items = ctx.usage.assumption(ctx.plan, "map_items", machine.name)
    transitions, seconds, lambda_price, invocations = 0.0, 0.0, 0.0, 0.0
    for times, state, share in _path(definition, map_items):
        transitions += times
        arn = str((state.get("Parameters") or {}).get("FunctionName", ""))
        function = _function_for(arn, ctx) if state.get("Type") == "Task" and arn else None
        if function is not None:
            price, _ = _lambda_invocation(function, ctx)
            lambda_price += times * price
            invocations += times
            seconds += times * share * ctx.usage.assumption(ctx.plan, "lambda_duration_ms", function.name) / 1000
    if express:
        workflow = p["sfn_express_million_requests"] / 1e6 + EXPRESS_MEMORY_GB * seconds * p["sfn_express_gb_second"]
        how = (f"Express: {_rate(p['sfn_express_million_requests'])}/1M requests + 64 MB × {seconds:g} s × "
               f"{_rate(p['sfn_express_gb_second'])}/GB-s")
    else:
        workflow = transitions * p["sfn_thousand_transitions"] / 1000
        how = f"{transitions:g} state transitions × {_rate(p['sfn_thousand_transitions'])}/1,000"
    return [ctx.usage_line(machine, "execution along the success path", workflow + lambda_price, "execution",
                           "workflow_executions", f"{how} + {invocations:g} Lambda invocations")]
