"""UserDirectory: a Cognito user pool for an API: groups, a resource server with custom scopes, one app client
for people and one per machine client, an optional sign-in domain, and the initial users.

People sign in with e-mail and password (``USER_PASSWORD_AUTH`` or SRP) and refresh with the refresh token;
with a domain and callback URLs their client also runs the authorization-code flow of the hosted sign-in
page. Machine clients get a secret and the client-credentials grant with the scopes listed for them (it needs
the domain: the token endpoint lives there). No self sign-up: the initial users come from config (e-mail and
groups), and Cognito e-mails each a temporary password to replace at first sign-in, so no password is ever in
code, config or state. Access tokens name their groups in ``cognito:groups`` and their custom scopes in
``scope``; the issuer and the client ids are what an authorizer of this directory's tokens must check.
"""
from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Optional

import pulumi
import pulumi_aws as aws

from components.args import (
    Args,
    Boolean,
    Custom,
    InvalidArgument,
    ListOf,
    MappingOf,
    Maybe,
    OneOf,
    Text,
    Whole,
    setting,
    wiring,
)

EMAIL = r"[^@\s]+@[^@\s]+\.[A-Za-z]{2,}"
DOMAIN_PREFIX = r"(?!.*(aws|amazon|cognito))[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?"
HTTPS_URL = r"https://[^\s#]+|http://localhost(:[0-9]+)?(/[^\s#]*)?"
NAME = r"[A-Za-z0-9][\w-]{0,127}"
USER_SCOPES = ("openid", "email")


def _user_entry(value: object) -> bool:
    return (isinstance(value, Mapping) and set(value) <= {"email", "groups"} and isinstance(value.get("email"), str)
            and re.fullmatch(EMAIL, value["email"]) is not None and isinstance(value.get("groups", []), list)
            and all(isinstance(g, str) for g in value.get("groups", [])))


USER_WRITABLE = ("family_name", "given_name", "picture")  # profile only: never what identifies or admits a user

@dataclass(frozen=True)
class UserDirectoryArgs(Args):
    users: Sequence[Mapping] = setting([], ListOf(Custom(_user_entry, "{email: <address>, groups: [<group>, …]}")),
                                       "The initial users; Cognito e-mails each a temporary password.")
    domain_prefix: Optional[str] = setting(None, Maybe(Text(DOMAIN_PREFIX, "lower-case letters, digits and "
                                                            "hyphens (1-63), without aws, amazon or cognito")),
                                           "Sign-in domain https://<prefix>.auth.<region>.amazoncognito.com (unique "
                                           "per region): the hosted sign-in page and the token endpoint. null: none.")
    callback_urls: Sequence[str] = setting([], ListOf(Text(HTTPS_URL, "an https:// URL (or http://localhost)")),
                                           "Where the hosted sign-in page may send people back with a code (the "
                                           "authorization-code flow; needs domain_prefix).")
    logout_urls: Sequence[str] = setting([], ListOf(Text(HTTPS_URL, "an https:// URL (or http://localhost)")),
                                         "Where the hosted sign-out may send people back.")
    machine_clients: Mapping[str, Sequence[str]] = setting(
        {}, MappingOf(ListOf(Text(NAME, "a scope name"), min_items=1), keys=Text(NAME, "a client name")),
        "Machine clients (client-credentials grant) and the scopes each may ask for; needs domain_prefix.")
    mfa: str = setting("OPTIONAL", OneOf("OFF", "OPTIONAL", "ON"), "Multi-factor sign-in with a TOTP app.")
    password_minimum_length: int = setting(14, Whole(8, 99), "Shortest password accepted.")
    temporary_password_days: int = setting(3, Whole(1, 365), "How long an e-mailed temporary password works.")
    access_token_minutes: int = setting(60, Whole(5, 1440), "Lifetime of access and ID tokens.")
    refresh_token_days: int = setting(30, Whole(1, 3650), "Lifetime of refresh tokens (then sign in again).")
    tier: str = setting("ESSENTIALS", OneOf("LITE", "ESSENTIALS", "PLUS"), "Cognito's feature plan (price per "
                                                                            "monthly active user).")
    deletion_protection: bool = setting(False, Boolean(), "Refuse to delete the pool (and its users).")
    groups: Mapping[str, str] = wiring("The groups, name -> description.", default={})
    resource_server: str = wiring("Identifier of the resource server; scopes are <identifier>/<scope>.",
                                  default="api")
    scopes: Mapping[str, str] = wiring("The resource server's scopes, name -> description.", default={})

    def check(self) -> None:
        emails = [u["email"].lower() for u in self.users]
        if len(set(emails)) != len(emails):
            raise InvalidArgument("users", emails, "each e-mail address once")
        for user in self.users:
            for group in user.get("groups", []):
                if group not in self.groups:
                    raise InvalidArgument("users", group, "groups among " + ", ".join(self.groups))
        for client, scopes in self.machine_clients.items():
            for scope in scopes:
                if scope not in self.scopes:
                    raise InvalidArgument(f"machine_clients.{client}", scope, "scopes among " + ", ".join(self.scopes))
        if self.domain_prefix is None:
            for key in ("callback_urls", "machine_clients"):
                if getattr(self, key):
                    raise InvalidArgument(key, getattr(self, key), "none without domain_prefix (the sign-in domain)")


class UserDirectory(pulumi.ComponentResource):
    user_pool: aws.cognito.UserPool
    resource_server: aws.cognito.ResourceServer
    groups: dict[str, aws.cognito.UserGroup]
    user_client: aws.cognito.UserPoolClient
    machine_clients: dict[str, aws.cognito.UserPoolClient]
    domain: Optional[aws.cognito.UserPoolDomain]
    users: list[aws.cognito.User]
    issuer: pulumi.Output[str]
    """https://cognito-idp.<region>.amazonaws.com/<pool id>: the ``iss`` of the pool's tokens."""
    client_ids: pulumi.Output[list[str]]
    """Every app client, people's first: the ``client_id`` an access token may carry."""
    token_url: Optional[pulumi.Output[str]]

    def __init__(self, name: str, args: UserDirectoryArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("cloud-patterns:identity:UserDirectory", name, None, opts)
        self.args = args
        child = pulumi.ResourceOptions(parent=self)
        self.user_pool = user_pool(name, self, mfa=args.mfa, password_minimum_length=args.password_minimum_length,
                                   temporary_password_days=args.temporary_password_days,
                                   deletion_protection=args.deletion_protection, tier=args.tier)
        pool = self.user_pool.id
        self.issuer = pulumi.Output.concat("https://", self.user_pool.endpoint)
        self.resource_server = aws.cognito.ResourceServer(
            f"{name}-{args.resource_server}", user_pool_id=pool, identifier=args.resource_server,
            name=args.resource_server, scopes=[aws.cognito.ResourceServerScopeArgs(scope_name=s, scope_description=d)
                                               for s, d in args.scopes.items()], opts=child)
        self.groups = {group: aws.cognito.UserGroup(f"{name}-{group.lower()}", user_pool_id=pool, name=group,
                                                    description=description, opts=child)
                       for group, description in args.groups.items()}
        self.domain = None if args.domain_prefix is None else aws.cognito.UserPoolDomain(
            name, domain=args.domain_prefix, user_pool_id=pool, opts=child)
        code_flow = bool(args.callback_urls)
        self.user_client = self._client(
            f"{name}-people", generate_secret=False,  # a public client: CLIs and browsers keep no secret
            explicit_auth_flows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
            allowed_oauth_flows_user_pool_client=code_flow, allowed_oauth_flows=["code"] if code_flow else None,
            allowed_oauth_scopes=self._scopes(USER_SCOPES, args.scopes) if code_flow else None,
            callback_urls=list(args.callback_urls) or None, logout_urls=list(args.logout_urls) or None,
            supported_identity_providers=["COGNITO"] if code_flow else None)
        self.machine_clients = {client: self._client(
            f"{name}-{client}", generate_secret=True, explicit_auth_flows=["ALLOW_REFRESH_TOKEN_AUTH"],
            allowed_oauth_flows_user_pool_client=True, allowed_oauth_flows=["client_credentials"],
            allowed_oauth_scopes=self._scopes((), scopes)) for client, scopes in args.machine_clients.items()}
        self.client_ids = pulumi.Output.all(self.user_client.id, *(c.id for c in self.machine_clients.values()))
        self.token_url = None if self.domain is None else pulumi.Output.concat(
            "https://", self.domain.domain, ".auth.", aws.get_region_output(opts=pulumi.InvokeOutputOptions(
                parent=self)).region, ".amazoncognito.com/oauth2/token")
        self.users = []
        for user in args.users:
            email = user["email"].lower()
            slug = re.sub(r"[^a-z0-9]+", "-", email).strip("-")
            member = aws.cognito.User(f"{name}-{slug}", user_pool_id=pool, username=email,
                                      attributes={"email": email, "email_verified": "true"},
                                      desired_delivery_mediums=["EMAIL"], opts=child)
            self.users.append(member)
            for group in user.get("groups", []):
                aws.cognito.UserInGroup(f"{name}-{slug}-{group.lower()}", user_pool_id=pool,
                                        username=member.username, group_name=self.groups[group].name,
                                        opts=pulumi.ResourceOptions(parent=member))
        self.register_outputs({"user_pool_id": pool, "issuer": self.issuer, "client_ids": self.client_ids,
                               "token_url": self.token_url})

    def _scopes(self, standard: Sequence[str], custom: Sequence[str]) -> list[pulumi.Input[str]]:
        """Custom scopes through the resource server's output, so clients wait for the scopes to exist."""
        prefix = self.resource_server.identifier
        return [*standard, *(pulumi.Output.concat(prefix, "/", scope) for scope in custom)]

    def _client(self, name: str, **settings) -> aws.cognito.UserPoolClient:
        args = self.args
        return aws.cognito.UserPoolClient(
            name, name=name, user_pool_id=self.user_pool.id, prevent_user_existence_errors="ENABLED",
            enable_token_revocation=True, access_token_validity=args.access_token_minutes,
            id_token_validity=args.access_token_minutes, refresh_token_validity=args.refresh_token_days,
            token_validity_units=aws.cognito.UserPoolClientTokenValidityUnitsArgs(
                access_token="minutes", id_token="minutes", refresh_token="days"),
            write_attributes=list(USER_WRITABLE),  # unset, users could rewrite their own e-mail
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.resource_server]), **settings)


def user_pool(name: str, parent: pulumi.Resource, *, mfa: str, password_minimum_length: int = 14,
              temporary_password_days: int = 3, deletion_protection: bool = False,
              tier: Optional[str] = None, custom_attributes: Sequence[str] = ()) -> aws.cognito.UserPool:
    """A pool whose users sign in with their e-mail (case-insensitive), are created by an administrator only,
    need strong passwords, may (or must) use a TOTP app, and recover their account by verified e-mail.
    ``custom_attributes``: string attributes (``hd`` for ``custom:hd``); they can be added to an existing pool,
    never removed or changed."""
    return aws.cognito.UserPool(
        name, username_attributes=["email"], auto_verified_attributes=["email"],
        username_configuration=aws.cognito.UserPoolUsernameConfigurationArgs(case_sensitive=False),
        admin_create_user_config=aws.cognito.UserPoolAdminCreateUserConfigArgs(allow_admin_create_user_only=True),
        password_policy=aws.cognito.UserPoolPasswordPolicyArgs(
            minimum_length=password_minimum_length, require_lowercase=True, require_uppercase=True,
            require_numbers=True, require_symbols=True, temporary_password_validity_days=temporary_password_days),
        mfa_configuration=mfa,
        software_token_mfa_configuration=aws.cognito.UserPoolSoftwareTokenMfaConfigurationArgs(enabled=True)
        if mfa != "OFF" else None,
        account_recovery_setting=aws.cognito.UserPoolAccountRecoverySettingArgs(recovery_mechanisms=[
            aws.cognito.UserPoolAccountRecoverySettingRecoveryMechanismArgs(name="verified_email", priority=1)]),
        schemas=[aws.cognito.UserPoolSchemaArgs(
            name=attribute, attribute_data_type="String", mutable=True, developer_only_attribute=False,
            string_attribute_constraints=aws.cognito.UserPoolSchemaStringAttributeConstraintsArgs(
                min_length="0", max_length="253")) for attribute in custom_attributes] or None,
        user_pool_tier=tier, deletion_protection="ACTIVE" if deletion_protection else "INACTIVE",
        opts=pulumi.ResourceOptions(parent=parent))
