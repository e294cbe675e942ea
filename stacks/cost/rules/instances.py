"""EC2 instances: the instance hours of their type, their gp3 root volume and a public IPv4 address."""
from __future__ import annotations

from planning.offline import PlannedResource
from stacks.cost.formatting import _rate
from stacks.cost.model import FixedCost, Line, NotPriced, StackContext, rule

ROOT_VOLUME_DEFAULT_GB = 8  # Amazon Linux 2023's image, when the plan does not size the volume


@rule("aws:ec2/instance:Instance")
def _instance(instance: PlannedResource, ctx: StackContext) -> list[Line]:
    p = ctx.prices
    instance_type = str(instance.inputs.get("instanceType", ""))
    rate = f"ec2_{instance_type.replace('.', '_').replace('-', '_')}_hour"
    if rate not in p.rates:
        return [NotPriced(instance.name, instance.type, f"no hourly rate for {instance_type or 'an unknown type'} "
                                                        f"in the price file (add {rate})")]
    lines: list[Line] = [ctx.fixed_hours(instance, f"{instance_type} instance (Linux, on demand)", 1, p[rate],
                                         "instance")]
    root = instance.inputs.get("rootBlockDevice") or {}
    volume_type = root.get("volumeType", "gp3")
    if volume_type != "gp3":
        lines.append(NotPriced(instance.name, instance.type, f"{volume_type} root volumes have no price in the "
                                                             "price file"))
    else:
        size = float(root.get("volumeSize") or ROOT_VOLUME_DEFAULT_GB)
        lines.append(FixedCost(instance.name, instance.type, f"{size:g} GB gp3 root volume",
                               size * p["ebs_gp3_gb_month"], f"{size:g} GB × {_rate(p['ebs_gp3_gb_month'])}/GB-month "
                               "(3,000 IOPS and 125 MB/s included)"))
    if instance.inputs.get("associatePublicIpAddress") is True:
        lines.append(ctx.fixed_hours(instance, "public IPv4 address", 1, p["public_ipv4_hour"], "IP"))
    if instance.inputs.get("monitoring") is True:
        lines.append(FixedCost(instance.name, instance.type, "detailed monitoring (7 metrics a minute)",
                               7 * p["custom_metric_month"], f"7 metrics × {_rate(p['custom_metric_month'])}/metric-month"))
    return lines
