"""The cost of the private backend: RDS by class, storage and Multi-AZ; the internal NLB per hour and NLCU; every
resource of a PrivateService priced or free for a stated reason."""
from __future__ import annotations

import pytest

from stacks.cost import Usage, estimate_stack, load_prices
from tests.cost.test_cost_rules import estimate, fixed, resource

PRICES = load_prices()


def test_a_single_az_micro_database_with_20_gb():
    cost = estimate(resource("aws:rds/instance:Instance", "db", engine="postgres", instanceClass="db.t4g.micro",
                             storageType="gp3", allocatedStorage=20, multiAz=False))
    assert fixed(cost) == {"postgres db.t4g.micro, single-AZ": pytest.approx(730 * 0.016),
                           "gp3 storage, single-AZ": pytest.approx(20 * 0.115)}


def test_multi_az_doubles_the_instance_and_the_storage():
    cost = estimate(resource("aws:rds/instance:Instance", "db", engine="postgres", instanceClass="db.t4g.medium",
                             storageType="gp3", allocatedStorage=50, multiAz=True))
    assert cost.fixed_monthly == pytest.approx(2 * 730 * 0.065 + 2 * 50 * 0.115)


def test_an_unknown_class_or_storage_type_is_said_not_priced():
    cost = estimate(resource("aws:rds/instance:Instance", "big", engine="postgres", instanceClass="db.r8g.48xlarge",
                             storageType="gp3", allocatedStorage=20),
                    resource("aws:rds/instance:Instance", "old", engine="postgres", instanceClass="db.t4g.micro",
                             storageType="io1", allocatedStorage=100))
    assert [n.resource for n in cost.not_priced] == ["big", "old"] and cost.fixed_monthly == 0


def test_every_resource_of_a_private_service_is_priced_or_free(plan, prod_plan):
    for planned in (plan, prod_plan):
        cost = estimate_stack(planned, PRICES, Usage(stacks={}))
        assert cost.not_priced == []
    dev = estimate_stack(plan, PRICES, Usage(stacks={}))
    items = fixed(dev)
    assert items["postgres db.t4g.micro, single-AZ"] == pytest.approx(11.68)
    assert items["Network Load Balancer"] == pytest.approx(16.425)
