"""CognitoFront: the shared web load balancer behind a Cognito sign-in, reusable by any service.

The HTTPS listener first runs ``authenticate-cognito`` (the ALB sends users without a session cookie to
the Cognito sign-in page, optionally federated to Google) and then forwards; HTTP redirects to HTTPS,
since ALB authentication works only on HTTPS. The ALB passes the signed-in user's claims (from the user
info endpoint: the attributes the app client may read) to the targets in the ES256-signed
``X-Amzn-Oidc-Data`` header, whose ``signer`` is the load balancer's ARN.

The user pool admits no self sign-up: users are invited by an administrator or come through the identity
provider. Users cannot change the attributes that decide who they are: the app client lets them write only
profile attributes, and no token with ``aws.cognito.signin.user.admin`` (the scope that lets a user update
their own attributes) is ever issued. Cognito itself must be able to write what Google's sign-in maps
(e-mail, its verification, the Workspace domain) at every federated sign-in, so those are writable for the
client: through federation only, since no user holds a token that may write them.

The load balancer gets, on top of the network's load-balancer security group, one that lets it reach the
sign-in endpoints (token and user info) over HTTPS, made of rule resources only.
"""
from __future__ import annotations

import re
from collections.abc import Sequence
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
    OneOf,
    Text,
    Whole,
    like,
    required,
    setting,
    wiring,
)
from components.load_balancer import WebLoadBalancer, WebLoadBalancerArgs
from components.user_directory import USER_WRITABLE, user_pool

OAUTH_SCOPES = ("openid", "email", "profile", "phone")
GOOGLE_SCOPES = ("openid", "email", "profile")
MFA_MODES = ("OFF", "OPTIONAL", "ON")
MAX_SESSION_SECONDS = 7 * 24 * 3600  # the ALB's limit (and its default, which is too long for back offices)
_HOST_NAME = r"(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}"
_DOMAIN_PREFIX = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?")
_GOOGLE_ATTRIBUTES = {"email": "email", "email_verified": "email_verified", "given_name": "given_name",
                      "family_name": "family_name", "picture": "picture", "username": "sub"}


def _domain_prefix(value: object) -> bool:
    return (isinstance(value, str) and _DOMAIN_PREFIX.fullmatch(value) is not None
            and not any(word in value for word in ("aws", "amazon", "cognito")))


@dataclass(frozen=True)
class CognitoFrontArgs(Args):
    host_name: str = required(Text(_HOST_NAME, "a lower-case DNS name, e.g. admin.example.com"),
                              "The name users browse to (a DNS record for the load balancer, covered by the "
                              "certificate).")
    certificate_arn: str = required(Text(r"arn:aws:acm:\S+", "an ACM certificate ARN"),
                                    "ACM certificate for host_name, in the stack's region.")
    domain_prefix: str = required(Custom(_domain_prefix, "lower-case letters, digits and hyphens (1-63), without "
                                                         "aws, amazon or cognito", ("my-cognito-login", "Upper", 12)),
                                  "The Cognito sign-in domain: https://<prefix>.auth.<region>.amazoncognito.com "
                                  "(unique per region).")
    vpc_id: pulumi.Input[str] = like(WebLoadBalancerArgs, "vpc_id")
    subnet_ids: pulumi.Input[Sequence[str]] = like(WebLoadBalancerArgs, "subnet_ids")
    security_group_ids: pulumi.Input[Sequence[str]] = like(WebLoadBalancerArgs, "security_group_ids")
    target_port: int = like(WebLoadBalancerArgs, "target_port")
    health_check_path: str = like(WebLoadBalancerArgs, "health_check_path")
    session_timeout_seconds: int = setting(12 * 3600, Whole(60, MAX_SESSION_SECONDS, "seconds"),
                                           "How long the load balancer's session cookie lasts before users sign "
                                           "in again.")
    scopes: list[str] = setting(["openid", "email", "profile"], ListOf(OneOf(*OAUTH_SCOPES), min_items=1),
                                "OAuth scopes the load balancer asks for; openid is required (never "
                                "aws.cognito.signin.user.admin: it would let users change their own attributes).")
    mfa: str = setting("OPTIONAL", OneOf(*MFA_MODES), "MFA (TOTP) for users of the pool itself; federated users "
                                                      "get their provider's.")
    deletion_protection: bool = setting(False, Boolean(), "Protects the load balancer and the user pool (its users) "
                                                          "from deletion.")
    google_client_id: Optional[pulumi.Input[str]] = wiring(
        "With google_client_secret: users may sign in with Google (both from secret config).", default=None)
    google_client_secret: Optional[pulumi.Input[str]] = wiring("The Google OAuth client's secret.", default=None)
    token_claims: Optional[Sequence[str]] = wiring(
        "User attributes the targets read from the load balancer's token (the app client's read attributes); "
        "None: every attribute.", default=None)
    hosted_domain_claim: Optional[str] = wiring(
        "With Google sign-in: the custom attribute (custom:<name>) that Google's hd, the Workspace domain, is "
        "mapped to, for targets that check it; None: not mapped.", default=None)
    alarm_topic_arn: Optional[pulumi.Input[str]] = like(WebLoadBalancerArgs, "alarm_topic_arn")
    server_errors_per_minute: int = like(WebLoadBalancerArgs, "server_errors_per_minute")
    response_time_p99_seconds: float = like(WebLoadBalancerArgs, "response_time_p99_seconds")

    def check(self) -> None:
        if "openid" not in self.scopes:
            raise InvalidArgument("scopes", list(self.scopes), "a list including openid")
        if (self.google_client_id is None) != (self.google_client_secret is None):
            raise InvalidArgument("google_client_secret", "<one of the pair>",
                                  "both google_client_id and google_client_secret, or neither")
        if self.hosted_domain_claim is not None and not re.fullmatch(r"custom:\w{1,20}", self.hosted_domain_claim):
            raise InvalidArgument("hosted_domain_claim", self.hosted_domain_claim, "custom:<name>")

    @property
    def callback_url(self) -> str:
        return f"https://{self.host_name}/oauth2/idpresponse"

    @property
    def google_attributes(self) -> dict[str, str]:
        """User pool attribute -> Google claim, for the Google identity provider."""
        hosted = {self.hosted_domain_claim: "hd"} if self.hosted_domain_claim else {}
        return {**_GOOGLE_ATTRIBUTES, **hosted}

    def client_attributes(self) -> tuple[Optional[list[str]], list[str]]:
        """(read, write) attributes of the app client. What Google's sign-in maps must be both readable and
        writable (Cognito refuses the sign-in otherwise)."""
        mapped = {a for a in self.google_attributes if a != "username"} if self.google_client_id is not None else set()
        read = None if self.token_claims is None else sorted(set(self.token_claims) | mapped)
        write = sorted({a for a in USER_WRITABLE if read is None or a in read} | mapped)
        return read, write


class CognitoFront(pulumi.ComponentResource):
    user_pool: aws.cognito.UserPool
    user_pool_domain: aws.cognito.UserPoolDomain
    user_pool_client: aws.cognito.UserPoolClient
    google: Optional[aws.cognito.IdentityProvider]
    sign_in_egress: aws.ec2.SecurityGroup
    web: WebLoadBalancer
    """The shared load balancer component: ``.target_group``, ``.listeners``, ``.load_balancer.arn`` (the
    ``signer`` of the identity tokens), ``.alarms``."""
    alarms: list[aws.cloudwatch.MetricAlarm]
    url: str

    def __init__(self, name: str, args: CognitoFrontArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("cloud-patterns:load-balancing:CognitoFront", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        google = args.google_client_id is not None
        custom = [a.split(":", 1)[1] for a in args.google_attributes if a.startswith("custom:")] if google else []
        self.user_pool = user_pool(name, self, mfa=args.mfa, deletion_protection=args.deletion_protection,
                                   custom_attributes=custom)
        self.user_pool_domain = aws.cognito.UserPoolDomain(
            name, domain=args.domain_prefix, user_pool_id=self.user_pool.id, opts=child)
        self.google = None
        providers = ["COGNITO"]
        if google:
            self.google = aws.cognito.IdentityProvider(
                f"{name}-google", user_pool_id=self.user_pool.id, provider_name="Google", provider_type="Google",
                provider_details={"client_id": args.google_client_id, "client_secret": args.google_client_secret,
                                  "authorize_scopes": " ".join(s for s in args.scopes if s in GOOGLE_SCOPES)},
                attribute_mapping=args.google_attributes, opts=child)
            providers.append("Google")
        read_attributes, write_attributes = args.client_attributes()
        self.user_pool_client = aws.cognito.UserPoolClient(
            name, user_pool_id=self.user_pool.id,
            generate_secret=True,  # the ALB authenticates to Cognito as a confidential client
            allowed_oauth_flows_user_pool_client=True, allowed_oauth_flows=["code"],
            allowed_oauth_scopes=list(args.scopes), callback_urls=[args.callback_url],
            supported_identity_providers=providers,
            explicit_auth_flows=["ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
            read_attributes=read_attributes, write_attributes=write_attributes,
            prevent_user_existence_errors="ENABLED", enable_token_revocation=True,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.google] if self.google else []))
        self.sign_in_egress = aws.ec2.SecurityGroup(
            f"{name}-sign-in", vpc_id=args.vpc_id,
            description="Lets the load balancer reach the sign-in endpoints (token, user info) over HTTPS",
            opts=child)
        aws.vpc.SecurityGroupEgressRule(
            f"{name}-sign-in-https", security_group_id=self.sign_in_egress.id, ip_protocol="tcp", from_port=443,
            to_port=443, cidr_ipv4="0.0.0.0/0", description="Cognito / identity provider endpoints", opts=child)
        security_group_ids = pulumi.Output.all(pulumi.Output.from_input(args.security_group_ids),
                                               self.sign_in_egress.id).apply(lambda v: [*v[0], v[1]])
        self.web = WebLoadBalancer(name, WebLoadBalancerArgs(
            vpc_id=args.vpc_id, subnet_ids=args.subnet_ids, security_group_ids=security_group_ids,
            target_port=args.target_port, health_check_path=args.health_check_path,
            certificate_arn=args.certificate_arn, deletion_protection=args.deletion_protection,
            alarm_topic_arn=args.alarm_topic_arn, server_errors_per_minute=args.server_errors_per_minute,
            response_time_p99_seconds=args.response_time_p99_seconds,
            authentication_actions=[aws.lb.ListenerDefaultActionArgs(
                type="authenticate-cognito",
                authenticate_cognito=aws.lb.ListenerDefaultActionAuthenticateCognitoArgs(
                    user_pool_arn=self.user_pool.arn, user_pool_client_id=self.user_pool_client.id,
                    user_pool_domain=self.user_pool_domain.domain, scope=" ".join(args.scopes),
                    session_timeout=args.session_timeout_seconds, on_unauthenticated_request="authenticate"))]),
            opts=child)
        self.alarms = self.web.alarms
        self.url = f"https://{args.host_name}"
        self.register_outputs({"url": self.url, "user_pool_id": self.user_pool.id,
                               "load_balancer_arn": self.web.load_balancer.arn,
                               "load_balancer_dns_name": self.web.load_balancer.dns_name})
