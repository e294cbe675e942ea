"""Cognito: an app client does not let users change the attributes that identify them.

Unset, an app client's ``writeAttributes`` lets a signed-in user write every standard attribute of their own,
``email`` and ``email_verified`` included, and any check of who they are ends up trusting what they typed. With
a federated identity provider, Cognito must write what the provider maps at every sign-in, so those attributes
are writable for the client; then no token may carry ``aws.cognito.signin.user.admin``, the scope that lets a
user call UpdateUserAttributes.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from policies.rules.core import _as_list, known, resource_rule

USER_POOL_CLIENT = "aws:cognito/userPoolClient:UserPoolClient"
IDENTITY_ATTRIBUTES = ("email", "email_verified", "phone_number", "phone_number_verified")
SELF_SERVICE_SCOPE = "aws.cognito.signin.user.admin"


@resource_rule("cognito-users-cannot-write-identity", "Cognito app clients do not let users write their e-mail, "
               "phone number or their verification", USER_POOL_CLIENT)
def cognito_users_cannot_write_identity(type_: str, props: Mapping[str, Any]) -> Iterable[str]:
    write, providers, scopes = (props.get(k) for k in ("writeAttributes", "supportedIdentityProviders",
                                                       "allowedOauthScopes"))
    if not (known(write) and known(providers) and known(scopes)):
        return
    federated = any(p != "COGNITO" for p in _as_list(providers))
    if write is None or not _as_list(write):
        writable = "every standard attribute (writeAttributes unset)"
    else:
        identity = sorted(set(_as_list(write)) & set(IDENTITY_ATTRIBUTES))
        if not identity:
            return
        writable = ", ".join(identity)
    if not federated:
        yield f"users may write {writable} of their own: list profile attributes only in writeAttributes"
    elif SELF_SERVICE_SCOPE in _as_list(scopes):
        yield (f"users may write {writable} of their own through the {SELF_SERVICE_SCOPE} scope: federation needs "
               "the mapped attributes writable, so drop the scope")
