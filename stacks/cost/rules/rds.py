"""RDS instances: the instance class per hour and gp3 storage per GB-month, both doubled by Multi-AZ (a standby
of the same size); automated backups up to the provisioned storage are free, which is what one day to a week of
a small database's backups take."""
from __future__ import annotations

from planning.offline import PlannedResource
from stacks.cost.formatting import _rate
from stacks.cost.model import FixedCost, Line, NotPriced, StackContext, rule


@rule("aws:rds/instance:Instance")
def _rds_instance(db: PlannedResource, ctx: StackContext) -> list[Line]:
    engine, size = db.inputs.get("engine"), str(db.inputs.get("instanceClass", ""))
    key = f"rds_{engine}_{size.replace('.', '_')}_hour"
    if key not in ctx.prices.rates:
        return [NotPriced(db.name, db.type, f"{engine} on {size} has no price in the price file")]
    if db.inputs.get("storageType", "gp2") != "gp3":
        return [NotPriced(db.name, db.type, f"{db.inputs.get('storageType')} storage has no price in the price file")]
    copies = 2 if db.inputs.get("multiAz") else 1
    where = "Multi-AZ (primary and standby)" if copies == 2 else "single-AZ"
    storage = float(db.inputs.get("allocatedStorage") or 0)
    rate = ctx.prices["rds_gp3_gb_month"]
    return [ctx.fixed_hours(db, f"{engine} {size}, {where}", copies, ctx.prices[key], "instance"),
            FixedCost(db.name, db.type, f"gp3 storage, {where}", copies * storage * rate,
                      f"{copies} × {storage:g} GB × {_rate(rate)}/GB-month (backups up to this size are free)")]
