"""GCP: nothing granted to allUsers or allAuthenticatedUsers on Cloud Functions, Cloud Run or Cloud Storage;
buckets enforce public access prevention and uniform bucket-level access."""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from policies.rules.core import ADVISORY, _as_list, _json, _true, known, resource_rule

GCP_PUBLIC_SURFACES = ("gcp:cloudfunctions/", "gcp:cloudfunctionsv2/", "gcp:cloudrun/", "gcp:cloudrunv2/",
                       "gcp:storage/")
GCP_BUCKET = "gcp:storage/bucket:Bucket"

PUBLIC_MEMBERS = ("allUsers", "allAuthenticatedUsers")


@resource_rule("gcp-no-public-members", "No allUsers or allAuthenticatedUsers on Cloud Functions, Cloud Run services "
               "or Cloud Storage", *GCP_PUBLIC_SURFACES)
def gcp_no_public_members(type_: str, props: Mapping[str, Any]) -> Iterable[str]:
    members = _as_list(props.get("member")) + _as_list(props.get("members")) + _as_list(props.get("entity"))
    members += [str(e).split(":", 1)[-1] for e in _as_list(props.get("roleEntities"))]
    policy = _json(props.get("policyData"))
    if isinstance(policy, Mapping):
        members += [m for binding in _as_list(policy.get("bindings")) if isinstance(binding, Mapping)
                    for m in _as_list(binding.get("members"))]
    public = sorted({m for m in members if isinstance(m, str) and m in PUBLIC_MEMBERS})
    if public:
        yield f"grants {props.get('role') or 'access'} to {', '.join(public)}: grant it to a dedicated service account"
    if props.get("predefinedAcl") in ("publicRead", "publicReadWrite"):
        yield f"predefined ACL {props['predefinedAcl']} makes objects public"


@resource_rule("gcp-bucket-public-access-prevention", "Cloud Storage buckets enforce public access prevention and "
               "uniform bucket-level access", GCP_BUCKET, enforcement=ADVISORY)
def gcp_bucket_public_access_prevention(type_: str, props: Mapping[str, Any]) -> Iterable[str]:
    if known(props.get("publicAccessPrevention")) and props.get("publicAccessPrevention") != "enforced":
        yield "public_access_prevention is not enforced"
    if known(props.get("uniformBucketLevelAccess")) and not _true(props.get("uniformBucketLevelAccess")):
        yield "uniform bucket-level access is off (object ACLs could make objects public)"
