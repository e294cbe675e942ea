"""Mock shapes: Cognito resource servers, groups, users and group memberships (pools, clients and domains are
in ``aws_edge``). Ids follow the provider: ``<pool id>|<identifier>``, ``<pool id>/<name>``."""
from __future__ import annotations

import uuid

from planning.mocks import ProviderMocks, digest, shape


@shape("aws:cognito/resourceServer:ResourceServer")
def _resource_server(m: ProviderMocks, name: str, inputs: dict) -> tuple[str, dict]:
    identifier = inputs.get("identifier", name)
    scopes = [f"{identifier}/{s['scopeName']}" for s in inputs.get("scopes") or []]
    return f"{inputs.get('userPoolId')}|{identifier}", {"scopeIdentifiers": scopes}


@shape("aws:cognito/userGroup:UserGroup")
def _user_group(m: ProviderMocks, name: str, inputs: dict) -> tuple[str, dict]:
    return f"{inputs.get('userPoolId')}/{inputs.get('name', name)}", {}


@shape("aws:cognito/user:User")
def _user(m: ProviderMocks, name: str, inputs: dict) -> tuple[str, dict]:
    sub = str(uuid.UUID(digest("user", name, length=32)))
    return f"{inputs.get('userPoolId')}/{inputs.get('username')}", {
        "sub": sub, "status": "FORCE_CHANGE_PASSWORD", "enabled": True,
        "creationDate": "2026-01-01T00:00:00Z", "lastModifiedDate": "2026-01-01T00:00:00Z"}


@shape("aws:cognito/userInGroup:UserInGroup")
def _user_in_group(m: ProviderMocks, name: str, inputs: dict) -> tuple[str, dict]:
    return f"{inputs.get('userPoolId')}/{inputs.get('groupName')}/{inputs.get('username')}", {}
