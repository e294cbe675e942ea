"""What the task invoker and the Container-on-Demand pattern share (standard library only): its source, every
environment variable, and ``environment()``, which the program hands to the pattern so that the pattern can build
the invoker's variables from what it knows (cluster, task definition, network configuration…) without knowing
their names. The handler reads the same variables back with ``Settings.from_env``.

The network configuration travels as the JSON of RunTask's own ``networkConfiguration``: it is decided once
(in the pattern, from the network stack's outputs) and passed to ECS as it is, never re-parsed.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

SOURCE_DIR = "runtime/task_invoker"
HANDLER = "handler.handler"

ENV_CLUSTER = "CLUSTER"
ENV_TASK_DEFINITION = "TASK_DEFINITION"
ENV_CONTAINER_NAME = "CONTAINER_NAME"
ENV_NETWORK_CONFIGURATION = "NETWORK_CONFIGURATION"
ENV_SUFFIXES = "OBJECT_SUFFIXES"
ENV_BUCKET_VARIABLE = "TASK_BUCKET_VARIABLE"
"""The name of the task's variable that receives the object's bucket (the app's name, e.g. MEDIA_BUCKET)."""
ENV_KEY_VARIABLE = "TASK_KEY_VARIABLE"
"""The name of the task's variable that receives the object's key."""

STARTED_BY = "task-invoker"
CLIENT_TOKEN_LENGTH = 64  # RunTask's limit

T = TypeVar("T")


def environment(*, cluster: T, task_definition: T, container_name: str, network_configuration: T,
                suffixes: Sequence[str], bucket_variable: str, key_variable: str) -> dict[str, T | str]:
    """The invoker's variables. Values are passed through as they are (the pattern's may be Pulumi outputs)."""
    return {ENV_CLUSTER: cluster, ENV_TASK_DEFINITION: task_definition, ENV_CONTAINER_NAME: container_name,
            ENV_NETWORK_CONFIGURATION: network_configuration, ENV_SUFFIXES: ",".join(suffixes),
            ENV_BUCKET_VARIABLE: bucket_variable, ENV_KEY_VARIABLE: key_variable}


@dataclass(frozen=True)
class Settings:
    cluster: str
    task_definition: str
    container_name: str
    network_configuration: dict[str, Any]
    suffixes: tuple[str, ...]
    bucket_variable: str
    key_variable: str

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        """Raises KeyError naming a missing variable, ValueError naming a malformed one."""
        def required(name: str) -> str:
            value = (env.get(name) or "").strip()
            if not value:
                raise KeyError(f"environment variable {name} is required")
            return value

        try:
            network = json.loads(required(ENV_NETWORK_CONFIGURATION))
            subnets = network["awsvpcConfiguration"]["subnets"]
        except (json.JSONDecodeError, KeyError, TypeError):
            raise ValueError(f"{ENV_NETWORK_CONFIGURATION} is not RunTask's networkConfiguration with subnets") \
                from None
        if not subnets:
            raise ValueError(f"{ENV_NETWORK_CONFIGURATION} names no subnet")
        return cls(cluster=required(ENV_CLUSTER), task_definition=required(ENV_TASK_DEFINITION),
                   container_name=required(ENV_CONTAINER_NAME), network_configuration=network,
                   suffixes=tuple(s.strip().lower() for s in required(ENV_SUFFIXES).split(",") if s.strip()),
                   bucket_variable=required(ENV_BUCKET_VARIABLE), key_variable=required(ENV_KEY_VARIABLE))


def client_token(bucket: str, key: str, sequencer: str) -> str:
    """RunTask's idempotency token for one S3 event: S3 gives each change of a key its own sequencer, and
    repeats it in duplicate deliveries and retries, so the same change starts one task however often it
    arrives. A SHA-256 in hex is exactly RunTask's 64 characters, whatever the key's length."""
    token = hashlib.sha256("\n".join((bucket, key, sequencer)).encode("utf-8")).hexdigest()
    assert len(token) == CLIENT_TOKEN_LENGTH
    return token
