"""Mock shapes: AWS Cloud Map (service discovery) private DNS namespaces and services.

Namespace ids are ``ns-`` and 16 lowercase characters, service ids ``srv-`` and the same; a private DNS
namespace's hosted zone is a Route 53 zone id (``Z`` and 13 to 21 characters)."""
from __future__ import annotations

from planning.mocks import ProviderMocks, digest, shape


def _cloud_map_id(prefix: str, *parts: str) -> str:
    return f"{prefix}-{digest(*parts, length=16)}"


@shape("aws:servicediscovery/privateDnsNamespace:PrivateDnsNamespace")
def _private_dns_namespace(m: ProviderMocks, name: str, inputs: dict) -> tuple[str, dict]:
    namespace_id = _cloud_map_id("ns", "namespace", name)
    return namespace_id, {"arn": m.arn("servicediscovery", f"namespace/{namespace_id}"),
                          "hostedZone": f"Z{digest('zone', name, length=20).upper()}"}


@shape("aws:servicediscovery/service:Service")
def _service(m: ProviderMocks, name: str, inputs: dict) -> tuple[str, dict]:
    service_id = _cloud_map_id("srv", "service", name)
    return service_id, {"arn": m.arn("servicediscovery", f"service/{service_id}"), "name": inputs.get("name", name)}
