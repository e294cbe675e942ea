"""Checks a state machine definition against the Amazon States Language before anything is registered.

The language itself is checked by statelint (a maintained Python port of AWS Labs' reference linter, pure Python,
offline): fields and their types, paths and intrinsic functions, every ``Next`` naming a state, every state
reachable, a terminal state, ``States.ALL`` last in a Catch. On top, what Step Functions refuses at creation
and the linter does not look at, and what the ``StateMachine`` component relies on:

- ``States.ALL`` alone and last in a Retry too; ``HeartbeatSeconds`` below the task's ``TimeoutSeconds``;
- Express workflows: no callback (``.waitForTaskToken``) or ``.sync`` integration, no activity;
- Task resources among the integrations the component can grant, naming only the given functions and topics
  (literal ARNs, not paths), and every given one used: the role is derived from exactly what runs.

``problems`` returns ``(field, message)`` pairs: the field is ``workflow_type`` when the workflow type is what
makes the definition impossible, ``definition`` otherwise.
"""
from __future__ import annotations

from collections.abc import Iterator, Mapping, Set
from typing import Any

LAMBDA_INTEGRATIONS = ("arn:aws:states:::lambda:invoke", "arn:aws:states:::lambda:invoke.waitForTaskToken")
SNS_INTEGRATIONS = ("arn:aws:states:::sns:publish",)
CALLBACK_SUFFIXES = (".waitForTaskToken", ".sync", ".sync:2")


def states(container: Mapping[str, Any], path: str = "States") -> Iterator[tuple[str, str, Mapping[str, Any]]]:
    """(name, path, state) of every state, those inside Parallel branches and Map processors too."""
    for name, state in (container.get("States") or {}).items():
        if not isinstance(state, Mapping):
            continue
        where = f"{path}.{name}"
        yield name, where, state
        for index, branch in enumerate(state.get("Branches") or []):
            if isinstance(branch, Mapping):
                yield from states(branch, f"{where}.Branches[{index}].States")
        for field in ("ItemProcessor", "Iterator"):
            if isinstance(state.get(field), Mapping):
                yield from states(state[field], f"{where}.{field}.States")


def _language(definition: Mapping[str, Any]) -> list[str]:
    from statelint.linter import Linter  # imported when a definition is checked, not with every program

    return list(Linter.validate(dict(definition)))


def _retry_problems(where: str, state: Mapping[str, Any]) -> Iterator[str]:
    retriers = state.get("Retry") or []
    for index, retrier in enumerate(retriers):
        errors = retrier.get("ErrorEquals") or []
        if "States.ALL" in errors and (len(errors) > 1 or index != len(retriers) - 1):
            yield f"{where}.Retry[{index}]: States.ALL must be alone in the last retrier"
    timeout, heartbeat = state.get("TimeoutSeconds"), state.get("HeartbeatSeconds")
    if isinstance(timeout, int) and isinstance(heartbeat, int) and heartbeat >= timeout:
        yield f"{where}: HeartbeatSeconds ({heartbeat}) must be smaller than TimeoutSeconds ({timeout})"


def problems(definition: Mapping[str, Any], workflow_type: str, functions: Set[str], topics: Set[str]
             ) -> list[tuple[str, str]]:
    """What is wrong with ``definition`` for a ``workflow_type`` state machine allowed ``functions`` and
    ``topics`` (ARNs); empty when nothing is."""
    found = [("definition", p) for p in _language(definition)]
    used_functions: set[str] = set()
    used_topics: set[str] = set()
    for _, where, state in states(definition):
        found += [("definition", p) for p in _retry_problems(where, state)]
        if state.get("Type") != "Task":
            continue
        resource, parameters = str(state.get("Resource", "")), state.get("Parameters") or {}
        if workflow_type == "EXPRESS" and (resource.endswith(CALLBACK_SUFFIXES) or ":activity:" in resource):
            found.append(("workflow_type", f"EXPRESS workflows cannot wait ({where} uses {resource}); use STANDARD"))
        if resource in LAMBDA_INTEGRATIONS:
            target, allowed, used = parameters.get("FunctionName"), functions, used_functions
        elif resource in SNS_INTEGRATIONS:
            target, allowed, used = parameters.get("TopicArn"), topics, used_topics
        else:
            found.append(("definition", f"{where}: Resource {resource} is not an integration this component "
                          f"grants ({', '.join(LAMBDA_INTEGRATIONS + SNS_INTEGRATIONS)})"))
            continue
        if target not in allowed:
            found.append(("definition", f"{where}: {target!r} is not one of the given ARNs (a literal ARN: the "
                          "role allows exactly the given functions and topics)"))
        used.add(str(target))
    for arn in sorted((set(functions) - used_functions) | (set(topics) - used_topics)):
        found.append(("definition", f"{arn} is given but no state uses it"))
    return found
