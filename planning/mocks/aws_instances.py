"""Mock shapes: EC2 instances, SSM documents; SSM parameters (AWS's public AMI parameters)."""
from __future__ import annotations

from planning.mocks import ACCOUNT_ID, ProviderMocks, autoname, call, digest, shape

AMI_PARAMETERS = "/aws/service/ami-amazon-linux-latest/"


@shape("aws:ec2/instance:Instance")
def _instance(m: ProviderMocks, name: str, inputs: dict) -> tuple[str, dict]:
    instance_id = f"i-{digest('instance', name)}"
    octets = [int(digest(name, str(i), length=2), 16) for i in range(2)]
    public = inputs.get("associatePublicIpAddress") is True
    return instance_id, {
        "arn": m.arn("ec2", f"instance/{instance_id}"), "instanceState": "running",
        "privateIp": f"10.0.{octets[0]}.{octets[1] % 250 + 4}",
        "privateDns": f"ip-10-0-{octets[0]}-{octets[1] % 250 + 4}.ec2.internal",
        "publicIp": f"3.{octets[0]}.{octets[1]}.{len(name) % 250 + 1}" if public else "",
        "primaryNetworkInterfaceId": f"eni-{digest('eni', name)}",
        "availabilityZone": f"{m.region}a", "tenancy": "default"}


@shape("aws:ssm/document:Document")
def _document(m: ProviderMocks, name: str, inputs: dict) -> tuple[str, dict]:
    document = autoname(name, inputs)
    return document, {"name": document, "arn": m.arn("ssm", f"document/{document}"), "status": "Active",
                      "documentVersion": "1", "latestVersion": "1", "defaultVersion": "1", "owner": ACCOUNT_ID,
                      "schemaVersion": "1.0"}


@call("aws:ssm/getParameter:getParameter")
def _parameter(m: ProviderMocks, args: dict) -> dict:
    name = str(args.get("name"))
    if not name.startswith(AMI_PARAMETERS):
        raise NotImplementedError(f"no offline value for the SSM parameter {name!r} (only AWS's public AMI ids)")
    ami = f"ami-{digest(m.region, name)}"
    return {"name": name, "value": ami, "insecureValue": ami, "type": "String", "version": 1, "id": name,
            "arn": f"arn:aws:ssm:{m.region}::parameter{name}", "withDecryption": True}
