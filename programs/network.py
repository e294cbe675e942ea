"""Stack ``<env>-network``: the VPC that every service stack of the environment reads."""
import pulumi

from components.network import Network, NetworkArgs
from programs.common import environment, load_args


def main() -> None:
    network = Network(f"{environment()}", load_args("network", NetworkArgs))
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
