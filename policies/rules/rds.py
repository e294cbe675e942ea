"""RDS: a database instance is encrypted, never publicly accessible, signs in with IAM, keeps automated backups
and lets RDS manage its master password (no password in config, the plan or the state)."""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from policies.rules.core import _true, known, resource_rule

RDS_INSTANCE = "aws:rds/instance:Instance"


@resource_rule("rds-private-encrypted", "RDS instances are encrypted and not publicly accessible", RDS_INSTANCE)
def rds_private_encrypted(type_: str, props: Mapping[str, Any]) -> Iterable[str]:
    if known(props.get("storageEncrypted")) and not _true(props.get("storageEncrypted")):
        yield "storage is not encrypted"
    if known(props.get("publiclyAccessible")) and _true(props.get("publiclyAccessible")):
        yield "it is publicly accessible"


@resource_rule("rds-managed-credentials", "RDS instances use IAM authentication and an RDS-managed master password",
               RDS_INSTANCE)
def rds_managed_credentials(type_: str, props: Mapping[str, Any]) -> Iterable[str]:
    if known(props.get("iamDatabaseAuthenticationEnabled")) and not _true(props.get("iamDatabaseAuthenticationEnabled")):
        yield "IAM database authentication is off"
    if "password" in props or (known(props.get("manageMasterUserPassword"))
                               and not _true(props.get("manageMasterUserPassword"))):
        yield "the master password is set by hand instead of managed by RDS in Secrets Manager"


@resource_rule("rds-backups", "RDS instances keep automated backups", RDS_INSTANCE)
def rds_backups(type_: str, props: Mapping[str, Any]) -> Iterable[str]:
    days = props.get("backupRetentionPeriod", 1)  # the API's default
    if known(days) and not (isinstance(days, int) and days >= 1):
        yield f"backup retention is {days!r} days: no point-in-time recovery"
