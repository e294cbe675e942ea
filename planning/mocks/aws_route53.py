"""Mock shapes: Route 53 records (global: their id is the provider's ``<zone>_<name>_<type>``)."""
from __future__ import annotations

from planning.mocks import ProviderMocks, shape


@shape("aws:route53/record:Record")
def _record(m: ProviderMocks, name: str, inputs: dict) -> tuple[str, dict]:
    record = str(inputs.get("name", name)).rstrip(".")
    return f"{inputs.get('zoneId')}_{record}_{inputs.get('type')}", {"fqdn": record}
