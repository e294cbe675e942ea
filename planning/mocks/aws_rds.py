"""Mock shapes: RDS instances (endpoint, resource id, the RDS-managed master secret), subnet and parameter groups."""
from __future__ import annotations

from planning.mocks import ProviderMocks, autoname, digest, shape


@shape("aws:rds/instance:Instance")
def _instance(m: ProviderMocks, name: str, inputs: dict) -> tuple[str, dict]:
    identifier = inputs.get("identifier") or autoname(name, inputs, "identifier")
    address = f"{identifier}.c{digest('rds-host', m.region, length=11)}.{m.region}.rds.amazonaws.com"
    port = int(inputs.get("port") or 5432)
    resource_id = "db-" + digest("rds-resource", name, length=26).upper()
    extra = {"identifier": identifier, "address": address, "endpoint": f"{address}:{port}", "port": port,
             "resourceId": resource_id, "arn": m.arn("rds", f"db:{identifier}"), "hostedZoneId": "Z2R2ITUGPM61AM"}
    if inputs.get("manageMasterUserPassword"):
        secret = m.arn("secretsmanager", f"secret:rds!db-{digest('rds-secret', name, length=36)}-"
                                         f"{digest('rds-secret-suffix', name, length=6)}")
        extra["masterUserSecrets"] = [{"secretArn": secret, "secretStatus": "active",
                                       "kmsKeyId": m.arn("kms", "alias/aws/secretsmanager")}]
    return identifier, extra


@shape("aws:rds/subnetGroup:SubnetGroup", "aws:rds/parameterGroup:ParameterGroup")
def _group(m: ProviderMocks, name: str, inputs: dict) -> tuple[str, dict]:
    group = inputs.get("name") or f"{name}-{digest('rds-group', name, length=7)}"
    kind = "subgrp" if "subnetIds" in inputs else "pg"
    return group, {"name": group, "arn": m.arn("rds", f"{kind}:{group}")}
