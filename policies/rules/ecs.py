"""ECS: task definitions log with awslogs, fit Fargate's sizes, run nothing privileged, pass no plaintext secrets
and run as a non-root user; services roll back failed deployments and give tasks no public IP."""
from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from policies.rules.core import (ADVISORY, Finding, Stack, _as_list, _find, _json, _true, known, resource_rule,
                                 stack_rule)
from policies.rules.plaintext_secrets import plaintext_secret_problems
from policies.rules.tokens import ECS_SERVICE
from service_limits import FARGATE_SIZES

PROJECT_DIR = Path(__file__).resolve().parents[2]
"""What the relative Dockerfile locations of image builds are relative to."""
TASK_DEFINITION = "aws:ecs/taskDefinition:TaskDefinition"
IMAGE_BUILDS = ("docker-build:index:Image",)

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
