"""The bean-counter stack and the ScalingContainer component under the mock engine: scaling target and
policies, listeners, health check, security groups, deployment safety, the input bucket, config errors."""

from __future__ import annotations

import copy
import json

import pytest

from components.scaling_container import ScalingContainerArgs
from components.validation import InvalidArgument
from planning.offline import RecordingMonitor
from programs.common import ConfigError
from tests.conftest import run_components, run_program

CERT = "arn:aws:acm:us-east-1:123456789012:certificate/3c9e1f47-2b6d-4a85-9e07-5f1d8c2a6b34"
SEED = {"bean_counter": {}}  # the seed's numbers are the defaults: 2 tasks, 0.25 vCPU, 1 GB, 2-4, CPU 75 %
PROD_LIKE = {"bean_counter": {"cpu": 512, "memory_mb": 1024, "workers": 2, "min_count": 2, "desired_count": 3,
                              "max_count": 10, "cpu_target_percent": 60, "requests_per_target": 1200,
                              "scale_in_cooldown_seconds": 300, "certificate_arn": CERT,
                              "deletion_protection": True}}


class IgnoreChangesMonitor(RecordingMonitor):
    """Also records which properties each resource tells the engine to ignore changes of."""

    def __init__(self):
        super().__init__(None)
        self.ignore_changes: dict[str, list[str]] = {}

    def RegisterResource(self, request):
        self.ignore_changes[f"{request.type}::{request.name}"] = list(request.ignoreChanges)
        return super().RegisterResource(request)


@pytest.fixture(scope="module")
def upstream_outputs(network_outputs):
    alerts = run_program("alerts", {"alerts": {"emails": ["ops@example.com"]}})
    return {**network_outputs, "test-alerts": alerts.outputs}


def plan_stack(upstream_outputs, config, monitor=None):
    return run_program("bean-counter", config, upstream={"network": "test-network", "alerts": "test-alerts"},
                       upstream_outputs=upstream_outputs, short_name="bean-counter", monitor=monitor)


@pytest.fixture(scope="module")
def seed_plan(upstream_outputs):
    return plan_stack(upstream_outputs, SEED)


@pytest.fixture(scope="module")
def prod_plan(upstream_outputs):
    return plan_stack(upstream_outputs, PROD_LIKE)


def only(plan, token):
    [resource] = plan.of_type(token)
    return resource


def policies(plan):
    return {p.name.rsplit("-", 1)[1]: p.inputs for p in plan.of_type("aws:appautoscaling/policy:Policy")}


def container_of(plan):
    [definition] = json.loads(only(plan, "aws:ecs/taskDefinition:TaskDefinition").inputs["containerDefinitions"])
    return definition


# --- scaling ------------------------------------------------------------------------------------

def test_scaling_target_holds_the_service_between_min_and_max(seed_plan):
    target = only(seed_plan, "aws:appautoscaling/target:Target").inputs
    service = only(seed_plan, "aws:ecs/service:Service").inputs
    assert target["minCapacity"] == 2 and target["maxCapacity"] == 4
    assert target["serviceNamespace"] == "ecs" and target["scalableDimension"] == "ecs:service:DesiredCount"
    cluster_name, service_name = seed_plan.outputs["cluster_name"], seed_plan.outputs["service_name"]
    assert target["resourceId"] == f"service/{cluster_name}/{service_name}"
    assert service["desiredCount"] == 2


def test_seed_scales_on_cpu_at_75_percent_with_60_second_cooldowns(seed_plan):
    assert set(policies(seed_plan)) == {"cpu"}
    cpu = policies(seed_plan)["cpu"]
    assert cpu["policyType"] == "TargetTrackingScaling"
    configuration = cpu["targetTrackingScalingPolicyConfiguration"]
    assert configuration["targetValue"] == 75
    assert configuration["predefinedMetricSpecification"]["predefinedMetricType"] == "ECSServiceAverageCPUUtilization"
    assert configuration["scaleOutCooldown"] == 60 and configuration["scaleInCooldown"] == 60
    assert configuration["disableScaleIn"] is False


def test_requests_per_target_policy_tracks_this_load_balancer_and_target_group(prod_plan):
    by_name = policies(prod_plan)
    assert set(by_name) == {"cpu", "requests"}
    assert by_name["cpu"]["targetTrackingScalingPolicyConfiguration"]["targetValue"] == 60
    requests = by_name["requests"]["targetTrackingScalingPolicyConfiguration"]
    assert requests["targetValue"] == 1200
    metric = requests["predefinedMetricSpecification"]
    assert metric["predefinedMetricType"] == "ALBRequestCountPerTarget"
    load_balancer, target_group = metric["resourceLabel"].split("/targetgroup/")
    assert load_balancer.startswith("app/test-bean-counter")
    assert "targetgroup/" + target_group == _arn_suffix(only(prod_plan, "aws:lb/targetGroup:TargetGroup"))
    assert requests["scaleInCooldown"] == 300
    target = only(prod_plan, "aws:appautoscaling/target:Target").inputs
    assert (target["minCapacity"], target["maxCapacity"]) == (2, 10)
    assert all(p["resourceId"] == target["resourceId"] for p in by_name.values())


def _arn_suffix(target_group) -> str:
    from planning.mocks import digest

    group = target_group.inputs.get("name") or f"{target_group.name[:24]}-{digest('tg', target_group.name, length=7)}"
    return f"targetgroup/{group}/{digest('tg', target_group.name, length=16)}"


def test_deploys_leave_the_scaled_desired_count_alone(upstream_outputs):
    monitor = IgnoreChangesMonitor()
    plan_stack(upstream_outputs, SEED, monitor)
    assert monitor.ignore_changes["aws:ecs/service:Service::test-bean-counter"] == ["desiredCount"]
    assert monitor.ignore_changes["aws:appautoscaling/target:Target::test-bean-counter"] == []


# --- load balancer ------------------------------------------------------------------------------

def test_without_a_certificate_http_forwards_to_the_service(seed_plan):
    [listener] = seed_plan.of_type("aws:lb/listener:Listener")
    assert listener.inputs["port"] == 80 and listener.inputs["protocol"] == "HTTP"
    [action] = listener.inputs["defaultActions"]
    assert action["type"] == "forward"
    assert action["targetGroupArn"] == only(seed_plan, "aws:ecs/service:Service").inputs["loadBalancers"][0][
        "targetGroupArn"]


def test_with_a_certificate_http_redirects_and_https_uses_tls12(prod_plan):
    listeners = {r.inputs["port"]: r.inputs for r in prod_plan.of_type("aws:lb/listener:Listener")}
    assert set(listeners) == {80, 443}
    [redirect] = listeners[80]["defaultActions"]
    assert redirect["type"] == "redirect"
    assert redirect["redirect"] == {"protocol": "HTTPS", "port": "443", "statusCode": "HTTP_301"}
    https = listeners[443]
    assert https["protocol"] == "HTTPS" and https["certificateArn"] == CERT
    assert https["sslPolicy"].startswith("ELBSecurityPolicy-TLS13-1-2")
    assert [a["type"] for a in https["defaultActions"]] == ["forward"]


def test_load_balancer_attributes(seed_plan, prod_plan):
    dev = only(seed_plan, "aws:lb/loadBalancer:LoadBalancer").inputs
    prod = only(prod_plan, "aws:lb/loadBalancer:LoadBalancer").inputs
    assert dev["internal"] is False and dev["loadBalancerType"] == "application"
    assert dev["dropInvalidHeaderFields"] is True and prod["dropInvalidHeaderFields"] is True
    assert dev["enableDeletionProtection"] is False and prod["enableDeletionProtection"] is True


def test_target_group_checks_the_health_endpoint_of_ip_targets(seed_plan):
    group = only(seed_plan, "aws:lb/targetGroup:TargetGroup").inputs
    assert group["targetType"] == "ip" and group["port"] == 8080 and group["protocol"] == "HTTP"
    assert group["healthCheck"]["path"] == "/healthz" and group["healthCheck"]["matcher"] == "200"
    assert group["deregistrationDelay"] == 30


# --- security groups and placement --------------------------------------------------------------

def test_load_balancer_and_tasks_use_the_networks_groups(seed_plan, network_outputs):
    network = network_outputs["test-network"]
    load_balancer = only(seed_plan, "aws:lb/loadBalancer:LoadBalancer").inputs
    assert load_balancer["securityGroups"] == [network["load_balancer_security_group_id"]]
    assert load_balancer["subnets"] == network["public_subnet_ids"]
    service = only(seed_plan, "aws:ecs/service:Service").inputs
    assert service["networkConfiguration"]["securityGroups"] == [network["app_security_group_id"]]
    # the test network has no NAT, as dev: public subnets with public IPs
    assert service["networkConfiguration"]["subnets"] == network["public_subnet_ids"]
    assert service["networkConfiguration"]["assignPublicIp"] is True
    assert service["loadBalancers"] == [{"targetGroupArn": service["loadBalancers"][0]["targetGroupArn"],
                                         "containerName": "app", "containerPort": network["app_port"]}]


def test_a_container_port_the_app_group_does_not_admit_is_refused_before_any_resource(upstream_outputs):
    monitor = RecordingMonitor(None)
    with pytest.raises(ConfigError, match="bean_counter.container_port: 9000 is not allowed; allowed: 8080,"):
        plan_stack(upstream_outputs, {"bean_counter": {"container_port": 9000}}, monitor)
    assert [r.type for r in monitor.recorded if r.custom] == ["pulumi:pulumi:StackReference"] * 2


def test_the_container_listens_on_the_networks_app_port(upstream_outputs):
    outputs = copy.deepcopy(upstream_outputs)
    outputs["test-network"]["app_port"] = 3000
    plan = plan_stack(outputs, {"bean_counter": {"container_port": 3000}})
    assert container_of(plan)["portMappings"] == [{"containerPort": 3000, "protocol": "tcp"}]
    assert container_of(plan)["command"][:4] == ["--host", "0.0.0.0", "--port", "3000"]
    assert "127.0.0.1:3000/healthz" in " ".join(container_of(plan)["healthCheck"]["command"])
    assert only(plan, "aws:lb/targetGroup:TargetGroup").inputs["port"] == 3000


# --- service, task, image, bucket ---------------------------------------------------------------

def test_service_deploys_without_downtime_and_rolls_back_on_failure(seed_plan):
    service = only(seed_plan, "aws:ecs/service:Service").inputs
    assert service["deploymentMinimumHealthyPercent"] == 100 and service["deploymentMaximumPercent"] == 200
    assert service["deploymentCircuitBreaker"] == {"enable": True, "rollback": True}
    assert service["healthCheckGracePeriodSeconds"] == 60
    assert service["launchType"] == "FARGATE"


def test_task_runs_the_bean_counter_image_with_its_entrypoint(seed_plan, prod_plan):
    task = only(seed_plan, "aws:ecs/taskDefinition:TaskDefinition").inputs
    assert (task["cpu"], task["memory"]) == ("256", "1024")
    container = container_of(seed_plan)
    assert container["portMappings"] == [{"containerPort": 8080, "protocol": "tcp"}]
    assert container["command"] == ["--host", "0.0.0.0", "--port", "8080", "--workers", "1"]
    assert container_of(prod_plan)["command"][-1] == "2"
    assert "@sha256:" in container["image"]
    assert "127.0.0.1:8080/healthz" in " ".join(container["healthCheck"]["command"])
    image = only(seed_plan, "docker-build:index:Image").inputs
    assert image["dockerfile"]["location"].endswith("runtime/bean_counter/Dockerfile")
    assert image["context"]["location"].endswith("runtime")


def test_task_role_reads_only_the_input_bucket(seed_plan):
    bucket = only(seed_plan, "aws:s3/bucket:Bucket")
    container = container_of(seed_plan)
    assert {"name": "BUCKET", "value": seed_plan.outputs["bucket"]} in container["environment"]
    [policy] = [p for p in seed_plan.of_type("aws:iam/rolePolicy:RolePolicy") if "-task" in p.name]
    statements = json.loads(policy.inputs["policy"])["Statement"]
    arn = f"arn:aws:s3:::{seed_plan.outputs['bucket']}"
    assert {(s["Action"], s["Resource"]) for s in statements} == {("s3:GetObject", f"{arn}/*"), ("s3:ListBucket", arn)}
    assert bucket.inputs["forceDestroy"] is False


def test_input_bucket_is_private_and_tls_only(seed_plan):
    block = only(seed_plan, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock").inputs
    assert all(block[k] for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"))
    policy = json.loads(only(seed_plan, "aws:s3/bucketPolicy:BucketPolicy").inputs["policy"])
    [deny] = policy["Statement"]
    assert deny["Effect"] == "Deny" and deny["Condition"]["Bool"]["aws:SecureTransport"] == "false"


def test_logs_are_kept_as_configured(upstream_outputs):
    plan = plan_stack(upstream_outputs, {"bean_counter": {"log_retention_days": 14}})
    assert only(plan, "aws:cloudwatch/logGroup:LogGroup").inputs["retentionInDays"] == 14


# --- validation ---------------------------------------------------------------------------------

WIRING = dict(vpc_id="vpc-1", load_balancer_subnet_ids=["subnet-a"], load_balancer_security_group_ids=["sg-lb"],
              task_subnet_ids=["subnet-b"], task_security_group_ids=["sg-app"],
              dockerfile="runtime/bean_counter/Dockerfile", bucket_variable="BUCKET")


@pytest.mark.parametrize("settings, key", [
    ({"min_count": 3, "max_count": 2, "desired_count": 2}, "min_count"),
    ({"desired_count": 5}, "desired_count"),
    ({"desired_count": 1}, "desired_count"),
    ({"min_count": 0}, "min_count"),
    ({"max_count": 101}, "max_count"),
    ({"max_count": 4.5}, "max_count"),
    ({"cpu": 256, "memory_mb": 4096}, "memory_mb"),
    ({"cpu": 300}, "cpu"),
    ({"container_port": 70000}, "container_port"),
    ({"cpu_target_percent": 100}, "cpu_target_percent"),
    ({"cpu_target_percent": 5}, "cpu_target_percent"),
    ({"requests_per_target": 0}, "requests_per_target"),
    ({"scale_out_cooldown_seconds": -1}, "scale_out_cooldown_seconds"),
    ({"scale_in_cooldown_seconds": 7200}, "scale_in_cooldown_seconds"),
    ({"deregistration_delay_seconds": 4000}, "deregistration_delay_seconds"),
    ({"health_check_path": "healthz"}, "health_check_path"),
    ({"certificate_arn": "not-an-arn"}, "certificate_arn"),
    ({"ssl_policy": "ELBSecurityPolicy-2016-08"}, "ssl_policy"),
    ({"log_retention_days": 10}, "log_retention_days"),
    ({"dockerfile": "runtime/nowhere/Dockerfile"}, "dockerfile"),
    ({"environment": {"BUCKET": "other"}}, "environment"),
])
def test_scaling_container_args_are_validated(settings, key):
    with pytest.raises(InvalidArgument) as error:
        ScalingContainerArgs(**{**WIRING, **settings})
    assert error.value.key == key


def test_seed_defaults_are_valid():
    args = ScalingContainerArgs(**WIRING)
    assert (args.cpu, args.memory_mb, args.container_port) == (256, 1024, 8080)
    assert (args.min_count, args.desired_count, args.max_count, args.cpu_target_percent) == (2, 2, 4, 75.0)


@pytest.mark.parametrize("settings, message", [
    ({"min_count": 5}, "cloud-patterns:bean_counter.min_count: 5"),
    ({"memory_mb": 3000}, "cloud-patterns:bean_counter.memory_mb: 3000"),
    ({"workers": 0}, "cloud-patterns:bean_counter.workers: 0"),
    ({"workers": 3}, "cloud-patterns:bean_counter.workers: 3 is not allowed; allowed: at most 2 with memory_mb 1024"),
    ({"dockerfile": "runtime/other/Dockerfile"}, "cloud-patterns:bean_counter.dockerfile: unknown setting"),
    ({"health_check_path": "/"}, "cloud-patterns:bean_counter.health_check_path: unknown setting"),
    ({"vpc_id": "vpc-123"}, "cloud-patterns:bean_counter.vpc_id: unknown setting"),
    ({"replicas": 3}, "cloud-patterns:bean_counter.replicas: unknown setting"),
])
def test_bad_config_is_refused_naming_the_key(upstream_outputs, settings, message):
    config = copy.deepcopy(SEED)
    config["bean_counter"].update(settings)
    with pytest.raises(ConfigError, match=message.replace(".", r"\.")):
        plan_stack(upstream_outputs, config)


# --- alarms -------------------------------------------------------------------------------------

def alarms_by_suffix(plan) -> dict[str, dict]:
    return {a.name.removeprefix("test-bean-counter-"): a.inputs
            for a in plan.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")}


def test_every_alarm_notifies_the_alerts_topic_when_it_fires_and_clears(seed_plan, upstream_outputs):
    topic = upstream_outputs["test-alerts"]["topic_arn"]
    found = alarms_by_suffix(seed_plan)
    assert set(found) == {"target-5xx", "lb-5xx", "response-time", "unhealthy-targets", "running-tasks", "cpu-anomaly"}
    for alarm in found.values():
        assert alarm["alarmActions"] == [topic] and alarm["okActions"] == [topic]


def test_cpu_anomaly_alarm_watches_the_service_cpu_against_its_anomaly_detection_band(seed_plan):
    alarm = alarms_by_suffix(seed_plan)["cpu-anomaly"]
    assert alarm["comparisonOperator"] == "GreaterThanUpperThreshold"
    assert alarm["thresholdMetricId"] == "band" and "threshold" not in alarm
    assert alarm["evaluationPeriods"] == 3 and alarm["treatMissingData"] == "notBreaching"
    queries = {q["id"]: q for q in alarm["metricQueries"]}
    assert queries["band"]["expression"] == "ANOMALY_DETECTION_BAND(metric, 2)"
    metric = queries["metric"]["metric"]
    assert (metric["namespace"], metric["metricName"], metric["stat"], metric["period"]) == (
        "AWS/ECS", "CPUUtilization", "Average", 300)
    assert metric["dimensions"] == {"ClusterName": seed_plan.outputs["cluster_name"],
                                    "ServiceName": seed_plan.outputs["service_name"]}
    assert all(q["returnData"] for q in queries.values())


def test_alarm_thresholds_are_settings(upstream_outputs):
    plan = plan_stack(upstream_outputs, {"bean_counter": {"cpu_anomaly_band_width": 3.5, "cpu_anomaly_periods": 6,
                                                          "server_errors_per_minute": 20, "min_count": 1,
                                                          "desired_count": 1}})
    found = alarms_by_suffix(plan)
    band = next(q for q in found["cpu-anomaly"]["metricQueries"] if q["id"] == "band")
    assert band["expression"] == "ANOMALY_DETECTION_BAND(metric, 3.5)"
    assert found["cpu-anomaly"]["evaluationPeriods"] == 6
    assert found["target-5xx"]["threshold"] == 20
    assert found["running-tasks"]["threshold"] == 1  # the service alarms below its minimum


def test_a_task_that_exits_non_zero_notifies_the_topic(seed_plan, upstream_outputs):
    [rule] = seed_plan.of_type("aws:cloudwatch/eventRule:EventRule")
    pattern = json.loads(rule.inputs["eventPattern"])
    [arn] = pattern["detail"]["clusterArn"]
    assert arn.startswith("arn:aws:ecs:us-east-1:123456789012:cluster/") and seed_plan.outputs["cluster_name"] in arn
    [target] = seed_plan.of_type("aws:cloudwatch/eventTarget:EventTarget")
    assert target.inputs["arn"] == upstream_outputs["test-alerts"]["topic_arn"]


# --- the pattern is app-agnostic --------------------------------------------------------------------

def test_the_component_runs_any_app_it_is_given():
    from components.scaling_container import ScalingContainer

    def main():
        ScalingContainer("other", ScalingContainerArgs(**{**WIRING, "dockerfile": "runtime/auth_demo_app/Dockerfile",
                                                          "bucket_variable": None}, input_bucket=False,
                                                       container_port=9090, environment={"MODE": "demo"}))

    plan = run_components(main)
    [definition] = json.loads(only(plan, "aws:ecs/taskDefinition:TaskDefinition").inputs["containerDefinitions"])
    assert definition["environment"] == [{"name": "MODE", "value": "demo"}]
    assert "healthCheck" not in definition and "command" not in definition
    assert definition["portMappings"] == [{"containerPort": 9090, "protocol": "tcp"}]
    assert only(plan, "docker-build:index:Image").inputs["dockerfile"]["location"].endswith(
        "runtime/auth_demo_app/Dockerfile")
    assert plan.of_type("aws:s3/bucket:Bucket") == [] and plan.of_type("aws:cloudwatch/metricAlarm:MetricAlarm") == []
