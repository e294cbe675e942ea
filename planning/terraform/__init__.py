"""The offline plan of an environment as one Terraform plan document (``terraform show -json``), for Checkov.

pulumi-aws and pulumi-gcp are bridged from the Terraform providers, so each resource the programs register has a
Terraform type (``types.yaml``) and each input a Terraform attribute. The document holds what a Terraform plan of
a new environment would: every resource to ``create`` with its known values; attributes whose value is another
resource's id, ARN or name are unknown until apply, so they are left out of the values (``after_unknown``) and
the configuration names the resources they refer to (``references``), which is how Checkov's graph connects a
bucket to its public-access block or a VPC to its flow log. The ids, ARNs and names are those the provider mocks
gave each resource while planning (the mocks are pure functions of type, name and inputs, so they are recomputed
here), across stacks too: the environment is one document.

A type without a Terraform counterpart (``none`` in ``types.yaml``), or missing from the table, is reported in
``unmapped`` and in the document's ``pulumi`` section, never dropped silently.
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pulumi.runtime import MockResourceArgs

from planning.mocks import digest
from planning.offline import StackPlan, stack_mocks
from planning.terraform import sdk

TYPES_FILE = Path(__file__).with_name("types.yaml")
FORMAT_VERSION = "1.2"
TERRAFORM_VERSION = "1.9.8"
"""The plan format version Terraform 1.9 writes (Checkov reads every version since 0.12)."""
PROVIDERS = {"aws": ("aws", "registry.terraform.io/hashicorp/aws"),
             "gcp": ("google", "registry.terraform.io/hashicorp/google")}
_NAME = re.compile(r"[^A-Za-z0-9_]")
_ASSET_KINDS = {"FileArchive", "FileAsset", "AssetArchive", "StringAsset", "RemoteArchive", "RemoteAsset"}


@dataclass(frozen=True)
class TypeMapping:
    terraform: str
    renames: dict[str, str]
    """Pulumi path (dots into nested blocks) -> Terraform name, where it is not the SDK's snake_case name."""
    checked: bool = True
    """False: Checkov has no check for the Terraform type."""


@dataclass(frozen=True)
class Unmapped:
    urn: str
    stack: str
    type: str
    reason: str

    def to_json(self) -> dict:
        return {"urn": self.urn, "stack": self.stack, "type": self.type, "reason": self.reason}


@dataclass(frozen=True)
class Exported:
    address: str
    urn: str
    stack: str
    type: str


@dataclass
class TerraformExport:
    document: dict
    resources: dict[str, Exported] = field(default_factory=dict)
    """By Terraform address."""
    unmapped: list[Unmapped] = field(default_factory=list)


@functools.cache
def table() -> tuple[dict[str, TypeMapping], dict[str, str]]:
    """The mapped types (by Pulumi token) and the types without a Terraform counterpart (with the reason)."""
    data = yaml.safe_load(TYPES_FILE.read_text())
    mapped = {token: TypeMapping(entry["type"], dict(entry.get("renames") or {}), entry.get("checks") != "none")
              for provider in PROVIDERS for token, entry in (data.get(provider) or {}).items()}
    return mapped, dict(data.get("none") or {})


def unmapped_reason(token: str) -> str | None:
    mapped, none = table()
    if token in mapped:
        return None
    return none.get(token, "no Terraform type in planning/terraform/types.yaml")


def export(environment: str, plans: list[StackPlan]) -> TerraformExport:
    mapped, _ = table()
    result = TerraformExport(document={})
    producers: dict[str, list[tuple[str, str]]] = {}  # id/ARN/name -> [(address, attribute)]
    pending = []
    for plan in plans:
        mocks = stack_mocks(plan.spec)
        for resource in (r for r in plan.resources if r.custom):
            reason = unmapped_reason(resource.type)
            if reason is not None:
                result.unmapped.append(Unmapped(resource.urn, plan.spec.name, resource.type, reason))
                continue
            address = _address(mapped[resource.type].terraform, resource.name, resource.urn, result.resources)
            result.resources[address] = Exported(address, resource.urn, plan.spec.name, resource.type)
            for value, attribute in _identifiers(mocks, resource.type, resource.name, resource.inputs):
                producers.setdefault(value, []).append((address, attribute))
            pending.append((address, resource, plan.spec.region))
    planned, changes, configured = [], [], []
    for address, resource, region in sorted(pending, key=lambda p: p[0]):
        mapping = mapped[resource.type]
        converter = _Converter(resource.type, mapping.renames, producers, address)
        values, unknown, expressions = converter.block(resource.inputs, sdk.args_class(resource.type), "")
        provider, full_name = PROVIDERS[resource.type.split(":")[0]]
        common = {"address": address, "mode": "managed", "type": mapping.terraform,
                  "name": address.split(".", 1)[1], "provider_name": full_name}
        planned.append({**common, "schema_version": 0, "values": values, "sensitive_values": {}})
        changes.append({**common, "change": {"actions": ["create"], "before": None, "after": values,
                                             "after_unknown": unknown, "before_sensitive": False,
                                             "after_sensitive": {}}})
        configured.append({**{k: common[k] for k in ("address", "mode", "type", "name")},
                           "provider_config_key": provider, "expressions": expressions})
    result.document = {
        "format_version": FORMAT_VERSION, "terraform_version": TERRAFORM_VERSION,
        "planned_values": {"root_module": {"resources": planned}},
        "resource_changes": changes,
        "configuration": {"provider_config": _providers(plans), "root_module": {"resources": configured}},
        "pulumi": {"environment": environment,
                   "resources": {a: {"urn": r.urn, "stack": r.stack, "type": r.type}
                                 for a, r in sorted(result.resources.items())},
                   "unmapped": [u.to_json() for u in result.unmapped]},
    }
    return result


def _address(terraform_type: str, name: str, urn: str, taken: dict) -> str:
    local = _NAME.sub("_", name)
    local = local if re.match(r"[A-Za-z_]", local) else f"_{local}"
    address = f"{terraform_type}.{local}"
    return address if address not in taken else f"{address}_{digest(urn, length=8)}"


def _identifiers(mocks, token: str, name: str, inputs: dict) -> list[tuple[str, str]]:
    """What other resources may hold to refer to this one: its id, ARN, name and other computed identifiers
    (values of at least 8 characters with a digit or a colon, and not only digits, so that words, numbers and
    the account id are never taken for references)."""
    try:
        resource_id, outputs = mocks.new_resource(MockResourceArgs(token, name, dict(inputs), custom=True))
    except Exception:  # noqa: BLE001 - a mock that cannot shape these inputs: nothing refers to this resource
        return []
    found = [(resource_id, "id")] if isinstance(resource_id, str) else []
    for key, value in sorted(outputs.items()):
        if key in ("arn", "name") or (key not in inputs and key != "id"):
            found.append((value, sdk.snake_case(key)))
    return [(v, a) for v, a in found
            if isinstance(v, str) and len(v) >= 8 and re.search(r"[0-9:]", v) and not v.isdigit()]


class _Converter:
    """Pulumi inputs -> Terraform values, unknowns and configuration expressions, block by block."""

    def __init__(self, token: str, renames: dict[str, str], producers: dict, address: str):
        self.token, self.renames, self.producers, self.address = token, renames, producers, address

    def block(self, inputs: dict, args: type | None, prefix: str) -> tuple[dict, dict, dict]:
        values, unknown, expressions = {}, {}, {}
        known = sdk.fields(args) if args is not None else {}
        for key in sorted(inputs):
            value = inputs[key]
            if value is None:
                continue
            path = f"{prefix}{key}"
            found = known.get(key)
            name = self.renames.get(path) or (found.python_name.rstrip("_") if found else sdk.snake_case(key))
            kind = found.kind if found else ("map" if key in ("tags", "tagsAll", "labels") else None)
            if _is_asset(value):
                values[name] = _asset_path(value)
            elif kind == "map":
                values[name] = value
            elif isinstance(value, dict) or (isinstance(value, list) and value and isinstance(value[0], dict)):
                items = [item for item in (value if isinstance(value, list) else [value]) if isinstance(item, dict)]
                converted = [self.block(item, found.block if found else None, f"{path}.") for item in items]
                values[name] = [c[0] for c in converted]
                if any(c[1] for c in converted):
                    unknown[name] = [c[1] for c in converted]
                if any(c[2] for c in converted):
                    expressions[name] = [c[2] for c in converted]
            else:
                references = self.references(value, name)
                if references:
                    unknown[name] = True
                    expressions[name] = {"references": references}
                else:
                    values[name] = value
        return values, unknown, expressions

    def references(self, value: Any, attribute: str) -> list[str]:
        """Terraform references (``aws_vpc.dev.id``, ``aws_vpc.dev``) for a value, or each item of a list, that is
        another resource's identifier; the candidate whose type the attribute names wins a tie (a role and a log
        group auto-named alike)."""
        references: list[str] = []
        for item in value if isinstance(value, list) else [value]:
            if not isinstance(item, str):
                continue
            candidates = [c for c in self.producers.get(item, []) if c[0] != self.address]
            if len(candidates) > 1:
                best = max(_affinity(c[0], attribute) for c in candidates)
                candidates = [c for c in candidates if _affinity(c[0], attribute) == best]
            for address, output in candidates[:1] if len({c[0] for c in candidates}) == 1 else candidates:
                references += [f"{address}.{output}", address]
        return list(dict.fromkeys(references))


def _affinity(address: str, attribute: str) -> int:
    """How many trailing words of the address's type the attribute carries (``log_group_name`` and
    ``aws_cloudwatch_log_group``: 2)."""
    words = address.split(".")[0].split("_")[1:]
    return max((n for n in range(1, len(words) + 1) if "_".join(words[-n:]) in attribute), default=0)


def _is_asset(value: Any) -> bool:
    return isinstance(value, dict) and value.get("kind") in _ASSET_KINDS


def _asset_path(value: dict) -> str:
    if "path" in value:
        return str(value["path"])
    return "archive:" + ",".join(sorted(value.get("assets", {})))


def _providers(plans: list[StackPlan]) -> dict:
    regions = sorted({p.spec.region for p in plans})
    aws = {"name": "aws", "full_name": PROVIDERS["aws"][1],
           "expressions": {"region": {"constant_value": regions[0] if regions else "us-east-1"}}}
    google = {"name": "google", "full_name": PROVIDERS["gcp"][1], "expressions": {}}
    return {"aws": aws, "google": google}
