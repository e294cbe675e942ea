"""How the offline plans of dev and prod differ from the plans of main before the architecture change.

``tests/fixtures/plan_before/<env>.json`` was generated from main at 7c35d2b (resources keyed by URN, with their
type, parent, inputs and the stack outputs). A change that restructures code must leave a deployed stack
untouched: the same URNs with the same inputs, the same outputs. What a later change alters on purpose is listed
in ``INTENDED``, each with its reason; anything else that differs fails the test.
"""
from __future__ import annotations

import fnmatch
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "plan_before"


@dataclass(frozen=True)
class Intended:
    """A difference made on purpose: ``path`` is ``added``, ``removed``, ``outputs.<name>`` or ``inputs.<key>``
    (glob patterns; ``urn`` and ``stack`` too)."""

    stack: str
    urn: str
    path: str
    reason: str

    def covers(self, stack: str, urn: str, path: str) -> bool:
        return (fnmatch.fnmatchcase(stack, self.stack) and fnmatch.fnmatchcase(urn, self.urn)
                and fnmatch.fnmatchcase(path, self.path))


# Every difference from the before-plan that a change makes on purpose, with its reason.
INTENDED: tuple[Intended, ...] = (
    Intended("*-network", "", "outputs.task_*", "architecture: the network exports where tasks run, so service "
                                                "stacks stop re-deriving it from nat_strategy"),
    Intended("*-network", "", "outputs.data_port", "architecture: the data port, for stacks with a database"),
    # auth-sidecar: hardening (issue 16), the decision cache and metrics (15, 23), the alarms (23).
    Intended("*-auth-sidecar", "*ContainerImage$docker-build:index:Image::*-auth-*", "inputs.tags",
             "new sources, so new image tags: the three contracts, the sidecar's checks (email_verified, hd), "
             "decision and key caches, EMF metrics and waitress, nginx on Debian with the HMAC-keyed decision cache"),
    Intended("*-auth-sidecar", "*FargateTask$aws:ecs/taskDefinition:TaskDefinition::*-auth-sidecar",
             "inputs.containerDefinitions", "the new images, and the sidecar's decision cache, key cache and "
             "metrics service in its environment"),
    Intended("*-auth-sidecar", "*CognitoFront$aws:cognito/userPoolClient:UserPoolClient::*-auth", "inputs.readAttributes",
             "hardening: the app client reads only the claims the sidecar checks"),
    Intended("*-auth-sidecar", "*CognitoFront$aws:cognito/userPoolClient:UserPoolClient::*-auth",
             "inputs.writeAttributes", "hardening: users may write profile attributes only, never their own e-mail"),
    Intended("*-auth-sidecar", "*CognitoFront$aws:ec2/securityGroup:SecurityGroup::*-auth-sign-in", "inputs.*gress",
             "hardening: rule resources only (inline egress=[] and a rule resource overwrite each other)"),
    Intended("*-auth-sidecar", "*::pulumi:pulumi:StackReference::alerts-stack", "added",
             "operations: the stack reads the environment's alarm topic"),
    Intended("*-auth-sidecar", "*WebLoadBalancer$aws:cloudwatch/metricAlarm:MetricAlarm::*-auth-*", "added",
             "operations: the load balancer's 5xx, response-time and unhealthy-target alarms"),
    Intended("*-auth-sidecar", "*FargateService$aws:cloudwatch/metricAlarm:MetricAlarm::*-auth-sidecar-running-tasks",
             "added", "operations: fewer tasks running than the minimum"),
    Intended("*-auth-sidecar", "*SidecarAssembly$aws:cloudwatch/eventRule:EventRule::*-auth-sidecar-failed-tasks",
             "added", "operations: tasks that stop with a container exited non-zero notify the topic"),
    Intended("*-auth-sidecar", "*EventRule$aws:cloudwatch/eventTarget:EventTarget::*-auth-sidecar-failed-tasks",
             "added", "operations: the failed-task rule's target, the topic"),
)


def canonical(document: dict) -> dict[str, dict]:
    """A plan document (``plan --offline --json``) keyed by stack name and URN, as the fixtures store it."""
    return {s["name"]: {"resources": {r["urn"]: {k: r[k] for k in ("type", "name", "parent", "inputs", "custom")}
                                      for r in s["resources"]},
                        "outputs": s["outputs"]} for s in document["stacks"]}


def before(environment: str) -> dict[str, dict]:
    return json.loads((FIXTURES / f"{environment}.json").read_text())["stacks"]


def differences(old: dict[str, dict], new: dict[str, dict]) -> list[tuple[str, str, str]]:
    """(stack, urn or '', path) for everything that differs in the stacks the before-plan has."""
    found = []
    for stack, old_stack in old.items():
        new_stack = new.get(stack)
        if new_stack is None:
            found.append((stack, "", "removed"))
            continue
        old_resources, new_resources = old_stack["resources"], new_stack["resources"]
        for urn in sorted(old_resources.keys() - new_resources.keys()):
            found.append((stack, urn, "removed"))
        for urn in sorted(new_resources.keys() - old_resources.keys()):
            found.append((stack, urn, "added"))
        for urn in sorted(old_resources.keys() & new_resources.keys()):
            a, b = old_resources[urn], new_resources[urn]
            for key in ("type", "parent", "custom"):
                if a[key] != b[key]:
                    found.append((stack, urn, key))
            found += [(stack, urn, f"inputs.{path}") for path in _changed(a["inputs"], b["inputs"])]
        found += [(stack, "", f"outputs.{path}") for path in _changed(old_stack["outputs"], new_stack["outputs"],
                                                                      depth=1)]
    return found


def _changed(a: Any, b: Any, prefix: str = "", depth: int = 1) -> list[str]:
    """Top-level keys (``depth`` levels) whose values differ."""
    if isinstance(a, dict) and isinstance(b, dict) and depth > 0:
        return [p for key in sorted(a.keys() | b.keys())
                for p in _changed(a.get(key), b.get(key), f"{prefix}{key}", depth - 1)]
    return [] if a == b else [prefix]


def unintended(old: dict[str, dict], new: dict[str, dict]) -> list[tuple[str, str, str]]:
    return [d for d in differences(old, new) if not any(i.covers(*d) for i in INTENDED)]
