"""The auth-sidecar stack and its components under the mock engine: the sign-in front (listeners,
Cognito), the task's containers (dependencies, sizes, wiring), the alarms and the config errors."""

import ast
import copy
import json
import re
from pathlib import Path

import pytest

from components import cognito_front, sidecar_assembly
from components.alarms import failed_task_pattern
from components.fargate_task import ContainerSpec
from components.sidecar_assembly import SidecarAssembly, SidecarAssemblyArgs
from components.validation import InvalidArgument
from planning.mocks import ProviderMocks
from planning.offline import RecordingMonitor
from programs.common import ConfigError
from tests.conftest import run_components, run_program

CERT = "arn:aws:acm:us-east-1:123456789012:certificate/5d1f7c2e-8a44-4b3e-9f0a-2c6b1e9d7a10"
CONFIG = {
    "auth_front": {"host_name": "backoffice.example.com", "certificate_arn": CERT, "domain_prefix": "backoffice-test"},
    "auth_sidecar": {"valid_domains": ["example.com", "example.org"]},
}


UPSTREAM = {"network": "test-network", "alerts": "test-alerts"}


def plan_stack(upstream_outputs, config=None, **kwargs):
    return run_program("auth-sidecar", config or CONFIG, upstream=UPSTREAM, upstream_outputs=upstream_outputs,
                       short_name="auth-sidecar", **kwargs)


def with_settings(section, **settings):
    config = copy.deepcopy(CONFIG)
    config[section].update(settings)
    return config


@pytest.fixture(scope="module")
def plan(upstream_outputs):
    return plan_stack(upstream_outputs)


def containers_of(plan):
    [task] = plan.of_type("aws:ecs/taskDefinition:TaskDefinition")
    return task, {c["name"]: c for c in json.loads(task.inputs["containerDefinitions"])}


def listeners_of(plan):
    return {r.name.rsplit("-", 1)[1]: r.inputs for r in plan.of_type("aws:lb/listener:Listener")}


# --- the sign-in front ---------------------------------------------------------------------------

def test_https_listener_authenticates_with_cognito_then_forwards(plan):
    https = listeners_of(plan)["https"]
    [pool] = plan.of_type("aws:cognito/userPool:UserPool")
    [client] = plan.of_type("aws:cognito/userPoolClient:UserPoolClient")
    [target_group] = plan.of_type("aws:lb/targetGroup:TargetGroup")

    authenticate, forward = https["defaultActions"]
    assert (authenticate["order"], authenticate["type"]) == (1, "authenticate-cognito")
    assert (forward["order"], forward["type"]) == (2, "forward")
    cognito = authenticate["authenticateCognito"]
    assert cognito["sessionTimeout"] == 12 * 3600
    assert cognito["onUnauthenticatedRequest"] == "authenticate"
    assert cognito["scope"] == "openid email profile"
    assert cognito["userPoolArn"].endswith(f":userpool/{pool_id(plan)}") and pool.name == "test-auth"
    assert cognito["userPoolDomain"] == "backoffice-test"
    assert cognito["userPoolClientId"] and client.name == "test-auth"
    assert forward["targetGroupArn"].startswith("arn:aws:elasticloadbalancing:") and target_group.inputs["port"] == 8080
    assert https["certificateArn"] == CERT and https["sslPolicy"].startswith("ELBSecurityPolicy-TLS13")


def pool_id(plan):
    [domain] = plan.of_type("aws:cognito/userPoolDomain:UserPoolDomain")
    return domain.inputs["userPoolId"]


def test_http_redirects_to_https(plan):
    assert listeners_of(plan)["http"]["defaultActions"] == [
        {"type": "redirect", "redirect": {"protocol": "HTTPS", "port": "443", "statusCode": "HTTP_301"}}]


def test_cognito_client_is_a_confidential_code_flow_client_calling_back_to_the_alb(plan):
    [client] = plan.of_type("aws:cognito/userPoolClient:UserPoolClient")
    inputs = client.inputs

    assert inputs["generateSecret"] is True
    assert inputs["allowedOauthFlowsUserPoolClient"] is True
    assert inputs["allowedOauthFlows"] == ["code"]
    assert inputs["allowedOauthScopes"] == ["openid", "email", "profile"]
    assert inputs["callbackUrls"] == ["https://backoffice.example.com/oauth2/idpresponse"]
    assert inputs["supportedIdentityProviders"] == ["COGNITO"]
    assert inputs["preventUserExistenceErrors"] == "ENABLED"


def test_user_pool_admits_no_self_sign_up(plan):
    [pool] = plan.of_type("aws:cognito/userPool:UserPool")

    assert pool.inputs["adminCreateUserConfig"] == {"allowAdminCreateUserOnly": True}
    assert pool.inputs["usernameAttributes"] == ["email"]
    assert pool.inputs["passwordPolicy"]["minimumLength"] >= 14
    assert pool.inputs["deletionProtection"] == "INACTIVE"
    assert not plan.of_type("aws:cognito/identityProvider:IdentityProvider")


def test_load_balancer_may_reach_the_sign_in_endpoints(plan, network_outputs):
    [alb] = plan.of_type("aws:lb/loadBalancer:LoadBalancer")
    [sign_in_group] = plan.of_type("aws:ec2/securityGroup:SecurityGroup")
    [egress] = plan.of_type("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule")

    network = network_outputs["test-network"]
    assert alb.inputs["securityGroups"][0] == network["load_balancer_security_group_id"]
    assert len(alb.inputs["securityGroups"]) == 2
    assert alb.inputs["subnets"] == network["public_subnet_ids"]
    assert (egress.inputs["fromPort"], egress.inputs["toPort"], egress.inputs["cidrIpv4"]) == (443, 443, "0.0.0.0/0")
    assert egress.inputs["securityGroupId"] == alb.inputs["securityGroups"][1]


def test_sign_in_group_has_rule_resources_only(plan):
    # Inline rules (even egress=[]) and rule resources overwrite each other: after a refresh, up would revoke
    # the HTTPS egress the sign-in needs.
    [sign_in_group] = plan.of_type("aws:ec2/securityGroup:SecurityGroup")

    assert "egress" not in sign_in_group.inputs and "ingress" not in sign_in_group.inputs


def test_users_cannot_write_their_own_email(plan):
    [client] = plan.of_type("aws:cognito/userPoolClient:UserPoolClient")

    # Unset, Cognito lets a user write every standard attribute of their own, e-mail included.
    assert client.inputs["writeAttributes"] == ["family_name", "given_name", "picture"]
    assert client.inputs["readAttributes"] == ["email", "email_verified", "family_name", "given_name", "picture"]


GOOGLE = {**CONFIG, "google_client_id": {"secure": "v1:id"}, "google_client_secret": {"secure": "v1:secret"}}


@pytest.fixture(scope="module")
def google_plan(upstream_outputs):
    return plan_stack(upstream_outputs, GOOGLE)


def test_google_sign_in_from_secret_config(google_plan):
    [google] = google_plan.of_type("aws:cognito/identityProvider:IdentityProvider")
    [client] = google_plan.of_type("aws:cognito/userPoolClient:UserPoolClient")
    assert google.inputs["providerType"] == "Google" and google.inputs["providerName"] == "Google"
    assert google.inputs["providerDetails"] == "[secret]"
    assert google.inputs["attributeMapping"]["email"] == "email"
    assert client.inputs["supportedIdentityProviders"] == ["COGNITO", "Google"]


def test_google_workspace_domain_reaches_the_sidecar(google_plan):
    [google] = google_plan.of_type("aws:cognito/identityProvider:IdentityProvider")
    [pool] = google_plan.of_type("aws:cognito/userPool:UserPool")
    [client] = google_plan.of_type("aws:cognito/userPoolClient:UserPoolClient")

    assert google.inputs["attributeMapping"]["custom:hd"] == "hd"
    schemas = [(s["name"], s["attributeDataType"], s["mutable"]) for s in pool.inputs["schemas"]]
    assert schemas == [("hd", "String", True)]
    assert "custom:hd" in client.inputs["readAttributes"]
    # Cognito writes what the provider maps at every federated sign-in, so those must be writable; no user holds a
    # token that may write them (the aws.cognito.signin.user.admin scope is refused).
    assert set(client.inputs["writeAttributes"]) == {"custom:hd", "email", "email_verified", "family_name",
                                                     "given_name", "picture"}
    assert "aws.cognito.signin.user.admin" not in client.inputs["allowedOauthScopes"]


def test_session_timeout_is_configurable(upstream_outputs):
    plan = plan_stack(upstream_outputs, with_settings("auth_front", session_timeout_seconds=3600))

    [authenticate, _] = listeners_of(plan)["https"]["defaultActions"]
    assert authenticate["authenticateCognito"]["sessionTimeout"] == 3600


# --- the task -------------------------------------------------------------------------------------

def test_front_waits_for_a_healthy_sidecar_and_app(plan):
    _, containers = containers_of(plan)

    assert set(containers) == {"app", "auth-sidecar", "auth-front"}
    assert containers["auth-front"]["dependsOn"] == [{"containerName": "auth-sidecar", "condition": "HEALTHY"},
                                                     {"containerName": "app", "condition": "HEALTHY"}]
    for name in ("app", "auth-sidecar", "auth-front"):
        assert containers[name]["healthCheck"]["command"][0] in ("CMD", "CMD-SHELL")
        assert containers[name]["essential"] is True
        assert containers[name]["logConfiguration"]["logDriver"] == "awslogs"
    assert "--healthcheck" in containers["auth-sidecar"]["healthCheck"]["command"]


def test_only_the_front_is_reachable_and_the_load_balancer_targets_it(plan):
    _, containers = containers_of(plan)
    [service] = plan.of_type("aws:ecs/service:Service")

    assert containers["auth-front"]["portMappings"] == [{"containerPort": 8080, "protocol": "tcp"}]
    assert containers["app"]["portMappings"] == [] and containers["auth-sidecar"]["portMappings"] == []
    assert "127.0.0.1" in containers["app"]["command"] and "127.0.0.1" in containers["auth-sidecar"]["command"]
    assert service.inputs["loadBalancers"][0]["containerName"] == "auth-front"
    assert service.inputs["loadBalancers"][0]["containerPort"] == 8080


def test_sidecar_is_configured_with_the_load_balancer_arn_as_signer(plan):
    _, containers = containers_of(plan)
    [alb] = plan.of_type("aws:lb/loadBalancer:LoadBalancer")
    environment = {e["name"]: e["value"] for e in containers["auth-sidecar"]["environment"]}
    front_environment = {e["name"]: e["value"] for e in containers["auth-front"]["environment"]}

    assert environment["ALB_ARN"].startswith("arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/")
    assert environment["ALB_ARN"] == plan.outputs["load_balancer_arn"]
    assert alb.name == "test-auth"
    assert environment["VALID_DOMAINS"] == "example.com,example.org"
    assert environment["AUTH_REQUIRED"] == "true" and environment["AWS_REGION"] == "us-east-1"
    assert (environment["DECISION_CACHE_SECONDS"], environment["KEY_CACHE_SECONDS"]) == ("30", "300")
    assert environment["METRICS_SERVICE"] == "test-auth-sidecar"
    assert front_environment == {"AUTH_FRONT_LISTEN": "8080", "AUTH_FRONT_SIDECAR": "127.0.0.1:9000",
                                 "AUTH_FRONT_APP": "127.0.0.1:8000"}


def test_container_sizes_add_up_to_the_task_size(plan):
    task, containers = containers_of(plan)

    assert (task.inputs["cpu"], task.inputs["memory"]) == ("512", "1024")
    assert sum(c["cpu"] for c in containers.values()) == 512
    assert sum(c["memory"] for c in containers.values()) == 1024


def test_container_sizes_come_from_config(upstream_outputs):
    sizes = {"cpu": 256, "memory_mb": 512, "containers": {"app": {"cpu": 128, "memory_mb": 256},
                                                          "auth-sidecar": {"cpu": 64, "memory_mb": 128},
                                                          "auth-front": {"cpu": 64, "memory_mb": 128}}}
    task, containers = containers_of(plan_stack(upstream_outputs, with_settings("auth_sidecar", **sizes)))

    assert (task.inputs["cpu"], task.inputs["memory"]) == ("256", "512")
    assert {n: (c["cpu"], c["memory"]) for n, c in containers.items()} == {
        "app": (128, 256), "auth-sidecar": (64, 128), "auth-front": (64, 128)}


# --- alarms ---------------------------------------------------------------------------------------

def test_every_alarm_notifies_the_alerts_topic(plan, upstream_outputs):
    topic = upstream_outputs["test-alerts"]["topic_arn"]
    alarms = {a.name: a.inputs for a in plan.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")}

    assert set(alarms) == {"test-auth-target-5xx", "test-auth-lb-5xx", "test-auth-response-time",
                           "test-auth-unhealthy-targets", "test-auth-sidecar-running-tasks"}
    for inputs in alarms.values():
        assert inputs["alarmActions"] == [topic] and inputs["okActions"] == [topic]
    [alb] = plan.of_type("aws:lb/loadBalancer:LoadBalancer")
    [service] = plan.of_type("aws:ecs/service:Service")
    assert alarms["test-auth-target-5xx"]["dimensions"]["LoadBalancer"].startswith("app/test-auth-")
    assert alarms["test-auth-sidecar-running-tasks"]["dimensions"]["ServiceName"] == plan.outputs["service_name"]
    assert alarms["test-auth-sidecar-running-tasks"]["threshold"] == 1
    cluster_name = alarms["test-auth-sidecar-running-tasks"]["dimensions"]["ClusterName"]
    assert service.inputs["cluster"].endswith("/" + cluster_name)
    assert alb.name == "test-auth"


def test_tasks_that_stop_with_a_failed_container_notify_the_topic(plan, upstream_outputs):
    [rule] = plan.of_type("aws:cloudwatch/eventRule:EventRule")
    [target] = plan.of_type("aws:cloudwatch/eventTarget:EventTarget")
    [service] = plan.of_type("aws:ecs/service:Service")

    pattern = json.loads(rule.inputs["eventPattern"])
    assert pattern["detail"]["clusterArn"] == [service.inputs["cluster"]]
    assert pattern == failed_task_pattern(service.inputs["cluster"])  # its events: tests/operations
    assert target.inputs["arn"] == upstream_outputs["test-alerts"]["topic_arn"]


def test_alarm_thresholds_come_from_config(upstream_outputs):
    plan = plan_stack(upstream_outputs, with_settings("auth_front", server_errors_per_minute=20,
                                                      response_time_p99_seconds=0.5))
    alarms = {a.name: a.inputs for a in plan.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")}

    assert alarms["test-auth-target-5xx"]["threshold"] == 20
    assert alarms["test-auth-response-time"]["threshold"] == 0.5


# --- the front's port -----------------------------------------------------------------------------

def test_front_port_is_configurable_and_used_everywhere(upstream_outputs):
    outputs = copy.deepcopy(upstream_outputs)
    outputs["test-network"]["app_port"] = 8443
    plan = plan_stack(outputs, with_settings("auth_sidecar", port=8443))
    _, containers = containers_of(plan)
    [target_group] = plan.of_type("aws:lb/targetGroup:TargetGroup")
    [service] = plan.of_type("aws:ecs/service:Service")

    assert target_group.inputs["port"] == 8443 and service.inputs["loadBalancers"][0]["containerPort"] == 8443
    assert containers["auth-front"]["portMappings"] == [{"containerPort": 8443, "protocol": "tcp"}]
    assert {e["name"]: e["value"] for e in containers["auth-front"]["environment"]}["AUTH_FRONT_LISTEN"] == "8443"
    assert "8443/healthz" in containers["auth-front"]["healthCheck"]["command"][1]


def refused_before_any_resource(upstream_outputs, config, message):
    monitor = RecordingMonitor(ProviderMocks())
    with pytest.raises(ConfigError, match=message.replace(".", r"\.")):
        plan_stack(upstream_outputs, config, monitor=monitor)
    # Refused before any cloud resource: only the reads of the upstream stacks have happened.
    assert {r.type for r in monitor.recorded} <= {"pulumi:pulumi:StackReference"}


def test_a_port_the_network_does_not_admit_is_refused_at_config_time(upstream_outputs):
    outputs = copy.deepcopy(upstream_outputs)
    outputs["test-network"]["app_port"] = 8081

    refused_before_any_resource(outputs, CONFIG, "cloud-patterns:auth_sidecar.port: 8080 is not allowed; allowed: 8081")


# --- config errors --------------------------------------------------------------------------------

@pytest.mark.parametrize("section, settings, message", [
    ("auth_sidecar", {"cpu": 256, "memory_mb": 512}, "cloud-patterns:auth_sidecar.containers.cpu: 512"),
    ("auth_sidecar", {"containers": {"app": {"cpu": 256, "memory_mb": 1024}}},
     "cloud-patterns:auth_sidecar.containers.memory: 1536"),
    ("auth_sidecar", {"containers": {"app": {"cpu": 0}}}, "cloud-patterns:auth_sidecar.containers.app.cpu"),
    ("auth_sidecar", {"containers": {"worker": {"cpu": 64}}}, "cloud-patterns:auth_sidecar.containers: 'worker'"),
    ("auth_sidecar", {"containers": {"app": 256}}, "cloud-patterns:auth_sidecar.containers.app: 256"),
    ("auth_sidecar", {"valid_domains": []}, "cloud-patterns:auth_sidecar.valid_domains"),
    ("auth_sidecar", {"valid_domains": ["*", "example.com"]}, "cloud-patterns:auth_sidecar.valid_domains"),
    ("auth_sidecar", {"auth_required": "yes"}, "cloud-patterns:auth_sidecar.auth_required"),
    ("auth_sidecar", {"log_retention_days": 10}, "cloud-patterns:auth_sidecar.log_retention_days"),
    ("auth_sidecar", {"port": 9000}, "cloud-patterns:auth_sidecar.port: 9000"),
    ("auth_sidecar", {"decision_cache_seconds": 301}, "cloud-patterns:auth_sidecar.decision_cache_seconds"),
    ("auth_sidecar", {"desired_count": 2, "minimum_running": 3}, "cloud-patterns:auth_sidecar.minimum_running"),
    ("auth_sidecar", {"sidecars": []}, "cloud-patterns:auth_sidecar.sidecars: unknown setting"),
    ("auth_front", {"session_timeout_seconds": 8 * 24 * 3600}, "cloud-patterns:auth_front.session_timeout_seconds"),
    ("auth_front", {"host_name": "https://backoffice.example.com"}, "cloud-patterns:auth_front.host_name"),
    ("auth_front", {"domain_prefix": "my-cognito-login"}, "cloud-patterns:auth_front.domain_prefix"),
    ("auth_front", {"scopes": ["email"]}, "cloud-patterns:auth_front.scopes"),
    ("auth_front", {"scopes": ["openid", "aws.cognito.signin.user.admin"]}, "cloud-patterns:auth_front.scopes"),
    ("auth_front", {"target_port": 9090}, "cloud-patterns:auth_front.target_port: unknown setting"),
])
def test_bad_config_is_refused_naming_the_key(upstream_outputs, section, settings, message):
    refused_before_any_resource(upstream_outputs, with_settings(section, **settings), message)


def test_google_needs_both_client_id_and_secret(upstream_outputs):
    refused_before_any_resource(upstream_outputs, {**CONFIG, "google_client_id": {"secure": "v1:id"}},
                                "cloud-patterns:auth_front.google_client_secret")


# --- SidecarAssembly on its own -------------------------------------------------------------------

def spec(name, **kwargs):
    return ContainerSpec(name, image=f"{name}@sha256:0", **{"cpu": 64, "memory_mb": 128, **kwargs})


def assembly_args(**kwargs):
    return SidecarAssemblyArgs(**{"main": spec("app", port=8080, health_check=["CMD", "true"]),
                                  "subnet_ids": ["subnet-1"], "security_group_ids": ["sg-1"], **kwargs})


@pytest.mark.parametrize("kwargs, key", [
    ({"sidecars": [spec("log", cpu=0)]}, "containers.log.cpu"),
    ({"sidecars": [spec("log", memory_mb=None)]}, "containers.log.memory_mb"),
    ({"sidecars": [spec("proxy", port=8080)]}, "containers.port"),
    ({"ingress_container": "nobody"}, "ingress_container"),
    ({"sidecars": [spec("log")], "ingress_container": "log", "target_group_arn": "arn:tg"}, "containers.log.port"),
    ({"main": spec("app", essential=False), "sidecars": [spec("log")]}, "containers.app.essential"),
    ({"sidecars": [spec("log", cpu=512)]}, "containers.cpu"),
    ({"sidecars": [spec("log", memory_mb=1024)]}, "containers.memory"),
    ({"desired_count": 1, "minimum_running": 2}, "minimum_running"),
    ({"sidecars": [spec("log", depends_on={"app": "RUNNING"})]}, "containers.log.depends_on.app"),
])
def test_sidecar_assembly_args_are_validated(kwargs, key):
    with pytest.raises(InvalidArgument) as error:
        assembly_args(**kwargs)
    assert error.value.key == key


def test_sidecar_assembly_runs_any_number_of_sidecars_in_one_task():
    def main():
        SidecarAssembly("svc", assembly_args(
            cpu=512, memory_mb=1024, desired_count=3,
            sidecars=[spec("metrics", depends_on={"app": "HEALTHY"}), spec("logs", essential=False),
                      spec("proxy", port=9090, depends_on={"app": "START"})],
            ingress_container="proxy", target_group_arn="arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/t/1"))
    plan = run_components(main)

    [task] = plan.of_type("aws:ecs/taskDefinition:TaskDefinition")
    [service] = plan.of_type("aws:ecs/service:Service")
    [cluster] = plan.of_type("aws:ecs/cluster:Cluster")
    names = [c["name"] for c in json.loads(task.inputs["containerDefinitions"])]
    assert names == ["app", "metrics", "logs", "proxy"]
    assert service.inputs["loadBalancers"] == [{"targetGroupArn": "arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/t/1",
                                                "containerName": "proxy", "containerPort": 9090}]
    assert service.inputs["desiredCount"] == 3 and service.inputs["cluster"].startswith("arn:aws:ecs:us-east-1:123456789012:cluster/svc-")
    assert cluster.name == "svc"


def test_the_components_know_no_app():
    """App names, paths, ports and env names arrive as arguments: the contracts hold them, the program passes them."""
    for module in (cognito_front, sidecar_assembly):
        source = Path(module.__file__).read_text()
        tree = ast.parse(source)
        imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
        imported |= {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
        assert not {name.split(".")[0] for name in imported} & {"runtime", "programs"}, module.__name__
        assert not re.search(r"runtime/|auth_(sidecar|front|demo)|X-Auth-|\b(8000|9000)\b", source), module.__name__
