"""Stack ``<env>-network``: the VPC that every service stack of the environment reads.

Its outputs are decisions, not raw inputs: where tasks run (``task_subnet_ids``, ``task_assign_public_ip``)
and on which port the app security group admits them (``app_port``), so no service stack re-derives them.
"""
import pulumi

from components.network import Network, NetworkArgs
from programs.common import Section, environment

NETWORK = Section("network", NetworkArgs)


def main() -> None:
    network = Network(f"{environment()}", NETWORK.load())
    pulumi.export("vpc_id", network.vpc.id)
    pulumi.export("vpc_cidr", network.vpc.cidr_block)
    pulumi.export("availability_zones", network.availability_zones)
    for tier in ("public", "private", "isolated"):
        pulumi.export(f"{tier}_subnet_ids", network.subnet_ids(tier))
    pulumi.export("load_balancer_security_group_id", network.load_balancer_security_group.id)
    pulumi.export("app_security_group_id", network.app_security_group.id)
    pulumi.export("data_security_group_id", network.data_security_group.id)
    pulumi.export("nat_strategy", network.args.nat_strategy)
    pulumi.export("app_port", network.args.app_port)
    pulumi.export("data_port", network.args.data_port)
    pulumi.export("task_subnet_ids", network.subnet_ids(network.args.task_subnet_tier))
    pulumi.export("task_assign_public_ip", network.args.task_subnet_tier == "public")
