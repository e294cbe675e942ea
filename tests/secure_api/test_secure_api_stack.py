"""The secure-api stack and its components under the SDK's mock engine: who may call each route, the
authorizer's cache key, throttling and access logs, Lambda permissions scoped to their route, least-privilege
roles, the alarms on the environment's topic, the user directory, and config refused before any resource."""
from __future__ import annotations

import json

import pytest

from components import packaging
from components.args import InvalidArgument
from components.lambda_function import LambdaFunctionArgs
from components.secure_api import LambdaAuthorizer, LambdaIntegration, Route, SecureApi, SecureApiArgs
from planning.mocks import ProviderMocks
from planning.offline import RecordingMonitor, evaluate_stack
from planning.project import load_environment
from programs.common import ConfigError
from runtime.secure_api import contract
from tests.conftest import make_spec, run_components, run_program

TOPIC = "arn:aws:sns:us-east-1:123456789012:test-alerts"
USERS = [{"email": "ada@example.com", "groups": ["USER"]}, {"email": "Root@Example.com", "groups": ["USER", "ADMIN"]}]


def plan_stack(api=None, users=None):
    return run_program("secure-api", {"secure_api": api or {}, "secure_api_users": users or {}},
                       upstream={"alerts": "test-alerts"}, upstream_outputs={"test-alerts": {"topic_arn": TOPIC}})


@pytest.fixture(scope="module")
def plan():
    return plan_stack({"throttling_rate_limit": 7.5, "throttling_burst_limit": 15, "authorizer_cache_seconds": 120,
                       "log_retention_days": 60, "component_name": "Echo Service", "api_version": "2.1.0",
                       "server_errors_per_minute": 9, "memory_mb": 512, "reserved_concurrency": 20},
                      {"users": USERS, "domain_prefix": "echo-test", "callback_urls": ["https://app.example.com/cb"],
                       "machine_clients": {"reporting": ["write"], "audit": ["read"]}, "mfa": "ON",
                       "tier": "PLUS", "deletion_protection": True})


def of(plan, token, name=None):
    found = [r.inputs for r in plan.of_type(token) if name is None or r.name.endswith(name)]
    assert found, (token, name)
    return found


def test_only_get_public_is_open_and_every_other_route_goes_through_the_authorizer(plan):
    routes = {r["routeKey"]: r for r in of(plan, "aws:apigatewayv2/route:Route")}
    assert set(routes) == set(contract.ROUTES) == {"GET /public", "GET /private", "GET /admin", "POST /echo"}
    assert [k for k, r in routes.items() if r["authorizationType"] == "NONE"] == ["GET /public"]
    assert "authorizerId" not in routes["GET /public"]
    guarded = {k: r for k, r in routes.items() if k != "GET /public"}
    assert {r["authorizationType"] for r in guarded.values()} == {"CUSTOM"}
    assert len({r["authorizerId"] for r in guarded.values()}) == 1
    assert len({r["target"] for r in routes.values()}) == 1  # one function serves every route


def test_the_authorizer_caches_per_token_and_route_for_the_configured_time(plan):
    [authorizer] = of(plan, "aws:apigatewayv2/authorizer:Authorizer")
    assert authorizer["identitySources"] == ["$request.header.Authorization", "$context.routeKey"]
    assert (authorizer["authorizerType"], authorizer["authorizerPayloadFormatVersion"],
            authorizer["enableSimpleResponses"], authorizer["authorizerResultTtlInSeconds"]) == ("REQUEST", "2.0",
                                                                                                 True, 120)
    [function] = of(plan, "aws:lambda/function:Function", "-authorizer")
    assert function["handler"] == contract.AUTHORIZER
    assert authorizer["authorizerUri"].endswith(f":function:{plan.outputs['authorizer_function']}/invocations")


def test_the_stage_throttles_and_writes_json_access_logs_without_queries_or_headers(plan):
    [stage] = of(plan, "aws:apigatewayv2/stage:Stage")
    assert (stage["name"], stage["autoDeploy"]) == ("$default", True)
    assert stage["defaultRouteSettings"] == {"throttlingRateLimit": 7.5, "throttlingBurstLimit": 15,
                                             "detailedMetricsEnabled": False}
    fields = json.loads(stage["accessLogSettings"]["format"])
    assert {"requestId", "ip", "routeKey", "status", "latencyMs", "authorizerError", "sub"} <= set(fields)
    assert all(v.startswith("$context.") for v in fields.values())
    assert not [v for v in fields.values() if "querystring" in v.lower() or "header" in v.lower()
                or v in ("$context.path", "$context.identity.userAgent")]
    groups = {r.name: r.inputs for r in plan.of_type("aws:cloudwatch/logGroup:LogGroup")}
    assert {g["retentionInDays"] for g in groups.values()} == {60} and len(groups) == 3


def test_each_lambda_permission_names_the_one_route_or_the_authorizer_that_may_invoke(plan):
    routes = of(plan, "aws:apigatewayv2/route:Route")
    [api_id], [authorizer_id] = {r["apiId"] for r in routes}, {r["authorizerId"] for r in routes if "authorizerId" in r}
    execution = f"arn:aws:execute-api:us-east-1:123456789012:{api_id}"
    permissions = {p["sourceArn"]: p for p in of(plan, "aws:lambda/permission:Permission")}
    handlers, authorizer = plan.outputs["handler_function"], plan.outputs["authorizer_function"]
    assert {arn: p["function"] for arn, p in permissions.items()} == {
        f"{execution}/*/GET/public": handlers, f"{execution}/*/GET/private": handlers,
        f"{execution}/*/GET/admin": handlers, f"{execution}/*/POST/echo": handlers,
        f"{execution}/authorizers/{authorizer_id}": authorizer}
    assert {(p["principal"], p["action"]) for p in permissions.values()} == {
        ("apigateway.amazonaws.com", "lambda:InvokeFunction")}


def test_functions_get_the_app_settings_and_the_directory_and_may_only_write_their_logs(plan):
    handlers = of(plan, "aws:lambda/function:Function", "-handlers")[0]
    authorizer = of(plan, "aws:lambda/function:Function", "-authorizer")[0]
    assert handlers["handler"] == contract.HANDLERS and authorizer["handler"] == contract.AUTHORIZER
    assert handlers["environment"]["variables"] == {"COMPONENT_NAME": "Echo Service", "API_VERSION": "2.1.0",
                                                    "POWERTOOLS_SERVICE_NAME": "test-secure-api"}
    variables = authorizer["environment"]["variables"]
    assert variables[contract.ENV_ISSUER] == plan.outputs["issuer"]
    assert plan.outputs["issuer"] == f"https://cognito-idp.us-east-1.amazonaws.com/{plan.outputs['user_pool_id']}"
    machine = plan.outputs["machine_client_ids"]
    assert variables[contract.ENV_CLIENT_IDS].split(",") == [plan.outputs["user_client_id"], machine["reporting"],
                                                            machine["audit"]]
    for function in (handlers, authorizer):
        assert (function["memorySize"], function["reservedConcurrentExecutions"], function["timeout"]) == (512, 20, 10)
        assets = function["code"]["assets"]
        assert {"runtime/__init__.py", "runtime/secure_api/contract.py"} <= set(assets)
        assert not [a for a in assets if "requirements" in a or "__pycache__" in a]
    for policy in of(plan, "aws:iam/rolePolicy:RolePolicy"):
        [statement] = json.loads(policy["policy"])["Statement"]
        assert statement["Action"] == ["logs:CreateLogStream", "logs:PutLogEvents"]
        assert statement["Resource"].endswith(":*") and ":log-group:" in statement["Resource"]


def test_the_two_functions_have_their_own_small_dependency_layers(plan):
    layers = {r.name: r.inputs["code"]["path"] for r in plan.of_type("aws:lambda/layerVersion:LayerVersion")}
    authorizer = packaging.project_path(layers["test-secure-api-authorizer-dependencies"]) / "python"
    handlers = packaging.project_path(layers["test-secure-api-handlers-dependencies"]) / "python"
    assert (authorizer / "jwt").is_dir() and (authorizer / "cryptography").is_dir()
    assert (handlers / "aws_lambda_powertools").is_dir() and (handlers / "fastjsonschema").is_dir()
    assert not (handlers / "cryptography").exists()


def test_every_alarm_notifies_the_environment_topic(plan):
    alarms = {r.name: r.inputs for r in plan.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")}
    assert set(alarms) == {"test-secure-api-5xx", "test-secure-api-authorizer-errors",
                           "test-secure-api-authorizer-throttles", "test-secure-api-handlers-errors",
                           "test-secure-api-handlers-throttles"}
    assert all(a["alarmActions"] == [TOPIC] and a["okActions"] == [TOPIC] for a in alarms.values())
    five = alarms["test-secure-api-5xx"]
    assert (five["namespace"], five["metricName"], five["threshold"], five["dimensions"]["Stage"]) == (
        "AWS/ApiGateway", "5xx", 9, "$default")


def test_the_directory_has_the_seed_roles_the_scopes_the_users_and_the_clients(plan):
    [pool] = of(plan, "aws:cognito/userPool:UserPool")
    assert (pool["mfaConfiguration"], pool["userPoolTier"], pool["deletionProtection"]) == ("ON", "PLUS", "ACTIVE")
    assert pool["adminCreateUserConfig"] == {"allowAdminCreateUserOnly": True}
    assert sorted(g["name"] for g in of(plan, "aws:cognito/userGroup:UserGroup")) == ["ADMIN", "USER"]
    [server] = of(plan, "aws:cognito/resourceServer:ResourceServer")
    assert server["identifier"] == "secure-api" and [s["scopeName"] for s in server["scopes"]] == ["read", "write"]
    users = of(plan, "aws:cognito/user:User")
    assert sorted(u["username"] for u in users) == ["ada@example.com", "root@example.com"]
    assert all("temporaryPassword" not in u and "password" not in u and u["desiredDeliveryMediums"] == ["EMAIL"]
               for u in users)
    assert sorted((m["username"], m["groupName"]) for m in of(plan, "aws:cognito/userInGroup:UserInGroup")) == [
        ("ada@example.com", "USER"), ("root@example.com", "ADMIN"), ("root@example.com", "USER")]
    clients = {c["name"]: c for c in of(plan, "aws:cognito/userPoolClient:UserPoolClient")}
    people = clients["test-secure-api-users-people"]
    assert people["generateSecret"] is False and people["allowedOauthFlows"] == ["code"]
    assert people["callbackUrls"] == ["https://app.example.com/cb"]
    assert set(people["explicitAuthFlows"]) == {"ALLOW_USER_PASSWORD_AUTH", "ALLOW_USER_SRP_AUTH",
                                                "ALLOW_REFRESH_TOKEN_AUTH"}
    reporting, audit = clients["test-secure-api-users-reporting"], clients["test-secure-api-users-audit"]
    assert (reporting["generateSecret"], reporting["allowedOauthFlows"], reporting["allowedOauthScopes"]) == (
        True, ["client_credentials"], ["secure-api/write"])
    assert audit["allowedOauthScopes"] == ["secure-api/read"]
    assert plan.outputs["token_url"] == "https://echo-test.auth.us-east-1.amazoncognito.com/oauth2/token"


def test_without_a_domain_there_is_no_hosted_page_no_code_flow_and_no_machine_client():
    plan = plan_stack()
    assert plan.of_type("aws:cognito/userPoolDomain:UserPoolDomain") == []
    [people] = of(plan, "aws:cognito/userPoolClient:UserPoolClient")
    assert "allowedOauthFlows" not in people and people["allowedOauthFlowsUserPoolClient"] is False
    assert plan.outputs["token_url"] is None and plan.outputs["machine_client_ids"] == {}


def test_prod_is_protected_and_dev_idles_cheaply():
    prod = load_environment("prod").stacks["prod-secure-api"].config
    dev = load_environment("dev").stacks["dev-secure-api"].config
    assert prod["cloud-patterns:secure_api_users"]["mfa"] == "ON"
    assert prod["cloud-patterns:secure_api_users"]["deletion_protection"] is True
    assert dev["cloud-patterns:secure_api_users"]["tier"] == "LITE"
    assert "machine_clients" not in dev["cloud-patterns:secure_api_users"]  # $6 a month each, idle or not


@pytest.mark.parametrize("section, settings, message", [
    ("secure_api_users", {"users": [{"email": "a@example.com", "groups": ["OWNER"]}]},
     "users: 'OWNER' is not allowed; allowed: groups among USER, ADMIN"),
    ("secure_api_users", {"users": [{"email": "a@example.com"}, {"email": "A@example.com"}]},
     "allowed: each e-mail address once"),
    ("secure_api_users", {"domain_prefix": "d", "machine_clients": {"robot": ["delete"]}},
     "machine_clients.robot: 'delete' is not allowed; allowed: scopes among read, write"),
    ("secure_api_users", {"machine_clients": {"robot": ["write"]}}, "machine_clients: {'robot': ['write']} is not "
                                                                    "allowed; allowed: none without domain_prefix"),
    ("secure_api_users", {"callback_urls": ["https://app.example.com/cb"]}, "callback_urls: "),
    ("secure_api_users", {"domain_prefix": "my-cognito-login"}, "domain_prefix: "),
    ("secure_api_users", {"callback_urls": ["http://app.example.com/cb"], "domain_prefix": "d"}, "callback_urls: "),
    ("secure_api", {"component_name": "<script>"}, "component_name: "),
    ("secure_api", {"audience": "x"}, "audience: unknown setting"),
])
def test_bad_config_is_refused_naming_its_key_before_any_resource(section, settings, message):
    spec_config = {"secure_api": {}, "secure_api_users": {}, section: settings}
    spec = make_spec("secure-api", spec_config, upstream={"alerts": "test-alerts"})
    monitor = RecordingMonitor(ProviderMocks(stack_outputs={"test-alerts": {"topic_arn": TOPIC}}))
    with pytest.raises(ConfigError) as error:
        evaluate_stack(spec, {"test-alerts": {"topic_arn": TOPIC}}, monitor)
    assert str(error.value).startswith(f"cloud-patterns:{section}.") and message in str(error.value)
    assert [r for r in monitor.recorded if r.custom and r.type != "pulumi:pulumi:StackReference"] == []


# ----- the component on its own: generic routes -----------------------------------------------------------------

def lambda_args(**extra) -> LambdaFunctionArgs:
    return LambdaFunctionArgs(source_dir=contract.SOURCE_DIR, handler=contract.HANDLERS, keep_path=True,
                              **extra)


def test_path_parameters_and_any_method_become_wildcards_in_the_permission():
    def main():
        SecureApi("generic", SecureApiArgs(
            routes=[Route("GET /items/{id}", "items"), Route("ANY /files/{proxy+}", "items", authorized=False)],
            integrations={"items": LambdaIntegration(lambda_args())},
            authorizer=LambdaAuthorizer(lambda_args(), identity_headers=("Authorization", "X-Origin-Verify"))))
    plan = run_components(main)
    arns = sorted(p.inputs["sourceArn"].split(":", 5)[-1].split("/", 1)[1]
                  for p in plan.of_type("aws:lambda/permission:Permission"))
    assert arns[:2] == ["*/*/files/*", "*/GET/items/*"] and arns[2].startswith("authorizers/")
    [authorizer] = of(plan, "aws:apigatewayv2/authorizer:Authorizer")
    assert authorizer["identitySources"] == ["$request.header.Authorization", "$request.header.X-Origin-Verify",
                                             "$context.routeKey"]


@pytest.mark.parametrize("args, key", [
    (dict(routes=[Route("GET items", "x")]), "routes"),
    (dict(routes=[Route("GET /a", "missing")]), "routes"),
    (dict(routes=[Route("GET /a", "x")], authorizer=None), "authorizer"),
    (dict(routes=[Route("GET /a-b", "x", False), Route("GET /a/b", "x", False)]), "routes"),
    (dict(routes=[Route("GET /a", "x", False)], integrations={"x": 1, "y": 2}), "integrations"),
])
def test_the_component_refuses_routes_it_cannot_build(args, key):
    wiring = {"integrations": {"x": LambdaIntegration(lambda_args())}, **args}
    with pytest.raises(InvalidArgument) as error:
        SecureApiArgs(**wiring)
    assert error.value.key == key


@pytest.fixture(scope="module")
def guarded_plan():
    return plan_stack({"require_origin_secret": True}, {"users": USERS})


def test_with_the_origin_secret_required_every_route_goes_through_an_authorizer_that_checks_it(guarded_plan):
    routes = {r["routeKey"]: r for r in of(guarded_plan, "aws:apigatewayv2/route:Route")}
    assert {r["authorizationType"] for r in routes.values()} == {"CUSTOM"}
    authorizers = {r.name: r.inputs for r in guarded_plan.of_type("aws:apigatewayv2/authorizer:Authorizer")}
    header = f"$request.header.{contract.ORIGIN_SECRET_HEADER}"
    token = authorizers["test-secure-api-authorizer"]
    public = authorizers["test-secure-api-public-authorizer"]
    assert token["identitySources"] == ["$request.header.Authorization", header, "$context.routeKey"]
    assert public["identitySources"] == [header, "$context.routeKey"]
    assert public["authorizerUri"] == token["authorizerUri"]
    ids = {r["routeKey"]: r["authorizerId"] for r in routes.values()}
    assert len({ids["GET /public"], ids["GET /private"]}) == 2
    assert len({v for k, v in ids.items() if k != "GET /public"}) == 1
    permissions = [p["sourceArn"] for p in of(guarded_plan, "aws:lambda/permission:Permission", "-from-api")]
    assert len(permissions) == 2 and all("/authorizers/" in arn for arn in permissions)


def test_the_authorizer_may_read_only_the_origin_secret_by_its_name(guarded_plan):
    authorizer = of(guarded_plan, "aws:lambda/function:Function", "-authorizer")[0]
    assert authorizer["environment"]["variables"][contract.ENV_ORIGIN_SECRET] == (
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:test/secure-api/origin-secret")
    statements = [s for p in of(guarded_plan, "aws:iam/rolePolicy:RolePolicy")
                  for s in json.loads(p["policy"])["Statement"] if s["Action"] != ["logs:CreateLogStream",
                                                                                     "logs:PutLogEvents"]]
    [grant] = statements
    assert grant["Action"] == "secretsmanager:GetSecretValue" or grant["Action"] == ["secretsmanager:GetSecretValue"]
    assert grant["Resource"] in (
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:test/secure-api/origin-secret-??????",
        ["arn:aws:secretsmanager:us-east-1:123456789012:secret:test/secure-api/origin-secret-??????"])


def test_without_the_origin_secret_the_authorizer_has_no_secret_to_read(plan):
    authorizer = of(plan, "aws:lambda/function:Function", "-authorizer")[0]
    assert contract.ENV_ORIGIN_SECRET not in authorizer["environment"]["variables"]
