"""The operations resources against hand-computed prices: a dashboard and the custom (EMF) metrics it names, the
bastion's instance, root volume and public address, its alarms; the real dev and prod stacks priced in full."""
from __future__ import annotations

import json

import pytest

from stacks.cost import estimate_environment
from tests.conftest import planned
from tests.cost.test_cost_rules import estimate, fixed, rates, resource

SIDECAR = ["awsjwtauth", "info.auth_user", "service", "dev-auth-sidecar", {"label": "allowed"}]
SEARCH = {"expression": "SEARCH('{awsjwtauth,reason,service} MetricName=\"error\" service=\"x\"', 'Sum', 60)",
          "id": "refused"}


def dashboard(*metrics) -> dict:
    return {"widgets": [{"type": "metric", "properties": {"metrics": list(metrics)}},
                        {"type": "text", "properties": {"markdown": "## x"}}]}


def test_a_dashboard_and_the_custom_metrics_it_names():
    body = dashboard(SIDECAR, [*SIDECAR[:4], {"stat": "p99"}], ["awsjwtauth", "restart", "service", "x"],
                     ["AWS/Lambda", "Errors", "FunctionName", "f"], [SEARCH])
    cost = estimate(resource("aws:cloudwatch/dashboard:Dashboard", "board", dashboardBody=json.dumps(body)),
                    usage={"custom_metrics": 4})
    # $3.00 a dashboard; 2 distinct awsjwtauth metrics (the same metric twice counts once) × $0.30; AWS/ is free
    assert fixed(cost) == {"dashboard": 3.00, "2 custom metrics shown (awsjwtauth)": pytest.approx(0.60)}
    search = rates(cost)[("board", "custom_metrics")]
    assert (search.price, search.monthly) == (0.30, pytest.approx(1.20))  # 4 reasons found × $0.30


def test_a_dashboard_of_aws_metrics_only_costs_the_dashboard():
    body = dashboard(["AWS/EC2", "CPUUtilization", "InstanceId", "i-1"])
    cost = estimate(resource("aws:cloudwatch/dashboard:Dashboard", "board", dashboardBody=json.dumps(body)))
    assert fixed(cost) == {"dashboard": 3.00} and cost.usage == []


def test_an_instance_its_root_volume_and_public_address():
    cost = estimate(resource("aws:ec2/instance:Instance", "bastion", instanceType="t4g.nano",
                             rootBlockDevice={"volumeType": "gp3", "volumeSize": 10}, associatePublicIpAddress=True))
    assert fixed(cost) == {"t4g.nano instance (Linux, on demand)": pytest.approx(3.066),  # 730 h × $0.0042
                           "10 GB gp3 root volume": pytest.approx(0.80),  # 10 GB × $0.08
                           "public IPv4 address": pytest.approx(3.65)}  # 730 h × $0.005


def test_a_private_instance_with_detailed_monitoring_and_an_unknown_type():
    cost = estimate(resource("aws:ec2/instance:Instance", "private", instanceType="t4g.micro", monitoring=True),
                    resource("aws:ec2/instance:Instance", "big", instanceType="x2iedn.32xlarge"))
    assert fixed(cost) == {"t4g.micro instance (Linux, on demand)": pytest.approx(6.132),  # 730 h × $0.0084
                           "8 GB gp3 root volume": pytest.approx(0.64),  # the image's 8 GB
                           "detailed monitoring (7 metrics a minute)": pytest.approx(2.10)}  # 7 × $0.30
    [unknown] = cost.not_priced
    assert unknown.resource == "big" and "ec2_x2iedn_32xlarge_hour" in unknown.reason


@pytest.mark.parametrize("environment", ["dev", "prod"])
def test_the_bastion_and_dashboard_stacks_are_priced_in_full(environment):
    plans = [p for p in planned(environment) if p.spec.short_name in ("bastion", "dashboard")]
    bastion, board = estimate_environment(plans).stacks
    assert not bastion.not_priced and not board.not_priced
    items = {line.item for line in bastion.fixed}
    assert "t4g.nano instance (Linux, on demand)" in items and "metric alarm" in items
    assert ("public IPv4 address" in items) is (environment == "dev")  # prod's bastion is private behind NAT
    assert sum(line.monthly for line in bastion.fixed if line.item == "metric alarm") == pytest.approx(0.30)
    assert {line.item for line in board.fixed} == {"dashboard", "9 custom metrics shown (CloudPatterns/Blockchain, awsjwtauth)"}
