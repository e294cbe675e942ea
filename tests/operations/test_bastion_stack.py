"""The bastion stack under the mock engine: reached through Session Manager only (no inbound rule, IMDSv2, the
minimum instance role, a logged session document that operators must use), its image from AWS's public SSM
parameter, its status-check alarms on the topic, placement by the network, and its config errors."""
from __future__ import annotations

import json

import pytest

from planning.mocks import ProviderMocks, autoname
from planning.mocks.aws_instances import _parameter
from planning.offline import RecordingMonitor
from programs.common import ConfigError
from tests.conftest import run_program

ACCOUNT = "123456789012"
SETTINGS = {"instance_type": "t4g.nano", "root_volume_gb": 10, "session_log_retention_days": 60,
            "max_session_minutes": 45}


@pytest.fixture(scope="module")
def upstreams(network_outputs):
    return {**network_outputs, "test-alerts": run_program("alerts", {"alerts": {"emails": []}}).outputs}


def plan_with(upstreams, settings=None, monitor=None, network=None):
    outputs = upstreams if network is None else {**upstreams, "test-network": network}
    return run_program("bastion", {"bastion": SETTINGS if settings is None else settings}, monitor=monitor,
                       upstream={"network": "test-network", "alerts": "test-alerts"}, upstream_outputs=outputs)


@pytest.fixture(scope="module")
def plan(upstreams):
    return plan_with(upstreams)


def one(plan, type_token, name=None):
    [resource] = [r for r in plan.of_type(type_token) if name is None or r.name == name]
    return resource


def statements(resource) -> dict:
    return {s["Sid"]: s for s in json.loads(resource.inputs["policy"])["Statement"]}


def test_the_instance_is_arm64_with_imdsv2_only_an_encrypted_root_and_the_latest_amazon_linux(plan):
    instance = one(plan, "aws:ec2/instance:Instance").inputs
    assert instance["instanceType"] == "t4g.nano"
    assert instance["metadataOptions"] == {"httpEndpoint": "enabled", "httpTokens": "required",
                                           "httpPutResponseHopLimit": 1}
    assert instance["rootBlockDevice"] == {"encrypted": True, "volumeType": "gp3", "volumeSize": 10,
                                           "deleteOnTermination": True}
    parameter = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64"
    assert instance["ami"] == _parameter(ProviderMocks(), {"name": parameter})["insecureValue"]
    assert "keyName" not in instance and "userData" not in instance  # no SSH key, nothing to leak


def test_an_x86_type_takes_the_x86_image(upstreams):
    instance = one(plan_with(upstreams, {"instance_type": "t3.micro"}), "aws:ec2/instance:Instance").inputs
    assert instance["ami"] == _parameter(ProviderMocks(), {
        "name": "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64"})["insecureValue"]


def test_nothing_may_connect_in_and_only_https_goes_out(plan):
    group = one(plan, "aws:ec2/securityGroup:SecurityGroup")
    assert not plan.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
    assert "ingress" not in group.inputs and "egress" not in group.inputs
    [egress] = plan.of_type("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule")
    assert (egress.inputs["ipProtocol"], egress.inputs["fromPort"], egress.inputs["toPort"],
            egress.inputs["cidrIpv4"]) == ("tcp", 443, 443, "0.0.0.0/0")
    assert egress.inputs["securityGroupId"] == plan.outputs["security_group_id"]
    assert one(plan, "aws:ec2/instance:Instance").inputs["vpcSecurityGroupIds"] == [plan.outputs["security_group_id"]]


def test_ec2_assumes_the_role_without_conditions_and_it_may_only_serve_sessions_and_log_them(plan):
    role = one(plan, "aws:iam/role:Role")
    [trust] = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
    assert trust == {"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"Service": "ec2.amazonaws.com"}}
    group = one(plan, "aws:cloudwatch/logGroup:LogGroup")
    by_sid = statements(one(plan, "aws:iam/rolePolicy:RolePolicy"))
    assert set(by_sid) == {"SessionManagerChannels", "WriteSessionLogs", "FindSessionLogGroup"}
    assert sorted(by_sid["SessionManagerChannels"]["Action"]) == [
        "ssm:UpdateInstanceInformation", "ssmmessages:CreateControlChannel", "ssmmessages:CreateDataChannel",
        "ssmmessages:OpenControlChannel", "ssmmessages:OpenDataChannel"]
    assert by_sid["WriteSessionLogs"]["Resource"] == (
        f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:{autoname(group.name, group.inputs)}:*")
    profile = one(plan, "aws:iam/instanceProfile:InstanceProfile")
    assert profile.inputs["role"] == autoname(role.name, role.inputs)
    assert one(plan, "aws:ec2/instance:Instance").inputs["iamInstanceProfile"] == autoname(profile.name,
                                                                                          profile.inputs)


def test_sessions_stream_to_a_log_group_with_retention(plan):
    group = one(plan, "aws:cloudwatch/logGroup:LogGroup")
    assert group.inputs["retentionInDays"] == 60
    document = one(plan, "aws:ssm/document:Document").inputs
    assert (document["documentType"], document["documentFormat"]) == ("Session", "JSON")
    content = json.loads(document["content"])
    assert content["sessionType"] == "Standard_Stream"
    assert content["inputs"]["cloudWatchLogGroupName"] == plan.outputs["session_log_group"]
    assert content["inputs"]["cloudWatchStreamingEnabled"] is True and content["inputs"]["runAsEnabled"] is False
    assert (content["inputs"]["maxSessionDuration"], content["inputs"]["idleSessionTimeout"]) == ("45", "20")


def test_operators_may_start_sessions_on_this_instance_through_the_logged_document_only(plan):
    by_sid = statements(one(plan, "aws:iam/policy:Policy"))
    instance = plan.outputs["instance_id"]
    assert by_sid["LoggedSessions"]["Action"] == "ssm:StartSession"
    assert by_sid["LoggedSessions"]["Resource"] == [
        f"arn:aws:ec2:us-east-1:{ACCOUNT}:instance/{instance}",
        f"arn:aws:ssm:us-east-1:{ACCOUNT}:document/{plan.outputs['session_document']}"]
    assert by_sid["LoggedSessions"]["Condition"] == {"BoolIfExists": {"ssm:SessionDocumentAccessCheck": "true"}}
    assert by_sid["OwnSessions"]["Resource"] == f"arn:aws:ssm:us-east-1:{ACCOUNT}:session/${{aws:username}}-*"
    assert plan.outputs["connect"] == (f"aws ssm start-session --target {instance} --document-name "
                                       f"{plan.outputs['session_document']}")


def test_its_status_checks_recover_reboot_and_notify_the_topic(plan, upstreams):
    topic = upstreams["test-alerts"]["topic_arn"]
    actions = {a.inputs["metricName"]: a.inputs["alarmActions"]
               for a in plan.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")}
    assert actions == {"StatusCheckFailed_System": [topic, "arn:aws:automate:us-east-1:ec2:recover"],
                       "StatusCheckFailed_Instance": [topic, "arn:aws:automate:us-east-1:ec2:reboot"],
                       "StatusCheckFailed_AttachedEBS": [topic]}
    for alarm in plan.of_type("aws:cloudwatch/metricAlarm:MetricAlarm"):
        assert alarm.inputs["dimensions"] == {"InstanceId": plan.outputs["instance_id"]}
    widgets = plan.outputs["dashboard_widgets"]
    assert widgets[0]["type"] == "alarm" and len(widgets[0]["properties"]["alarms"]) == 3


@pytest.mark.parametrize(("nat_strategy", "tier", "public_ip"), [("none", "public", True),
                                                                 ("single", "private", False)])
def test_it_runs_where_the_network_runs_tasks(upstreams, nat_strategy, tier, public_ip):
    network = run_program("network", {"network": {"nat_strategy": nat_strategy}}).outputs
    instance = one(plan_with(upstreams, network=network), "aws:ec2/instance:Instance").inputs
    assert instance["subnetId"] == network[f"{tier}_subnet_ids"][0]
    assert instance["associatePublicIpAddress"] is public_ip


@pytest.mark.parametrize(("settings", "key", "allowed"), [
    ({"instance_type": "i3.large"}, "instance_type", "i3 family"),
    ({"instance_type": "m6g.metal"}, "instance_type", "metal instances"),
    ({"instance_type": "t4g.nano", "status_check_period_seconds": 45}, "status_check_period_seconds", "multiple of 60"),
    ({"max_session_minutes": 10}, "max_session_minutes", "idle timeout"),
    ({"session_log_retention_days": 10}, "session_log_retention_days", "CloudWatch Logs accepts"),
])
def test_invalid_settings_are_refused_before_any_resource(upstreams, settings, key, allowed):
    monitor = RecordingMonitor(ProviderMocks())
    with pytest.raises(ConfigError) as error:
        plan_with(upstreams, settings, monitor=monitor)
    assert f"cloud-patterns:bastion.{key}:" in str(error.value) and allowed in str(error.value)
    assert [r for r in monitor.recorded if r.custom and r.type != "pulumi:pulumi:StackReference"] == []


def test_recovery_may_be_turned_off_for_a_type_ec2_cannot_recover(upstreams):
    plan = plan_with(upstreams, {"instance_type": "i3.large", "recover_on_system_failure": False})
    system = one(plan, "aws:cloudwatch/metricAlarm:MetricAlarm", "test-bastion-system-check").inputs
    assert system["alarmActions"] == [upstreams["test-alerts"]["topic_arn"]]
