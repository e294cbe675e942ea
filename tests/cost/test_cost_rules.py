"""Each priced resource type against a hand-computed price (us-east-1 list prices of stacks/cost/prices.yaml).

Hours in a month: 730. The arithmetic of every expectation is written out next to it."""
from __future__ import annotations

import json

import pytest

from stacks.cost import Usage, UsageRate, estimate_stack, load_prices
from planning.offline import PlannedResource, StackPlan
from tests.conftest import make_spec

PRICES = load_prices()


def resource(type_token: str, name: str, **inputs) -> PlannedResource:
    return PlannedResource(urn=f"urn:pulumi:test-demo::cloud-patterns::{type_token}::{name}", type=type_token,
                           name=name, parent=None, inputs=inputs, custom=True)


def estimate(*resources: PlannedResource, usage: dict | None = None):
    plan = StackPlan(make_spec("network", short_name="demo"), resources=list(resources))
    return estimate_stack(plan, PRICES, Usage(stacks={"demo": usage or {}}))


def fixed(cost) -> dict[str, float]:
    return {line.item: line.monthly for line in cost.fixed}


def rates(cost) -> dict[tuple[str, str], UsageRate]:
    return {(line.resource, line.usage_key): line for line in cost.usage}


def test_prices_state_region_currency_and_date():
    assert (PRICES.region, PRICES.currency, PRICES.taken, PRICES.hours_per_month) == ("us-east-1", "USD",
                                                                                       "2026-11-23", 730)
    assert "to be checked" in PRICES.status


def test_internet_facing_application_load_balancer():
    cost = estimate(resource("aws:lb/loadBalancer:LoadBalancer", "web", loadBalancerType="application",
                             internal=False, subnets=["subnet-1", "subnet-2"]), usage={"alb_lcu": 2})
    assert cost.fixed_monthly == pytest.approx(16.425 + 7.30)  # 730 h × $0.0225 + 2 IPs × 730 h × $0.005
    [lcu] = cost.usage
    assert lcu.price == pytest.approx(5.84)  # 730 LCU-h × $0.008 per average LCU
    assert lcu.monthly == pytest.approx(11.68)  # 2 LCUs


def test_internal_load_balancer_has_no_public_addresses_and_gateway_load_balancers_are_not_priced():
    cost = estimate(resource("aws:lb/loadBalancer:LoadBalancer", "inside", internal=True, subnets=["a", "b", "c"]),
                    resource("aws:lb/loadBalancer:LoadBalancer", "nlb", loadBalancerType="network", internal=True),
                    resource("aws:lb/loadBalancer:LoadBalancer", "gwlb", loadBalancerType="gateway"))
    assert fixed(cost) == {"Application Load Balancer": pytest.approx(16.425),
                           "Network Load Balancer": pytest.approx(16.425)}
    assert [(n.resource, n.type) for n in cost.not_priced] == [("gwlb", "aws:lb/loadBalancer:LoadBalancer")]


def test_nat_gateway_and_its_elastic_ip():
    cost = estimate(resource("aws:ec2/eip:Eip", "nat-1", domain="vpc"),
                    resource("aws:ec2/natGateway:NatGateway", "nat-1", subnetId="subnet-1"),
                    usage={"nat_gb": 100})
    assert {f.type: f.monthly for f in cost.fixed} == {
        "aws:ec2/eip:Eip": pytest.approx(3.65),  # 730 h × $0.005
        "aws:ec2/natGateway:NatGateway": pytest.approx(32.85)}  # 730 h × $0.045
    [processed] = cost.usage
    assert processed.price == 0.045 and processed.monthly == pytest.approx(4.50)  # 100 GB × $0.045


def test_interface_endpoints_cost_per_az_and_gateway_endpoints_are_free():
    cost = estimate(resource("aws:ec2/vpcEndpoint:VpcEndpoint", "logs", vpcEndpointType="Interface",
                             serviceName="com.amazonaws.us-east-1.logs", subnetIds=["a", "b", "c"]),
                    resource("aws:ec2/vpcEndpoint:VpcEndpoint", "s3", vpcEndpointType="Gateway",
                             serviceName="com.amazonaws.us-east-1.s3"), usage={"endpoint_gb": 50})
    assert cost.fixed_monthly == pytest.approx(21.90)  # 3 AZ × 730 h × $0.01
    assert cost.usage_monthly == pytest.approx(0.50)  # 50 GB × $0.01
    assert [(f.resource, f.reason) for f in cost.free] == [("s3", "gateway endpoints (s3) are free")]


def task_definition(family: str, cpu: int = 256, memory: int = 1024, architecture: str = "X86_64",
                    **inputs) -> PlannedResource:
    return resource("aws:ecs/taskDefinition:TaskDefinition", family, family=family, cpu=str(cpu),
                    memory=str(memory), requiresCompatibilities=["FARGATE"], networkMode="awsvpc",
                    runtimePlatform={"operatingSystemFamily": "LINUX", "cpuArchitecture": architecture}, **inputs)


def service(name: str, family: str, desired: int, public_ip: bool = False, **inputs) -> PlannedResource:
    defaults = {"launchType": "FARGATE"}
    return resource("aws:ecs/service:Service", name, **{**defaults, **inputs},
                    taskDefinition=f"arn:aws:ecs:us-east-1:123456789012:task-definition/{family}:1",
                    desiredCount=desired, networkConfiguration={"assignPublicIp": public_ip, "subnets": ["s"]})


def test_fargate_service_at_its_desired_count_with_public_ips():
    cost = estimate(task_definition("web"), service("web", "web", desired=2, public_ip=True))
    # per task-hour: 0.25 vCPU × $0.04048 + 1 GB × $0.004445 = $0.014565
    assert fixed(cost) == {"Fargate tasks of web at desired count 2": pytest.approx(2 * 730 * 0.014565),  # 21.26
                           "public IPv4 address per task": pytest.approx(2 * 730 * 0.005)}  # 7.30
    assert [(f.resource, f.reason) for f in cost.free] == [("web", "billed through service web")]
    assert cost.usage == []


def test_fargate_service_on_arm_with_extra_ephemeral_storage():
    cost = estimate(task_definition("api", cpu=1024, memory=2048, architecture="ARM64",
                                    ephemeralStorage={"sizeInGib": 30}),
                    service("api", "api", desired=1))
    # 1 vCPU × $0.03238 + 2 GB × $0.00356 + (30 − 20 included) GB × $0.000111 = $0.04061 per hour
    assert cost.fixed_monthly == pytest.approx(730 * 0.04061)  # $29.65


def test_services_fargate_cannot_price_are_listed_not_dropped():
    cost = estimate(task_definition("ec2"), service("on-ec2", "ec2", desired=2, launchType="EC2"),
                    service("elsewhere", "not-in-this-stack", desired=1),
                    service("spot", "ec2", desired=1,
                            capacityProviderStrategies=[{"capacityProvider": "FARGATE_SPOT"}]))
    assert {n.resource: n.reason for n in cost.not_priced} == {
        "on-ec2": "not a Fargate service (EC2 capacity is not in the plan)",
        "elsewhere": "its task definition 'not-in-this-stack' is not in this stack",
        "spot": "capacity providers FARGATE_SPOT are not priced"}
    assert cost.fixed_monthly == 0


def lambda_function(name: str, memory: int = 128, architecture: str = "arm64", **environment) -> PlannedResource:
    return resource("aws:lambda/function:Function", name, memorySize=memory, architectures=[architecture],
                    role=f"arn:aws:iam::123456789012:role/{name}-role-1234567", timeout=30,
                    **({"environment": {"variables": environment}} if environment else {}))


def role_policy(role: str, actions: list[str], resources: list[str]) -> PlannedResource:
    policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": actions, "Resource": resources}]}
    return resource("aws:iam/rolePolicy:RolePolicy", f"{role}-policy", role=f"{role}-1234567",
                    policy=json.dumps(policy))


def test_one_on_demand_task_run_includes_its_invoker_invocation_and_public_ip():
    cost = estimate(
        task_definition("thumbs"),
        lambda_function("invoker", memory=128, NETWORK_CONFIGURATION=json.dumps(
            {"awsvpcConfiguration": {"subnets": ["subnet-1"], "assignPublicIp": "ENABLED"}})),
        role_policy("invoker-role", ["ecs:RunTask"], ["arn:aws:ecs:us-east-1:123456789012:task-definition/thumbs:*"]),
        usage={"task_seconds": 30, "lambda_duration_ms": 100, "task_runs": 10_000})
    [run] = cost.usage
    # task: 60 s billed (30 s < one-minute minimum) × ($0.014565 + $0.005 public IP)/h = $0.000326083
    # invoker: $0.20/1M + 0.125 GB × 0.1 s × $0.0000133334 = $0.000000367
    assert run.unit == "task run" and run.usage_key == "task_runs"
    assert run.price == pytest.approx(0.019565 * 60 / 3600 + 0.2e-6 + 0.125 * 0.1 * 0.0000133334)
    assert run.monthly == pytest.approx(10_000 * run.price)  # $3.26
    assert "started by invoker" in run.item
    assert {f.resource: f.reason for f in cost.free}["invoker"] == \
        "priced in each run of task thumbs (one invocation per run)"
    assert cost.per_task_run == [run]


def test_task_runs_longer_than_a_minute_are_billed_per_second_without_public_ip():
    cost = estimate(task_definition("thumbs"), usage={"task_seconds": 90.2})
    [run] = cost.usage
    assert run.price == pytest.approx(0.014565 * 91 / 3600)  # rounded up to 91 s, no invoker in the stack


def test_a_lambda_that_may_not_run_the_task_is_priced_on_its_own():
    cost = estimate(task_definition("thumbs"), lambda_function("other"),
                    role_policy("other-role", ["ecs:RunTask"], ["arn:aws:ecs:*:*:task-definition/unrelated:*"]))
    assert {r.resource for r in cost.usage} == {"thumbs", "other"}
    assert [f.resource for f in cost.free] == ["other-role-policy"]


def test_lambda_invocations_at_memory_architecture_and_assumed_duration():
    cost = estimate(lambda_function("x86", memory=512, architecture="x86_64"),
                    lambda_function("arm", memory=1024, architecture="arm64"),
                    usage={"lambda_invocations": {"x86": 3_000_000}, "lambda_duration_ms": {"arm": 50}})
    found = rates(cost)
    x86, arm = found["x86", "lambda_invocations"], found["arm", "lambda_invocations"]
    assert x86.price == pytest.approx(0.20 + 1e6 * 0.5 * 0.2 * 0.0000166667)  # 200 ms default: $1.87 per 1M
    assert x86.monthly == pytest.approx(3 * x86.price)
    assert arm.price == pytest.approx(0.20 + 1e6 * 1 * 0.05 * 0.0000133334)  # $0.87 per 1M
    assert arm.quantity is None and arm.monthly is None


def test_log_groups_are_priced_per_gb_ingested_with_their_retention():
    cost = estimate(resource("aws:cloudwatch/logGroup:LogGroup", "month", retentionInDays=30),
                    resource("aws:cloudwatch/logGroup:LogGroup", "forever"),
                    resource("aws:cloudwatch/logGroup:LogGroup", "cold", retentionInDays=365,
                             logGroupClass="INFREQUENT_ACCESS"), usage={"log_gb": {"month": 10}})
    found = rates(cost)
    assert found["month", "log_gb"].price == pytest.approx(0.50 + 0.03 * 30 / (365 / 12))  # $0.5296
    assert found["month", "log_gb"].monthly == pytest.approx(5.296, abs=1e-3)
    assert found["forever", "log_gb"].price == 0.50 and "storage grows" in found["forever", "log_gb"].item
    assert found["cold", "log_gb"].price == pytest.approx(0.25 + 0.03 * 12)


def test_http_api_requests_and_websocket_apis_not_priced():
    cost = estimate(resource("aws:apigatewayv2/api:Api", "http", protocolType="HTTP"),
                    resource("aws:apigatewayv2/api:Api", "ws", protocolType="WEBSOCKET"),
                    usage={"api_requests": 2_500_000})
    [requests] = cost.usage
    assert (requests.price, requests.unit, requests.monthly) == (1.00, "1M requests", pytest.approx(2.50))
    assert [n.resource for n in cost.not_priced] == ["ws"]


def test_s3_bucket_storage_and_requests():
    cost = estimate(resource("aws:s3/bucket:Bucket", "media"),
                    usage={"s3_storage_gb": 100, "s3_put_requests": 50_000, "s3_get_requests": 1_000_000})
    # 100 GB × $0.023 + 50 × $0.005 + 1000 × $0.0004
    assert cost.usage_monthly == pytest.approx(2.30 + 0.25 + 0.40)


@pytest.mark.parametrize("type_token, key, quantity, monthly", [
    ("aws:sqs/queue:Queue", "sqs_requests", 5_000_000, 2.00),  # 5 × $0.40
    ("aws:sns/topic:Topic", "sns_publishes", 2_000_000, 1.00),  # 2 × $0.50
    ("aws:ecr/repository:Repository", "ecr_storage_gb", 3, 0.30),  # 3 GB × $0.10
    ("gcp:storage/bucket:Bucket", "gcs_storage_gb", 10, 0.20),  # 10 GB × $0.020
])
def test_pure_usage_resources(type_token, key, quantity, monthly):
    cost = estimate(resource(type_token, "r"), usage={key: quantity})
    assert cost.fixed == [] and cost.usage_monthly == pytest.approx(monthly)


def test_secret_and_kms_key_have_a_monthly_fee_and_a_per_request_price():
    cost = estimate(resource("aws:secretsmanager/secret:Secret", "key"), resource("aws:kms/key:Key", "cmk"),
                    usage={"secret_api_calls": 30_000, "kms_requests": 20_000})
    assert fixed(cost) == {"secret": 0.40, "customer managed key": 1.00}
    assert cost.usage_monthly == pytest.approx(3 * 0.05 + 2 * 0.03)


@pytest.mark.parametrize("tier, mau, monthly", [
    (None, 12_000, 30.00),  # essentials: 2,000 above the free 10,000 × $0.015
    ("LITE", 12_000, 11.00),  # 2,000 × $0.0055
    (None, 8_000, 0.0),  # inside the free allowance
])
def test_cognito_monthly_active_users_above_the_free_allowance(tier, mau, monthly):
    inputs = {"userPoolTier": tier} if tier else {}
    cost = estimate(resource("aws:cognito/userPool:UserPool", "pool", **inputs), usage={"cognito_mau": mau})
    assert cost.usage_monthly == pytest.approx(monthly) and cost.fixed == []


def test_alarms_and_target_tracking_policies():
    tracking = {"policyType": "TargetTrackingScaling"}
    cost = estimate(resource("aws:cloudwatch/metricAlarm:MetricAlarm", "alarm", period=60),
                    resource("aws:cloudwatch/metricAlarm:MetricAlarm", "fast", period=10),
                    resource("aws:appautoscaling/policy:Policy", "cpu", **tracking),
                    resource("aws:appautoscaling/policy:Policy", "out-only", **tracking,
                             targetTrackingScalingPolicyConfiguration={"disableScaleIn": True}))
    assert {f.resource: f.monthly for f in cost.fixed} == {"alarm": 0.10, "fast": 0.30, "cpu": pytest.approx(0.20),
                                                           "out-only": pytest.approx(0.10)}


def test_an_anomaly_detection_alarm_is_billed_as_three_alarms():
    metric = {"id": "metric", "metric": {"namespace": "AWS/ECS", "metricName": "CPUUtilization", "period": 300,
                                         "stat": "Average"}}
    band = {"id": "band", "expression": "ANOMALY_DETECTION_BAND(metric, 2)"}
    fast = {"id": "m", "metric": {**metric["metric"], "period": 10}}
    cost = estimate(resource("aws:cloudwatch/metricAlarm:MetricAlarm", "anomaly", metricQueries=[metric, band],
                             thresholdMetricId="band"),
                    resource("aws:cloudwatch/metricAlarm:MetricAlarm", "math", metricQueries=[fast]))
    # the metric and the band's two bounds: 3 x $0.10; a 10-second metric query makes a high-resolution alarm
    assert {f.resource: f.monthly for f in cost.fixed} == {"anomaly": pytest.approx(0.30), "math": 0.30}


def test_gcp_function_invocations_and_minimum_instances():
    function = resource("gcp:cloudfunctionsv2/function:Function", "labels",
                        serviceConfig={"availableMemory": "512Mi", "minInstanceCount": 1, "maxInstanceCount": 3})
    cost = estimate(function, usage={"function_duration_ms": 250, "function_invocations": 2_000_000})
    # 512 MiB gets 0.333 vCPU; 250 ms is billed as 300 ms.
    per_second = 0.333 * 0.000024 + 0.5 * 0.0000025
    [invocations] = cost.usage
    assert invocations.price == pytest.approx(0.40 + 1e6 * 0.3 * per_second)  # $3.17 per 1M
    assert invocations.monthly == pytest.approx(2 * invocations.price)
    # one warm instance at the idle rate: 730 h × 3600 s × (0.333 × $0.0000025 + 0.5 × $0.0000025)
    assert cost.fixed_monthly == pytest.approx(730 * 3600 * 0.8333 * 0.0000025, rel=1e-3)


def test_cloud_vision_units_after_the_free_thousand_and_other_apis_free():
    cost = estimate(resource("gcp:projects/service:Service", "vision", service="vision.googleapis.com"),
                    resource("gcp:projects/service:Service", "run", service="run.googleapis.com"),
                    usage={"vision_units": 5000})
    [vision] = cost.usage
    assert vision.monthly == pytest.approx(6.00)  # (5,000 − 1,000) / 1,000 × $1.50
    assert [f.resource for f in cost.free] == ["run"]


def test_unknown_types_are_not_priced_free_types_are_free_and_components_are_skipped():
    component = PlannedResource(urn="urn:c", type="cloud-patterns:network:Network", name="net", parent=None,
                                inputs={}, custom=False)
    cost = estimate(component, resource("aws:redshift/cluster:Cluster", "db", nodeType="ra3.xlplus"),
                    resource("aws:ec2/vpc:Vpc", "vpc"), resource("aws:iam/role:Role", "role"))
    assert [(n.resource, n.reason) for n in cost.not_priced] == [("db", "no price for this resource type")]
    assert [(f.resource, f.reason) for f in cost.free] == [("vpc", "VPCs are free"), ("role", "IAM is free")]
    assert cost.fixed == [] and cost.usage == []



def test_a_stack_in_another_region_is_priced_with_a_note():
    plan = StackPlan(make_spec("network", short_name="demo", region="eu-west-1"),
                     resources=[resource("aws:ec2/eip:Eip", "ip")])
    cost = estimate_stack(plan, PRICES)
    assert cost.fixed_monthly == pytest.approx(3.65)
    assert cost.notes == ["this stack is in eu-west-1; the AWS prices are those of us-east-1"]


@pytest.mark.parametrize(("expression", "runs"), [
    ("rate(1 day)", 365 / 12), ("rate(6 hours)", 4 * 365 / 12), ("rate(15 minutes)", 96 * 365 / 12),
    ("cron(0 3 * * ? *)", 365 / 12), ("cron(0,30 8-17 * * ? *)", None), ("cron(0 3 ? * MON *)", 365 / 12 / 7),
    ("cron(0 3 1 * ? *)", None), ("at(2030-01-01T00:00:00)", 0)])
def test_schedules_are_priced_per_invocation_from_their_expression(expression, runs):
    from stacks.cost.rules.events import invocations_per_month
    assert invocations_per_month(expression) == (None if runs is None else pytest.approx(runs))
