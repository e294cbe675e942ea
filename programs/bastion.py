"""Stack ``<env>-bastion``: a small instance in the VPC, reached through SSM Session Manager only, with its status
checks alarming (and recovering or rebooting it) on the environment's topic.

Reads ``network`` (where it runs, as the network decided for tasks: private subnets behind NAT in prod, public
subnets with a public IP in dev, which has no NAT) and ``alerts`` (the topic). Connect with the ``connect`` output.
"""
import pulumi

from components.bastion import Bastion, BastionArgs
from components.dashboard import OUTPUT, widgets
from programs.common import Section, environment, task_placement, upstream

BASTION = Section("bastion", BastionArgs)


def main() -> None:
    network, alerts = upstream("network"), upstream("alerts")
    placement = task_placement(network)
    bastion = Bastion(f"{environment()}-bastion", BASTION.load(
        vpc_id=network.require_output("vpc_id"), subnet_ids=placement.subnet_ids,
        assign_public_ip=placement.assign_public_ip, alarm_topic_arn=alerts.require_output("topic_arn")))
    pulumi.export("instance_id", bastion.instance.id)
    pulumi.export("security_group_id", bastion.security_group.id)
    pulumi.export("session_document", bastion.session_document.name)
    pulumi.export("session_log_group", bastion.session_logs.name)
    pulumi.export("operator_policy_arn", bastion.operator_policy.arn)
    pulumi.export("connect", pulumi.Output.concat("aws ssm start-session --target ", bastion.instance.id,
                                                  " --document-name ", bastion.session_document.name))
    pulumi.export(OUTPUT, widgets(bastion.alarms))
