"""Mock invokes: the Elastic Load Balancing account of a region (it writes ALB access logs in older regions)."""
from __future__ import annotations

from planning.mocks import ProviderMocks, call

# The provider's table (data source aws_elb_service_account) for the regions the stacks may use.
ELB_ACCOUNTS = {"us-east-1": "127311923021", "us-east-2": "033677994240", "us-west-1": "027434742980",
                "us-west-2": "797873946194", "eu-west-1": "156460612806", "eu-west-2": "652711504416",
                "eu-central-1": "054676820928", "ap-northeast-1": "582318560864",
                "ap-southeast-1": "114774131450", "ap-southeast-2": "783225319266"}


@call("aws:elb/getServiceAccount:getServiceAccount")
def _service_account(m: ProviderMocks, args: dict) -> dict:
    region = args.get("region") or m.region
    if region not in ELB_ACCOUNTS:
        raise KeyError(f"no Elastic Load Balancing account known offline for region {region!r}")
    account = ELB_ACCOUNTS[region]
    return {"id": account, "arn": f"arn:aws:iam::{account}:root", "region": region}
