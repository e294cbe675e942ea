"""Stack ``<env>-secure-api``: the secure serverless API. An HTTP API whose routes run one Lambda (the seed's
pages and the echo handler) behind a Lambda authorizer of Cognito access tokens, and the user directory that
issues them. Who may call each route is in ``runtime/secure_api/contract.py``; settings are
``cloud-patterns:secure_api`` (the API and the app) and ``cloud-patterns:secure_api_users`` (the directory).
"""
from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass
from typing import Optional

import pulumi
import pulumi_aws as aws

from components import iam
from components.args import Args, Boolean, Maybe, Text, Whole, setting
from components.dashboard import OUTPUT, widgets
from components.lambda_function import LambdaFunctionArgs
from components.secure_api import (LambdaAuthorizer, LambdaIntegration, Route, SecureApi, SecureApiArgs,
                                   VpcLinkIntegration)
from components.user_directory import UserDirectory, UserDirectoryArgs
from programs.common import Section, environment, upstream, upstream_stacks
from runtime.items_service import contract as items
from runtime.secure_api import contract


@dataclass(frozen=True)
class SecureApiApp(Args):
    component_name: str = setting("secure-api", Text(contract.COMPONENT_NAME_PATTERN, "letters, digits, spaces, "
                                                     ". _ - (1-64)"), "The component name POST /echo answers with.")
    api_version: str = setting("v1", Text(contract.API_VERSION_PATTERN, "a version such as v1, 1.2 or 1.2.3-rc.1"),
                               "The API version POST /echo answers with.")
    memory_mb: int = setting(256, Whole(128, 10240), "Memory of the handler and authorizer functions (MiB).")
    reserved_concurrency: Optional[int] = setting(None, Maybe(Whole(1, 1000)), "Caps each function's concurrent "
                                                  "invocations (a cost guard); null: the account's pool.")
    require_origin_secret: bool = setting(False, Boolean(), "Refuse requests without the edge's origin-secret "
                                          "header (stack <env>-api-edge creates the secret; every route, public "
                                          "ones too); false: the API's own endpoint is open to callers.")


API = Section("secure_api", SecureApiArgs, own=SecureApiApp)
USERS = Section("secure_api_users", UserDirectoryArgs)


def main() -> None:
    env = environment()
    topic = upstream("alerts").require_output("topic_arn")
    settings, app = API.load(), API.own_settings()  # every config error before any resource
    users = USERS.load(groups=contract.GROUPS, resource_server=contract.RESOURCE_SERVER, scopes=contract.SCOPES)
    directory = UserDirectory(f"{env}-secure-api-users", users)
    function = functools.partial(
        LambdaFunctionArgs, source_dir=contract.SOURCE_DIR, keep_path=True, memory_mb=app.memory_mb,
        timeout_seconds=10, reserved_concurrency=app.reserved_concurrency,
        log_retention_days=settings.log_retention_days, alarm_topic_arn=topic)
    handlers = function(description="The secure API's routes", handler=contract.HANDLERS,
                        requirements_file=contract.HANDLERS_REQUIREMENTS, environment={
                            contract.ENV_COMPONENT_NAME: app.component_name, contract.ENV_API_VERSION: app.api_version,
                            contract.ENV_SERVICE: f"{env}-secure-api"})
    origin = origin_secret(env) if app.require_origin_secret else {}
    authorizer = function(description="Checks Cognito access tokens against each route's groups and scopes",
                          handler=contract.AUTHORIZER, requirements_file=contract.AUTHORIZER_REQUIREMENTS,
                          environment={contract.ENV_ISSUER: directory.issuer,
                                       contract.ENV_CLIENT_IDS: directory.client_ids.apply(",".join),
                                       contract.ENV_SERVICE: f"{env}-secure-api-authorizer",
                                       **origin.get("environment", {})},
                          policy_statements=origin.get("statements", []))
    headers = (contract.ORIGIN_SECRET_HEADER,) if origin else ()
    routes, integrations = backend_routes()
    api = SecureApi(f"{env}-secure-api", dataclasses.replace(
        settings, description="Public, USER, ADMIN and echo routes behind Cognito access tokens",
        routes=[Route(key, "handlers", authorized=not access.public) for key, access in contract.ROUTES.items()]
        + routes, integrations={"handlers": LambdaIntegration(handlers), **integrations}, alarm_topic_arn=topic,
        authorizer=LambdaAuthorizer(authorizer, identity_headers=(contract.AUTHORIZATION_HEADER, *headers),
                                    public_identity_headers=headers)))

    pulumi.export("url", api.url)
    pulumi.export("region", aws.get_region().region)
    pulumi.export("user_pool_id", directory.user_pool.id)
    pulumi.export("issuer", directory.issuer)
    pulumi.export("user_client_id", directory.user_client.id)
    pulumi.export("machine_client_ids", {name: c.id for name, c in directory.machine_clients.items()})
    pulumi.export("token_url", directory.token_url)
    pulumi.export("handler_function", api.functions["handlers"].function.name)
    pulumi.export("authorizer_function", api.authorizer_function.function.name)
    pulumi.export("access_log_group", api.access_logs.name)
    pulumi.export(OUTPUT, widgets(api.alarms))


def origin_secret(env: str) -> dict:
    """The authorizer's environment and grant for the edge's origin secret, known by name (no edge dependency)."""
    region = aws.get_region().region
    account = iam.account_id()
    return {"environment": {contract.ENV_ORIGIN_SECRET: account.apply(
                lambda a: contract.origin_secret_arn("aws", region, a, env))},
            "statements": [iam.statement(["secretsmanager:GetSecretValue"], [account.apply(
                lambda a: contract.origin_secret_arn_pattern("aws", region, a, env))])]}


def backend_routes() -> tuple[list[Route], dict[str, VpcLinkIntegration]]:
    """The private backend's /items routes through its VPC link, when the stack declares upstream ``backend``; the
    caller's identity goes to it as a header API Gateway sets from the authorizer (overwriting a client's)."""
    if "backend" not in upstream_stacks():
        return [], {}
    backend = upstream("backend")
    link = VpcLinkIntegration(backend.require_output("vpc_link_id"), backend.require_output("listener_arn"),
                              headers={items.CALLER_HEADER: f"$context.authorizer.{contract.CALLER_CONTEXT_KEY}"})
    return [Route(key, "items") for key in contract.BACKEND_ROUTES], {"items": link}
