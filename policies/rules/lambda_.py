"""Lambda: bounded timeouts, no plaintext secrets in the environment, a log group with a retention, permissions
that name their principal and source (for Alexa: the skill)."""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from policies.rules.core import ADVISORY, Finding, Stack, _number, _tags, known, resource_rule, stack_rule
from policies.rules.logs import retention_problem
from policies.rules.plaintext_secrets import plaintext_secret_problems
from policies.rules.tokens import LAMBDA_FUNCTION, LOG_GROUP

LAMBDA_PERMISSION = "aws:lambda/permission:Permission"

FIX_SECRETS = "keep it in Secrets Manager and pass its ARN (NAME_SECRET_ARN)"

ALEXA_PRINCIPALS = ("alexa-appkit.amazon.com", "alexa-connectedhome.amazon.com")

MAX_LAMBDA_TIMEOUT = 300
TIMEOUT_JUSTIFICATION_TAG = "timeout-justification"


@resource_rule("lambda-timeout-bounded", f"Lambda timeouts are at most {MAX_LAMBDA_TIMEOUT} s, unless the function "
               f"has a '{TIMEOUT_JUSTIFICATION_TAG}' tag saying why", LAMBDA_FUNCTION)
def lambda_timeout_bounded(type_: str, props: Mapping[str, Any]) -> Iterable[str]:
    timeout = _number(props.get("timeout", 3))
    justified = str(_tags(props).get(TIMEOUT_JUSTIFICATION_TAG) or "").strip()
    if timeout is not None and timeout > MAX_LAMBDA_TIMEOUT and not justified:
        yield (f"timeout {int(timeout)} s is above {MAX_LAMBDA_TIMEOUT} s; shorten it or tag the function "
               f"{TIMEOUT_JUSTIFICATION_TAG}=<why>")


@resource_rule("lambda-no-plaintext-secrets", "No secret-looking values in Lambda environment variables",
               LAMBDA_FUNCTION)
def lambda_no_plaintext_secrets(type_: str, props: Mapping[str, Any]) -> Iterable[str]:
    environment = props.get("environment")
    variables = environment.get("variables") if isinstance(environment, Mapping) else None
    if isinstance(variables, Mapping):
        for problem in plaintext_secret_problems(variables):
            yield f"environment variable {problem}: {FIX_SECRETS}"


@stack_rule("lambda-log-group-retention", "Lambda functions log to a log group of the stack that has a retention")
def lambda_log_group_retention(stack: Stack) -> Iterable[Finding]:
    for function in stack.of_type(LAMBDA_FUNCTION):
        logging_config = function.props.get("loggingConfig")
        group = logging_config.get("logGroup") if isinstance(logging_config, Mapping) else None
        if group:
            groups = stack.targets(function, "loggingConfig", group, (LOG_GROUP,))
            if not groups and known(group):
                yield Finding(function, f"logs to {group}, which is not a log group of this stack, so nothing sets "
                                        "its retention")
        else:
            name = function.props.get("name") or function.props.get("id")
            groups = [g for g in stack.of_type(LOG_GROUP)
                      if (known(name) and g.props.get("name") == f"/aws/lambda/{name}")
                      or (not known(g.props.get("name")) and function.urn in g.dependencies.get("name", ()))]
            if not groups and known(name):
                yield Finding(function, f"logs to /aws/lambda/{name}, which this stack does not create, so Lambda "
                                        "creates it without a retention; set loggingConfig.logGroup to a log group "
                                        "of the stack")
        for g in groups:
            problem = retention_problem(g.props)
            if problem:
                yield Finding(function, f"its log group {g.name} {problem}")


@resource_rule("lambda-permission-not-public", "Lambda permissions are never granted to every principal (*) "
               "without a source condition", LAMBDA_PERMISSION)
def lambda_permission_not_public(type_: str, props: Mapping[str, Any]) -> Iterable[str]:
    scoped = any(props.get(k) for k in ("sourceArn", "sourceAccount", "principalOrgId"))
    if props.get("principal") == "*" and not scoped:
        yield f"anyone may call {props.get('action', 'lambda:InvokeFunction')}: name the principal and its source"


@resource_rule("lambda-permission-source-scoped", "Lambda permissions for AWS services name the source ARN or "
               "account (confused deputy)", LAMBDA_PERMISSION, enforcement=ADVISORY)
def lambda_permission_source_scoped(type_: str, props: Mapping[str, Any]) -> Iterable[str]:
    principal = props.get("principal")
    if isinstance(principal, str) and principal.endswith(".amazonaws.com") and not (
            props.get("sourceArn") or props.get("sourceAccount")):
        yield f"{principal} may invoke the function on behalf of any account: set source_arn or source_account"


@resource_rule("lambda-alexa-permission-skill-scoped", "Lambda permissions for Alexa name the one skill that may "
               "invoke (event source token)", LAMBDA_PERMISSION)
def lambda_alexa_permission_skill_scoped(type_: str, props: Mapping[str, Any]) -> Iterable[str]:
    token = props.get("eventSourceToken")
    if props.get("principal") in ALEXA_PRINCIPALS and known(token) and not token:
        yield (f"any Alexa skill of any developer may invoke the function through {props['principal']}: set "
               "event_source_token to the skill's id")
