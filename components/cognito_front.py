"""CognitoFront: the shared web load balancer behind a Cognito sign-in, reusable by any service.

The HTTPS listener first runs ``authenticate-cognito`` (the ALB sends users without a session cookie to
the Cognito sign-in page, optionally federated to Google) and then forwards; HTTP redirects to HTTPS,
since ALB authentication works only on HTTPS. The ALB passes the signed-in user's claims to the targets
in the ES256-signed ``X-Amzn-Oidc-Data`` header, whose ``signer`` is the load balancer's ARN.

The user pool admits no self sign-up: users are invited by an administrator or come through the
identity provider. The load balancer gets, on top of the network's load-balancer security group, one
that lets it reach the sign-in endpoints (token and user info) over HTTPS.
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Optional

import pulumi
import pulumi_aws as aws

from components import validation
from components.load_balancer import WebLoadBalancer, WebLoadBalancerArgs
from components.user_directory import user_pool

OAUTH_SCOPES = ("openid", "email", "profile", "phone", "aws.cognito.signin.user.admin")
GOOGLE_SCOPES = ("openid", "email", "profile")
MFA_MODES = ("OFF", "OPTIONAL", "ON")
MAX_SESSION_SECONDS = 7 * 24 * 3600  # the ALB's limit (and its default, which is too long for back offices)
_HOST_NAME = re.compile(r"(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}")
_DOMAIN_PREFIX = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?")
_GOOGLE_ATTRIBUTES = {"email": "email", "email_verified": "email_verified", "given_name": "given_name",
                      "family_name": "family_name", "picture": "picture", "username": "sub"}


@dataclass(frozen=True)
class CognitoFrontArgs:
    host_name: str
    """The name users browse to (a DNS record for the load balancer, covered by the certificate)."""
    certificate_arn: str
    """ACM certificate for host_name, in the stack's region."""
    domain_prefix: str
    """The Cognito sign-in domain: https://<prefix>.auth.<region>.amazoncognito.com (unique per region)."""
    vpc_id: pulumi.Input[str]
    subnet_ids: pulumi.Input[Sequence[str]]
    security_group_ids: pulumi.Input[Sequence[str]]
    """The network's load-balancer group (clients in, app port out)."""
    target_port: int = 8080
    health_check_path: str = "/healthz"
    session_timeout_seconds: int = 12 * 3600
    """How long the ALB's session cookie lasts before users sign in again."""
    scopes: Sequence[str] = ("openid", "email", "profile")
    mfa: str = "OPTIONAL"
    """MFA (TOTP) for users of the pool itself; federated users get their provider's."""
    google_client_id: Optional[pulumi.Input[str]] = None
    """With google_client_secret: users may sign in with Google (both from secret config)."""
    google_client_secret: Optional[pulumi.Input[str]] = None
    deletion_protection: bool = False
    """Protects the load balancer and the user pool (its users) from deletion."""

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        if not isinstance(self.host_name, str) or not _HOST_NAME.fullmatch(self.host_name):
            raise validation.InvalidArgument("host_name", self.host_name,
                                             "a lower-case DNS name, e.g. admin.example.com")
        if not isinstance(self.certificate_arn, str) or not self.certificate_arn.startswith("arn:aws:acm:"):
            raise validation.InvalidArgument("certificate_arn", self.certificate_arn, "an ACM certificate ARN")
        if (not isinstance(self.domain_prefix, str) or not _DOMAIN_PREFIX.fullmatch(self.domain_prefix)
                or any(word in self.domain_prefix for word in ("aws", "amazon", "cognito"))):
            raise validation.InvalidArgument("domain_prefix", self.domain_prefix,
                                             "lower-case letters, digits and hyphens (1-63), without aws, amazon "
                                             "or cognito")
        validation.in_range("session_timeout_seconds", self.session_timeout_seconds, 60, MAX_SESSION_SECONDS)
        validation.all_of("scopes", self.scopes, OAUTH_SCOPES)
        if "openid" not in self.scopes:
            raise validation.InvalidArgument("scopes", list(self.scopes), "a list including openid")
        validation.one_of("mfa", self.mfa, MFA_MODES)
        if (self.google_client_id is None) != (self.google_client_secret is None):
            raise validation.InvalidArgument("google_client_secret", "<one of the pair>",
                                             "both google_client_id and google_client_secret, or neither")

    @property
    def callback_url(self) -> str:
        return f"https://{self.host_name}/oauth2/idpresponse"


class CognitoFront(pulumi.ComponentResource):
    user_pool: aws.cognito.UserPool
    user_pool_domain: aws.cognito.UserPoolDomain
    user_pool_client: aws.cognito.UserPoolClient
    google: Optional[aws.cognito.IdentityProvider]
    sign_in_egress: aws.ec2.SecurityGroup
    web: WebLoadBalancer
    """The shared load balancer component: ``.target_group``, ``.listeners``, ``.load_balancer.arn`` (the
    ``signer`` of the identity tokens)."""
    url: str

    def __init__(self, name: str, args: CognitoFrontArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("cloud-patterns:load-balancing:CognitoFront", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.user_pool = user_pool(name, self, mfa=args.mfa, deletion_protection=args.deletion_protection)
        self.user_pool_domain = aws.cognito.UserPoolDomain(
            name, domain=args.domain_prefix, user_pool_id=self.user_pool.id, opts=child)
        self.google = None
        providers = ["COGNITO"]
        if args.google_client_id is not None:
            self.google = aws.cognito.IdentityProvider(
                f"{name}-google", user_pool_id=self.user_pool.id, provider_name="Google", provider_type="Google",
                provider_details={"client_id": args.google_client_id, "client_secret": args.google_client_secret,
                                  "authorize_scopes": " ".join(s for s in args.scopes if s in GOOGLE_SCOPES)},
                attribute_mapping=_GOOGLE_ATTRIBUTES, opts=child)
            providers.append("Google")
        self.user_pool_client = aws.cognito.UserPoolClient(
            name, user_pool_id=self.user_pool.id,
            generate_secret=True,  # the ALB authenticates to Cognito as a confidential client
            allowed_oauth_flows_user_pool_client=True, allowed_oauth_flows=["code"],
            allowed_oauth_scopes=list(args.scopes), callback_urls=[args.callback_url],
            supported_identity_providers=providers,
            explicit_auth_flows=["ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
            prevent_user_existence_errors="ENABLED", enable_token_revocation=True,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.google] if self.google else []))
        self.sign_in_egress = aws.ec2.SecurityGroup(
            f"{name}-sign-in", vpc_id=args.vpc_id, ingress=[], egress=[],
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
            authentication_actions=[aws.lb.ListenerDefaultActionArgs(
                type="authenticate-cognito",
                authenticate_cognito=aws.lb.ListenerDefaultActionAuthenticateCognitoArgs(
                    user_pool_arn=self.user_pool.arn, user_pool_client_id=self.user_pool_client.id,
                    user_pool_domain=self.user_pool_domain.domain, scope=" ".join(args.scopes),
                    session_timeout=args.session_timeout_seconds, on_unauthenticated_request="authenticate"))]),
            opts=child)
        self.url = f"https://{args.host_name}"
        self.register_outputs({"url": self.url, "user_pool_id": self.user_pool.id,
                               "load_balancer_arn": self.web.load_balancer.arn,
                               "load_balancer_dns_name": self.web.load_balancer.dns_name})
