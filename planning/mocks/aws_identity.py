"""Mock shapes: IAM roles, instance profiles and policies, policy documents, the caller and the partition."""
from __future__ import annotations

import hashlib
import json
from typing import Any

from planning.mocks import ACCOUNT_ID, ProviderMocks, autoname, call, digest, shape


def _named(kind: str, id_prefix: str):
    """An IAM resource whose id is its (auto)name: ``arn:aws:iam::<account>:<kind>/<name>``, a unique id."""
    def shaper(m: ProviderMocks, name: str, inputs: dict) -> tuple[str, dict]:
        resource_name = autoname(name, inputs)
        return resource_name, {"name": resource_name, "arn": f"arn:aws:iam::{ACCOUNT_ID}:{kind}/{resource_name}",
                               "uniqueId": f"{id_prefix}{digest(kind, name, length=17).upper()}"}
    return shaper


shape("aws:iam/role:Role")(_named("role", "AROA"))
shape("aws:iam/instanceProfile:InstanceProfile")(_named("instance-profile", "AIPA"))


@shape("aws:iam/rolePolicy:RolePolicy")
def _role_policy(m: ProviderMocks, name: str, inputs: dict) -> tuple[str, dict]:
    policy_name = autoname(name, inputs)
    return f"{inputs.get('role')}:{policy_name}", {"name": policy_name}


@shape("aws:iam/policy:Policy")
def _managed_policy(m: ProviderMocks, name: str, inputs: dict) -> tuple[str, dict]:
    policy_name = autoname(name, inputs)
    arn = f"arn:aws:iam::{ACCOUNT_ID}:policy{inputs.get('path') or '/'}{policy_name}"
    return arn, {"name": policy_name, "arn": arn, "policyId": f"ANPA{digest('policy', name, length=17).upper()}"}


@call("aws:index/getCallerIdentity:getCallerIdentity")
def _caller(m: ProviderMocks, args: dict) -> dict:
    return {"accountId": ACCOUNT_ID, "arn": f"arn:aws:iam::{ACCOUNT_ID}:user/offline-plan",
            "userId": "AIDAOFFLINEPLAN", "id": ACCOUNT_ID}


@call("aws:index/getPartition:getPartition")
def _partition(m: ProviderMocks, args: dict) -> dict:
    return {"partition": "aws", "dnsSuffix": "amazonaws.com", "id": "aws", "reverseDnsPrefix": "com.amazonaws"}


@call("aws:iam/getPolicyDocument:getPolicyDocument")
def _policy_document(m: ProviderMocks, args: dict) -> dict:
    document = render_policy_document(args.get("statements") or [])
    text = json.dumps(document, indent=2)
    return {"json": text, "minifiedJson": json.dumps(document, separators=(",", ":")),
            "id": str(int(hashlib.sha256(text.encode()).hexdigest()[:8], 16))}


def _one_or_many(values: list) -> Any:
    return values[0] if len(values) == 1 else values


def render_policy_document(statements: list[dict]) -> dict:
    """Renders statements the way the provider's getPolicyDocument does."""
    rendered = []
    for s in statements:
        out: dict[str, Any] = {}
        if s.get("sid"):
            out["Sid"] = s["sid"]
        out["Effect"] = s.get("effect") or "Allow"
        for key, name in (("actions", "Action"), ("notActions", "NotAction"),
                          ("resources", "Resource"), ("notResources", "NotResource")):
            if s.get(key):
                out[name] = _one_or_many(list(s[key]))
        if s.get("principals"):
            principals: dict[str, Any] = {}
            for p in s["principals"]:
                if p["type"] == "*" and p.get("identifiers") == ["*"]:
                    principals = "*"  # type: ignore[assignment]
                    break
                principals[p["type"]] = _one_or_many(list(p["identifiers"]))
            out["Principal"] = principals
        if s.get("conditions"):
            conditions: dict[str, dict] = {}
            for c in s["conditions"]:
                conditions.setdefault(c["test"], {})[c["variable"]] = _one_or_many(list(c["values"]))
            out["Condition"] = conditions
        rendered.append(out)
    return {"Version": "2012-10-17", "Statement": rendered}
