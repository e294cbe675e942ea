"""The RDS policy rules: each fails the instance it was written against and passes the component's."""
from __future__ import annotations

import pytest

from policies.rules.rds import rds_backups, rds_managed_credentials, rds_private_encrypted

GOOD = {"storageEncrypted": True, "publiclyAccessible": False, "iamDatabaseAuthenticationEnabled": True,
        "manageMasterUserPassword": True, "backupRetentionPeriod": 7}


@pytest.mark.parametrize(("check", "change", "message"), [
    (rds_private_encrypted, {"storageEncrypted": False}, "not encrypted"),
    (rds_private_encrypted, {"publiclyAccessible": True}, "publicly accessible"),
    (rds_managed_credentials, {"iamDatabaseAuthenticationEnabled": False}, "IAM database authentication is off"),
    (rds_managed_credentials, {"manageMasterUserPassword": False, "password": "[secret]"}, "set by hand"),
    (rds_backups, {"backupRetentionPeriod": 0}, "no point-in-time recovery"),
])
def test_each_rule_fails_its_mistake(check, change, message):
    [finding] = list(check("aws:rds/instance:Instance", {**GOOD, **change}))
    assert message in finding


def test_the_rules_pass_the_component_s_instance(plan):
    [db] = plan.of_type("aws:rds/instance:Instance")
    for check in (rds_private_encrypted, rds_managed_credentials, rds_backups):
        assert list(check(db.type, db.inputs)) == []
