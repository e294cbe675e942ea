"""CodeBuild: no secret in a plain-text build variable (they are shown in the console and the project's API), and
no privileged (Docker-in-Docker) build unless a project needs it."""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from policies.rules.core import ADVISORY, _as_list, _true, known, resource_rule
from policies.rules.plaintext_secrets import plaintext_secret_problems

PROJECT = "aws:codebuild/project:Project"


def _plaintext_variables(props: Mapping[str, Any]) -> dict[str, Any]:
    environment = props.get("environment")
    if not known(environment) or not isinstance(environment, Mapping):
        return {}
    return {v.get("name"): v.get("value") for v in _as_list(environment.get("environmentVariables"))
            if isinstance(v, Mapping) and (v.get("type") or "PLAINTEXT") == "PLAINTEXT"}


@resource_rule("codebuild-no-plaintext-secrets", "CodeBuild projects pass secrets as PARAMETER_STORE or "
               "SECRETS_MANAGER variables, never as PLAINTEXT ones", PROJECT)
def codebuild_no_plaintext_secrets(type_: str, props: Mapping[str, Any]) -> Iterable[str]:
    for problem in plaintext_secret_problems(_plaintext_variables(props)):
        yield f"{problem}: make it a PARAMETER_STORE or SECRETS_MANAGER variable"


@resource_rule("codebuild-not-privileged", "CodeBuild projects do not run privileged (Docker-in-Docker) builds",
               PROJECT, enforcement=ADVISORY)
def codebuild_not_privileged(type_: str, props: Mapping[str, Any]) -> Iterable[str]:
    environment = props.get("environment")
    if known(environment) and isinstance(environment, Mapping) and _true(environment.get("privilegedMode")):
        yield "runs privileged: the build's commands get root on a Docker daemon; only image builds need it"
