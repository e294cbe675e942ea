"""The blockchain stack and the Scaling-Container's Cloud Map option under the mock engine: scaling target and
policies, service discovery, the peers' security group, health checks, Container Insights, the task's
environment and role, placement in private subnets, alarms, config errors."""
from __future__ import annotations

import copy
import json

import pytest

from components.scaling_container import ScalingContainer, ScalingContainerArgs
from components.validation import InvalidArgument
from planning.offline import RecordingMonitor
from programs.common import ConfigError
from runtime.blockchain import contract
from tests.conftest import run_components, run_program

SEED = {"blockchain": {"cpu": 256, "memory_mb": 512, "desired_count": 2, "min_count": 2, "max_count": 4,
                       "cpu_target_percent": 50, "requests_per_target": 3000, "discovery_name": "nodes"}}


@pytest.fixture(scope="module")
def alerts():
    return {"test-alerts": run_program("alerts", {"alerts": {"emails": ["ops@example.com"]}}).outputs}


@pytest.fixture(scope="module")
def public_network(network_outputs, alerts):
    return {**network_outputs, **alerts}


@pytest.fixture(scope="module")
def nat_network(alerts):
    return {"test-network": run_program("network", {"network": {"nat_strategy": "single"}}).outputs, **alerts}


def plan_stack(upstream_outputs, config=SEED, monitor=None):
    return run_program("blockchain", config, upstream={"network": "test-network", "alerts": "test-alerts"},
                       upstream_outputs=upstream_outputs, short_name="blockchain", monitor=monitor)


@pytest.fixture(scope="module")
def plan(public_network):
    return plan_stack(public_network)


@pytest.fixture(scope="module")
def private_plan(nat_network):
    return plan_stack(nat_network)


def only(plan, token):
    [resource] = plan.of_type(token)
    return resource


def of_checkpoint_bucket(plan, token):
    """The checkpoint bucket's resource of a type (the load balancer's access-log bucket is a private bucket too)."""
    [resource] = [r for r in plan.of_type(token) if not r.name.endswith("-access-logs")]
    return resource


def container_of(plan):
    [definition] = json.loads(only(plan, "aws:ecs/taskDefinition:TaskDefinition").inputs["containerDefinitions"])
    return definition


def test_scales_between_the_seeds_two_tasks_and_four_on_cpu_at_50_percent_and_on_requests(plan):
    target = only(plan, "aws:appautoscaling/target:Target").inputs
    assert (target["minCapacity"], target["maxCapacity"]) == (2, 4)
    assert target["resourceId"] == f"service/{plan.outputs['cluster_name']}/{plan.outputs['service_name']}"
    policies = {p.name.rsplit("-", 1)[1]: p.inputs["targetTrackingScalingPolicyConfiguration"]
                for p in plan.of_type("aws:appautoscaling/policy:Policy")}
    assert policies["cpu"]["targetValue"] == 50
    assert policies["cpu"]["predefinedMetricSpecification"]["predefinedMetricType"] == "ECSServiceAverageCPUUtilization"
    requests = policies["requests"]
    assert requests["targetValue"] == 3000
    assert requests["predefinedMetricSpecification"]["predefinedMetricType"] == "ALBRequestCountPerTarget"
    assert "/targetgroup/" in requests["predefinedMetricSpecification"]["resourceLabel"]
    task = only(plan, "aws:ecs/taskDefinition:TaskDefinition").inputs
    assert (task["cpu"], task["memory"]) == ("256", "512")
    assert only(plan, "aws:ecs/service:Service").inputs["desiredCount"] == 2


def test_every_task_registers_in_a_private_cloud_map_namespace_of_the_vpc(plan, network_outputs):
    namespace = only(plan, "aws:servicediscovery/privateDnsNamespace:PrivateDnsNamespace")
    assert namespace.inputs["name"] == "test-blockchain.internal"
    assert namespace.inputs["vpc"] == network_outputs["test-network"]["vpc_id"]
    discovery = only(plan, "aws:servicediscovery/service:Service")
    assert discovery.inputs["name"] == "nodes"
    dns = discovery.inputs["dnsConfig"]
    assert dns["namespaceId"].startswith("ns-") and dns["routingPolicy"] == "MULTIVALUE"
    assert dns["dnsRecords"] == [{"ttl": 10, "type": "A"}]
    assert "healthCheckCustomConfig" in discovery.inputs and "healthCheckConfig" not in discovery.inputs
    service = only(plan, "aws:ecs/service:Service").inputs
    registry = service["serviceRegistries"]["registryArn"]
    assert set(service["serviceRegistries"]) == {"registryArn"}
    assert registry.startswith("arn:aws:servicediscovery:us-east-1:123456789012:service/srv-")
    assert plan.outputs["peer_dns_name"] == "nodes.test-blockchain.internal"


def test_tasks_reach_each_other_on_the_app_port_and_nothing_else(plan, network_outputs):
    network = network_outputs["test-network"]
    [group] = plan.of_type("aws:ec2/securityGroup:SecurityGroup")
    assert group.name == "test-blockchain-peers" and group.inputs["vpcId"] == network["vpc_id"]
    [ingress] = plan.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
    [egress] = plan.of_type("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule")
    group_id = ingress.inputs["securityGroupId"]
    assert group_id.startswith("sg-") and group_id != network["app_security_group_id"]
    for rule in (ingress, egress):
        assert rule.inputs["securityGroupId"] == rule.inputs["referencedSecurityGroupId"] == group_id
        assert (rule.inputs["ipProtocol"], rule.inputs["fromPort"], rule.inputs["toPort"]) == (
            "tcp", network["app_port"], network["app_port"])
        assert "cidrIpv4" not in rule.inputs and "cidrIpv6" not in rule.inputs
    service = only(plan, "aws:ecs/service:Service").inputs
    assert service["networkConfiguration"]["securityGroups"] == [network["app_security_group_id"], group_id]


def test_the_node_listens_on_the_networks_app_port_and_is_healthy_once_synced(plan, network_outputs):
    port = network_outputs["test-network"]["app_port"]
    container = container_of(plan)
    assert container["portMappings"] == [{"containerPort": port, "protocol": "tcp"}]
    assert container["command"] == ["--host", "0.0.0.0", "--port", str(port)]
    assert f"127.0.0.1:{port}/healthz" in " ".join(container["healthCheck"]["command"])
    group = only(plan, "aws:lb/targetGroup:TargetGroup").inputs
    assert group["port"] == port and group["healthCheck"]["path"] == "/healthz"
    assert group["healthCheck"]["matcher"] == "200"  # 503 while syncing: not in service yet
    image = only(plan, "docker-build:index:Image").inputs
    assert image["dockerfile"]["location"].endswith(contract.DOCKERFILE)


def test_the_task_gets_its_difficulty_checkpoint_bucket_peer_name_and_networks(plan, network_outputs):
    environment = {e["name"]: e["value"] for e in container_of(plan)["environment"]}
    assert environment == {
        contract.ENV_DIFFICULTY: "4", contract.ENV_BUCKET: plan.outputs["checkpoint_bucket"],
        contract.ENV_PEER_DNS: "nodes.test-blockchain.internal",
        contract.ENV_PEER_NETWORKS: network_outputs["test-network"]["vpc_cidr"],
        contract.ENV_SERVICE: "test-blockchain", contract.ENV_METRICS_INTERVAL: "60"}
    contract.Settings.from_env(environment)  # what the runtime reads, it accepts


def test_the_task_may_read_and_write_only_the_checkpoint_bucket_and_delete_nothing(plan):
    [policy] = [p for p in plan.of_type("aws:iam/rolePolicy:RolePolicy") if "-task" in p.name]
    statements = json.loads(policy.inputs["policy"])["Statement"]
    arn = f"arn:aws:s3:::{plan.outputs['checkpoint_bucket']}"
    assert {(s["Action"], s["Resource"]) for s in statements} == {
        ("s3:GetObject", f"{arn}/*"), ("s3:ListBucket", arn), ("s3:PutObject", f"{arn}/*")}
    assert sorted(b.name for b in plan.of_type("aws:s3/bucket:Bucket")) == [
        "test-blockchain-access-logs", "test-blockchain-checkpoints"]
    block = of_checkpoint_bucket(plan, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock").inputs
    assert all(block[k] for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"))
    [deny] = json.loads(of_checkpoint_bucket(plan, "aws:s3/bucketPolicy:BucketPolicy").inputs["policy"])["Statement"]
    assert deny["Condition"]["Bool"]["aws:SecureTransport"] == "false"


def test_container_insights_are_on(plan):
    cluster = only(plan, "aws:ecs/cluster:Cluster").inputs
    assert cluster["settings"] == [{"name": "containerInsights", "value": "enabled"}]


def test_tasks_run_in_private_subnets_where_the_network_has_nat(private_plan, nat_network, plan, network_outputs):
    network = nat_network["test-network"]
    configuration = only(private_plan, "aws:ecs/service:Service").inputs["networkConfiguration"]
    assert configuration["subnets"] == network["private_subnet_ids"] and configuration["assignPublicIp"] is False
    public = only(plan, "aws:ecs/service:Service").inputs["networkConfiguration"]
    assert public["subnets"] == network_outputs["test-network"]["public_subnet_ids"]
    assert public["assignPublicIp"] is True  # dev's network has no NAT
    balancer = only(private_plan, "aws:lb/loadBalancer:LoadBalancer").inputs
    assert balancer["subnets"] == network["public_subnet_ids"] and balancer["internal"] is False


def test_every_alarm_notifies_the_alerts_topic(plan, alerts):
    topic = alerts["test-alerts"]["topic_arn"]
    found = {a.name.removeprefix("test-blockchain-"): a.inputs for a in plan.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")}
    assert set(found) == {"target-5xx", "lb-5xx", "response-time", "unhealthy-targets", "running-tasks", "cpu-anomaly"}
    assert all(a["alarmActions"] == [topic] and a["okActions"] == [topic] for a in found.values())
    assert found["running-tasks"]["threshold"] == 2
    [target] = plan.of_type("aws:cloudwatch/eventTarget:EventTarget")
    assert target.inputs["arn"] == topic


def test_the_dashboard_shows_every_alarm_the_failed_task_rule_and_the_chain(plan):
    widgets = plan.outputs["dashboard_widgets"]
    alarms = plan.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")
    assert widgets[0]["type"] == "alarm" and len(widgets[0]["properties"]["alarms"]) == len(alarms) == 6
    metrics = [m for w in widgets for m in w["properties"].get("metrics", [])]
    assert ["CloudPatterns/Blockchain", "Blocks", "service", "test-blockchain",
            {"stat": "Maximum", "label": "chain length"}] in metrics
    assert any(m[0] == "AWS/Events" for m in metrics)


@pytest.mark.parametrize("settings, message", [
    ({"difficulty": 9}, "cloud-patterns:blockchain.difficulty: 9 is not allowed; allowed: a whole number from 1 to 8"),
    ({"difficulty": "4"}, "cloud-patterns:blockchain.difficulty"),
    ({"metrics_interval_seconds": 5}, "cloud-patterns:blockchain.metrics_interval_seconds: 5"),
    ({"discovery_name": "Nodes_1"}, "cloud-patterns:blockchain.discovery_name: 'Nodes_1' is not allowed; allowed: "
                                    "a DNS label"),
    ({"memory_mb": 4096}, "cloud-patterns:blockchain.memory_mb: 4096"),
    ({"container_port": 3000}, "cloud-patterns:blockchain.container_port: unknown setting"),
    ({"discovery_namespace": "x.internal"}, "cloud-patterns:blockchain.discovery_namespace: unknown setting"),
    ({"bucket_writable": False}, "cloud-patterns:blockchain.bucket_writable: unknown setting"),
])
def test_bad_config_is_refused_naming_the_key_before_any_resource(public_network, settings, message):
    config = copy.deepcopy(SEED)
    config["blockchain"].update(settings)
    monitor = RecordingMonitor(None)
    with pytest.raises(ConfigError, match=message.replace(".", r"\.").replace("(", r"\(")):
        plan_stack(public_network, config, monitor)
    assert {r.type for r in monitor.recorded if r.custom} <= {"pulumi:pulumi:StackReference"}


# --- the component's Cloud Map option is generic ----------------------------------------------------------

WIRING = dict(vpc_id="vpc-1", load_balancer_subnet_ids=["subnet-a"], load_balancer_security_group_ids=["sg-lb"],
              task_subnet_ids=["subnet-b"], task_security_group_ids=["sg-app"],
              dockerfile="runtime/auth_demo_app/Dockerfile", input_bucket=False, container_port=9090)


def test_any_app_can_register_its_tasks_and_be_told_the_name():
    def main():
        ScalingContainer("other", ScalingContainerArgs(**WIRING, discovery_namespace="other.internal",
                                                       discovery_variable="PEERS", environment={"MODE": "demo"}))

    plan = run_components(main)
    environment = {e["name"]: e["value"] for e in container_of(plan)["environment"]}
    assert environment == {"MODE": "demo", "PEERS": "tasks.other.internal"}
    assert only(plan, "aws:servicediscovery/privateDnsNamespace:PrivateDnsNamespace").inputs["vpc"] == "vpc-1"
    [rule] = plan.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
    assert rule.inputs["fromPort"] == 9090
    assert "serviceRegistries" in only(plan, "aws:ecs/service:Service").inputs


def test_without_a_namespace_nothing_of_cloud_map_is_made():
    plan = run_components(lambda: ScalingContainer("plain", ScalingContainerArgs(**WIRING)))
    assert not [r for r in plan.resources if r.type.startswith("aws:servicediscovery")]
    service = only(plan, "aws:ecs/service:Service").inputs
    assert "serviceRegistries" not in service and service["networkConfiguration"]["securityGroups"] == ["sg-app"]


@pytest.mark.parametrize("settings, key", [
    ({"discovery_namespace": "internal"}, "discovery_namespace"),
    ({"discovery_namespace": "Chain.Internal"}, "discovery_namespace"),
    ({"discovery_namespace": "a.internal", "discovery_variable": "MODE", "environment": {"MODE": "x"}},
     "environment"),
    ({"discovery_name": "-nodes"}, "discovery_name"),
    ({"bucket_writable": "yes"}, "bucket_writable"),
])
def test_the_options_are_validated(settings, key):
    with pytest.raises(InvalidArgument) as error:
        ScalingContainerArgs(**{**WIRING, **settings})
    assert error.value.key == key
