"""PrivateService under the mock engine, over a planned dev-style network: the database reachable only from the
service's tasks and living in the isolated subnets, RDS encrypted, private, IAM auth on, TLS forced, the task
role's rds-db:connect on one user, the VPC link and the internal NLB, the master secret's JSON key, alarms, and
invalid arguments refused before any resource."""
from __future__ import annotations

import dataclasses
import json

import pytest

from components.args import InvalidArgument
from components.database import PostgresDatabase
from planning.mocks import ProviderMocks
from planning.offline import RecordingMonitor
from runtime.items_service import contract
from tests.api_backend.conftest import TOPIC, service_args
from tests.conftest import run_components

def only(plan, token):
    [resource] = plan.of_type(token)
    return resource.inputs


def rules(plan, direction: str) -> list[dict]:
    return [r.inputs | {"_name": r.name} for r in plan.of_type(f"aws:vpc/securityGroup{direction}Rule:"
                                                               f"SecurityGroup{direction}Rule")]


def group_id(plan, name: str) -> str:
    """The id the mock engine gave the security group ``name`` (rules reference groups by id)."""
    [rule] = [r for r in rules(plan, "Ingress") + rules(plan, "Egress") if r["_name"].startswith(name + "-")
              and r["_name"].split(name + "-", 1)[1].split("-")[0] in ("in", "out")][:1]
    return rule["securityGroupId"]


def test_the_database_admits_only_the_tasks_group_on_the_data_port_and_sends_nothing(plan, network):
    db = group_id(plan, "test-backend-db")
    tasks = group_id(plan, "test-backend-tasks")
    into_db = [r for r in rules(plan, "Ingress") if r["securityGroupId"] == db]
    assert [(r["referencedSecurityGroupId"], r["fromPort"], r["toPort"], r.get("cidrIpv4")) for r in into_db] == [
        (tasks, network["data_port"], network["data_port"], None)]
    assert not [r for r in rules(plan, "Egress") if r["securityGroupId"] == db]
    # Every rule anywhere that names the DB group is the tasks' egress to it or its own ingress.
    naming_db = [r for r in rules(plan, "Ingress") + rules(plan, "Egress") if r.get("referencedSecurityGroupId") == db]
    assert [(r["securityGroupId"], r["fromPort"]) for r in naming_db] == [(tasks, network["data_port"])]
    assert only(plan, "aws:rds/instance:Instance")["vpcSecurityGroupIds"] == [db]


def test_the_chain_vpc_link_to_nlb_to_tasks_admits_one_hop_each(plan):
    link, nlb, tasks = (group_id(plan, f"test-backend-{g}") for g in ("vpc-link", "nlb", "tasks"))
    ingress = {(r["securityGroupId"], r.get("referencedSecurityGroupId"), r["fromPort"]) for r in rules(plan, "Ingress")}
    db = group_id(plan, "test-backend-db")
    assert ingress == {(nlb, link, contract.PORT), (tasks, nlb, contract.PORT), (db, tasks, 5432)}
    egress = {(r["securityGroupId"], r.get("referencedSecurityGroupId") or r.get("cidrIpv4"), r["fromPort"])
              for r in rules(plan, "Egress")}
    assert egress == {(link, nlb, contract.PORT), (nlb, tasks, contract.PORT), (tasks, "0.0.0.0/0", 443),
                      (tasks, db, 5432)}
    assert only(plan, "aws:apigatewayv2/vpcLink:VpcLink")["securityGroupIds"] == [link]
    assert only(plan, "aws:lb/loadBalancer:LoadBalancer")["securityGroups"] == [nlb]
    service = only(plan, "aws:ecs/service:Service")
    assert service["networkConfiguration"]["securityGroups"] == [tasks]


def test_the_database_lives_in_the_isolated_subnets_and_the_link_and_nlb_in_the_private_ones(plan, network):
    assert only(plan, "aws:rds/subnetGroup:SubnetGroup")["subnetIds"] == network["isolated_subnet_ids"]
    assert set(network["isolated_subnet_ids"]).isdisjoint(network["private_subnet_ids"] + network["public_subnet_ids"])
    assert only(plan, "aws:apigatewayv2/vpcLink:VpcLink")["subnetIds"] == network["private_subnet_ids"]
    assert only(plan, "aws:lb/loadBalancer:LoadBalancer")["subnets"] == network["private_subnet_ids"]


def test_rds_is_encrypted_private_iam_authenticated_with_a_managed_master_password(plan):
    db = only(plan, "aws:rds/instance:Instance")
    assert db["storageEncrypted"] is True and db["publiclyAccessible"] is False
    assert db["iamDatabaseAuthenticationEnabled"] is True and db["manageMasterUserPassword"] is True
    assert "password" not in db
    assert db["copyTagsToSnapshot"] is True and db["autoMinorVersionUpgrade"] is True
    assert db["enabledCloudwatchLogsExports"] == ["postgresql", "upgrade"]
    assert (db["multiAz"], db["deletionProtection"], db["skipFinalSnapshot"], db["backupRetentionPeriod"]) == (
        False, False, True, 1)
    assert (db["dbName"], db["username"], db["storageType"]) == (contract.DB_NAME, contract.DB_MASTER_USER, "gp3")
    parameters = {p["name"]: p["value"] for p in only(plan, "aws:rds/parameterGroup:ParameterGroup")["parameters"]}
    assert parameters["rds.force_ssl"] == "1" and parameters["ssl_min_protocol_version"] == "TLSv1.2"
    log_groups = {g["name"]: g["retentionInDays"] for g in
                  (r.inputs for r in plan.of_type("aws:cloudwatch/logGroup:LogGroup")) if "/aws/rds/" in g.get("name", "")}
    assert log_groups == {"/aws/rds/instance/test-backend/postgresql": 30, "/aws/rds/instance/test-backend/upgrade": 30}


def test_prod_settings_turn_on_multi_az_deletion_protection_a_final_snapshot_and_monitoring(prod_plan):
    db = only(prod_plan, "aws:rds/instance:Instance")
    assert (db["multiAz"], db["deletionProtection"], db["skipFinalSnapshot"], db["backupRetentionPeriod"]) == (
        True, True, False, 7)
    assert db["finalSnapshotIdentifier"] == "test-backend-final"
    assert db["performanceInsightsEnabled"] is True and db["monitoringInterval"] == 60
    [role] = [r for r in prod_plan.of_type("aws:iam/role:Role") if r.name == "test-backend-monitoring"]
    trust = json.loads(role.inputs["assumeRolePolicy"])["Statement"][0]
    assert trust["Principal"] == {"Service": "monitoring.rds.amazonaws.com"}
    assert "aws:SourceAccount" in trust["Condition"]["StringEquals"]


def policy_of(plan, role_name: str) -> list[dict]:
    [policy] = [r for r in plan.of_type("aws:iam/rolePolicy:RolePolicy") if r.name == f"{role_name}-policy"]
    return json.loads(policy.inputs["policy"])["Statement"]


def test_the_task_role_may_connect_as_the_app_user_of_this_instance_only(plan):
    db = only(plan, "aws:rds/instance:Instance")
    [grant] = policy_of(plan, "test-backend-task")
    assert grant["Action"] == "rds-db:connect"
    assert grant["Resource"].startswith("arn:aws:rds-db:us-east-1:123456789012:dbuser:db-")
    assert grant["Resource"].endswith(f"/{contract.DB_APP_USER}") and "*" not in grant["Resource"]
    assert db["identifier"] == "test-backend"


def test_ecs_injects_the_master_secrets_password_key_and_the_execution_role_reads_that_secret_only(plan):
    [container] = json.loads(only(plan, "aws:ecs/taskDefinition:TaskDefinition")["containerDefinitions"])
    [secret] = container["secrets"]
    assert secret["name"] == contract.ENV_DB_MASTER_PASSWORD
    arn, key = secret["valueFrom"].rsplit(":password::", 1)[0], secret["valueFrom"].endswith(":password::")
    assert key and ":secret:rds!db-" in arn
    [read] = [s for s in policy_of(plan, "test-backend-execution") if s["Sid"] == "ReadTaskSecrets"]
    assert read["Action"] == "secretsmanager:GetSecretValue" and read["Resource"] == arn
    environment = {e["name"]: e["value"] for e in container["environment"]}
    assert environment[contract.ENV_DB_PORT] == "5432" and environment[contract.ENV_DB_NAME] == contract.DB_NAME
    assert environment[contract.ENV_DB_HOST].endswith(".rds.amazonaws.com")
    assert contract.ENV_DB_MASTER_PASSWORD not in environment


def test_the_nlb_is_internal_with_a_tcp_listener_and_http_health_checks_on_task_ips(plan):
    lb = only(plan, "aws:lb/loadBalancer:LoadBalancer")
    assert (lb["loadBalancerType"], lb["internal"]) == ("network", True)
    listener = only(plan, "aws:lb/listener:Listener")
    assert (listener["protocol"], listener["port"]) == ("TCP", contract.PORT)
    group = only(plan, "aws:lb/targetGroup:TargetGroup")
    assert (group["targetType"], group["protocol"], group["port"]) == ("ip", "TCP", contract.PORT)
    assert (group["healthCheck"]["protocol"], group["healthCheck"]["path"]) == ("HTTP", contract.HEALTH_PATH)


def test_alarms_cover_targets_running_tasks_and_the_database(plan):
    alarms = {(a.inputs["namespace"], a.inputs["metricName"]) for a in plan.of_type(
        "aws:cloudwatch/metricAlarm:MetricAlarm")}
    assert alarms == {("AWS/NetworkELB", "UnHealthyHostCount"), ("AWS/NetworkELB", "HealthyHostCount"),
                      ("ECS/ContainerInsights", "RunningTaskCount"), ("AWS/RDS", "CPUUtilization"),
                      ("AWS/RDS", "DatabaseConnections"), ("AWS/RDS", "FreeStorageSpace"),
                      ("AWS/RDS", "FreeableMemory")}
    assert all(a.inputs["alarmActions"] == [TOPIC] for a in plan.of_type("aws:cloudwatch/metricAlarm:MetricAlarm"))


@pytest.mark.parametrize(("change", "key"), [
    ({"database_user": contract.DB_MASTER_USER}, "database_user"),
    ({"database_user": "Items-App"}, "database_user"),
    ({"environment": {contract.ENV_DB_HOST: "elsewhere"}}, "environment"),
    ({"cpu": 256, "memory_mb": 4096}, "memory_mb"),
])
def test_invalid_service_arguments_are_refused_naming_the_key(network, change, key):
    with pytest.raises(InvalidArgument) as error:
        dataclasses.replace(service_args(network), **change)
    assert error.value.key == key


@pytest.mark.parametrize(("change", "key"), [
    ({"max_allocated_storage_gb": 20}, "max_allocated_storage_gb"),
    ({"free_storage_alarm_gb": 20.0}, "free_storage_alarm_gb"),
    ({"backup_retention_days": 0}, "backup_retention_days"),
    ({"engine_version": "14"}, "engine_version"),
    ({"monitoring_interval_seconds": 7}, "monitoring_interval_seconds"),
])
def test_invalid_database_arguments_are_refused_naming_the_key(network, change, key):
    with pytest.raises(InvalidArgument) as error:
        service_args(network, **change)
    assert error.value.key == key


def test_a_database_without_its_clients_group_registers_nothing(network):
    monitor = RecordingMonitor(ProviderMocks())
    args = service_args(network).database
    with pytest.raises(Exception, match="client_security_group_id"):
        run_components(lambda: PostgresDatabase("lonely", args), monitor=monitor)
    assert not [r for r in monitor.recorded if r.custom]


def test_items_routes_go_through_the_vpc_link_to_the_listener_with_the_authorizer_and_the_callers_sub():
    from components.lambda_function import LambdaFunctionArgs
    from components.secure_api import LambdaAuthorizer, Route, SecureApi, SecureApiArgs, VpcLinkIntegration
    from runtime.secure_api import contract as api

    link = "abc123"
    listener = "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/net/backend/0123/4567"
    authorizer = LambdaFunctionArgs(source_dir=api.SOURCE_DIR, handler=api.AUTHORIZER, keep_path=True)

    def main():
        SecureApi("items-api", SecureApiArgs(
            routes=[Route(key, "items") for key in ("GET /items", "POST /items", "GET /items/{id}")],
            integrations={"items": VpcLinkIntegration(link, listener, {"x-caller-sub": "$context.authorizer.sub"})},
            authorizer=LambdaAuthorizer(authorizer)))
    api_plan = run_components(main)
    [integration] = api_plan.of_type("aws:apigatewayv2/integration:Integration")
    assert {k: integration.inputs[k] for k in ("integrationType", "connectionType", "connectionId", "integrationUri",
                                               "payloadFormatVersion")} == {
        "integrationType": "HTTP_PROXY", "connectionType": "VPC_LINK", "connectionId": link,
        "integrationUri": listener, "payloadFormatVersion": "1.0"}
    assert integration.inputs["requestParameters"] == {"overwrite:header.x-caller-sub": "$context.authorizer.sub"}
    routes = api_plan.of_type("aws:apigatewayv2/route:Route")
    assert sorted(r.inputs["routeKey"] for r in routes) == ["GET /items", "GET /items/{id}", "POST /items"]
    assert all(r.inputs["authorizationType"] == "CUSTOM" and r.inputs["authorizerId"] for r in routes)
    # No Lambda permission for a VPC link: only the authorizer's.
    assert len(api_plan.of_type("aws:lambda/permission:Permission")) == 1
    assert "sub" in api.Principal("s", "c", True).context()
