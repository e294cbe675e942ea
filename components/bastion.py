"""Bastion: one small instance inside the VPC, reached only through SSM Session Manager, watched by its status checks.

No inbound rule, no SSH key, no open port: the SSM agent dials out (HTTPS) to Systems Manager, which brokers the
sessions an operator starts with ``aws ssm start-session``. Its role may do what Session Manager needs of an
instance and nothing else (register, open the session channels, write the session log); EC2 assumes it without
a source condition, since EC2 sends none (``components/iam.py``). IMDSv2 only, hop limit 1 (a container on it could
not reach the instance's credentials); the root volume encrypted.

Sessions run with this stack's session document, which streams every session's input and output to a log group
with retention; the operator policy (attach it to whoever may connect) allows sessions to this instance only with
that document (``ssm:SessionDocumentAccessCheck``), so no one it admits can start an unlogged shell.

The image is the latest Amazon Linux 2023 for the type's architecture, read from AWS's public SSM parameter: a
new release replaces the (stateless) instance at the next deployment, which is how it is patched.
"""
from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Optional

import pulumi
import pulumi_aws as aws

from components import iam
from components.args import InvalidArgument, Retention, Text, Whole, setting, wiring
from components.instance_health import StatusChecks, status_check_alarms
from components.logs import log_group
from service_limits import EC2_INSTANCE_TYPE

AMI_PARAMETER = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-{architecture}"
GRAVITON = re.compile(r"a1|[a-z]+\d+[a-z]*g[a-z]*")
"""Families on AWS Graviton (arm64): a1, and those whose attribute letters after the generation hold a g."""
IDLE_TIMEOUT_MINUTES = 20


def architecture(instance_type: str) -> str:
    return "arm64" if GRAVITON.fullmatch(instance_type.split(".")[0]) else "x86_64"


@dataclass(frozen=True, kw_only=True)
class BastionArgs(StatusChecks):
    vpc_id: pulumi.Input[str] = wiring("The VPC (from the network stack).")
    subnet_ids: pulumi.Input[Sequence[str]] = wiring("Subnets it may run in (the first is used): the network's task "
                                                     "subnets, private where the network has NAT.")
    assign_public_ip: pulumi.Input[bool] = wiring("A public IP, where the subnets have no NAT (dev): the agent must "
                                                  "reach Systems Manager; no inbound rule admits anything either way.")
    alarm_topic_arn: Optional[pulumi.Input[str]] = wiring("The environment's alarm topic: the status-check alarms; "
                                                          "None: no alarms.", default=None)
    instance_type: str = setting("t4g.nano", Text(EC2_INSTANCE_TYPE, "an EC2 instance type such as t4g.nano"),
                                 "The instance type (arm64 Graviton types take the arm64 image).")
    root_volume_gb: int = setting(8, Whole(8, 64, "GiB"), "Size of the encrypted gp3 root volume.")
    session_log_retention_days: int = setting(90, Retention(), "How long the session logs are kept.")
    max_session_minutes: int = setting(60, Whole(1, 1440, "minutes"), "A session ends after this long.")

    def check(self) -> None:
        super().check()
        self.check_instance_type(self.instance_type)
        if self.max_session_minutes < IDLE_TIMEOUT_MINUTES:
            raise InvalidArgument("max_session_minutes", self.max_session_minutes,
                                  f"at least {IDLE_TIMEOUT_MINUTES} (the idle timeout of a session)")


class Bastion(pulumi.ComponentResource):
    security_group: aws.ec2.SecurityGroup
    role: aws.iam.Role
    instance: aws.ec2.Instance
    session_logs: aws.cloudwatch.LogGroup
    session_document: aws.ssm.Document
    operator_policy: aws.iam.Policy
    alarms: list[aws.cloudwatch.MetricAlarm]

    def __init__(self, name: str, args: BastionArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("cloud-patterns:operations:Bastion", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.security_group = aws.ec2.SecurityGroup(
            f"{name}-instance", vpc_id=args.vpc_id, description="Bastion: no inbound; HTTPS out (Systems Manager)",
            opts=child)
        aws.vpc.SecurityGroupEgressRule(
            f"{name}-https", security_group_id=self.security_group.id, ip_protocol="tcp", from_port=443, to_port=443,
            cidr_ipv4="0.0.0.0/0", description="Systems Manager, CloudWatch Logs, package repositories",
            opts=pulumi.ResourceOptions(parent=self.security_group))
        self.session_logs = log_group(f"{name}-session-logs", args.session_log_retention_days, self)
        self.session_document = self._session_document(name, args)
        self.role = iam.service_role(f"{name}-instance", "ec2.amazonaws.com", self._instance_policy(),
                                     self, "Bastion: Session Manager's instance permissions and its session log")
        profile = aws.iam.InstanceProfile(f"{name}-instance", role=self.role.name, opts=child)
        image = aws.ssm.get_parameter_output(name=AMI_PARAMETER.format(architecture=architecture(args.instance_type)),
                                             opts=pulumi.InvokeOutputOptions(parent=self))
        self.instance = aws.ec2.Instance(
            name, ami=image.insecure_value, instance_type=args.instance_type, iam_instance_profile=profile.name,
            subnet_id=pulumi.Output.from_input(args.subnet_ids).apply(lambda ids: ids[0]),
            vpc_security_group_ids=[self.security_group.id], associate_public_ip_address=args.assign_public_ip,
            metadata_options=aws.ec2.InstanceMetadataOptionsArgs(
                http_endpoint="enabled", http_tokens="required", http_put_response_hop_limit=1),
            root_block_device=aws.ec2.InstanceRootBlockDeviceArgs(
                encrypted=True, volume_type="gp3", volume_size=args.root_volume_gb, delete_on_termination=True),
            ebs_optimized=True, tags={"Name": name},
            opts=pulumi.ResourceOptions(parent=self, depends_on=[*self.role.permissions]))
        self.operator_policy = self._operator_policy(name)
        self.alarms = [] if args.alarm_topic_arn is None else status_check_alarms(
            name, self, args.alarm_topic_arn, self.instance.id, args.instance_type, args)
        self.register_outputs({"instance_id": self.instance.id, "session_document": self.session_document.name,
                               "operator_policy_arn": self.operator_policy.arn})

    def _session_document(self, name: str, args: BastionArgs) -> aws.ssm.Document:
        """Session preferences: every session's stream to the log group (at rest CloudWatch Logs encrypts it with
        its own key; ``cloudWatchEncryptionEnabled`` would demand a KMS key on the group), no run-as, no S3."""
        content = self.session_logs.name.apply(lambda group: json.dumps({
            "schemaVersion": "1.0", "description": f"{name}: sessions logged to {group}",
            "sessionType": "Standard_Stream",
            "inputs": {"cloudWatchLogGroupName": group, "cloudWatchEncryptionEnabled": False,
                       "cloudWatchStreamingEnabled": True, "s3BucketName": "", "s3EncryptionEnabled": False,
                       "idleSessionTimeout": str(IDLE_TIMEOUT_MINUTES),
                       "maxSessionDuration": str(args.max_session_minutes), "runAsEnabled": False,
                       "runAsDefaultUser": "", "shellProfile": {"linux": "", "windows": ""}}}, sort_keys=True))
        return aws.ssm.Document(f"{name}-sessions", document_type="Session", document_format="JSON",
                                content=content, opts=pulumi.ResourceOptions(parent=self))

    def _instance_policy(self) -> pulumi.Output[str]:
        """Session Manager's documented minimum for an instance (the session channels take no resource), and the
        session log: streams of its own group only."""
        streams = pulumi.Output.concat(self.session_logs.arn, ":*")
        return iam.policy_document([
            iam.statement(["ssm:UpdateInstanceInformation", "ssmmessages:CreateControlChannel",
                           "ssmmessages:CreateDataChannel", "ssmmessages:OpenControlChannel",
                           "ssmmessages:OpenDataChannel"], ["*"], sid="SessionManagerChannels"),
            iam.statement(["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"], [streams],
                          sid="WriteSessionLogs"),
            iam.statement(["logs:DescribeLogGroups"], ["*"], sid="FindSessionLogGroup"),
        ], self)

    def _operator_policy(self, name: str) -> aws.iam.Policy:
        """Sessions on this instance through this stack's document only, and ending one's own (an IAM user's session
        ids begin with the user name; a role's session ends when its shell exits)."""
        own_sessions = [iam.arn_of("ssm", "session/${aws:username}-*", self)]
        document = iam.policy_document([
            iam.statement(["ssm:StartSession"], [self.instance.arn, self.session_document.arn], sid="LoggedSessions",
                          conditions=[iam.condition("BoolIfExists", "ssm:SessionDocumentAccessCheck", "true")]),
            iam.statement(["ssm:TerminateSession", "ssm:ResumeSession"], own_sessions, sid="OwnSessions"),
        ], self)
        return aws.iam.Policy(f"{name}-operator", description=f"Start logged Session Manager sessions on {name}",
                              policy=document, opts=pulumi.ResourceOptions(parent=self))
