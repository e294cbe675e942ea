"""WebLoadBalancer: an internet-facing ALB, its listeners and the target group of one service.

With a certificate: HTTP redirects to HTTPS, and the HTTPS listener (TLS 1.2+ policy) runs the optional
authentication actions (Cognito or OIDC) and then forwards. Without one (a dev stack with no domain):
HTTP forwards, and authentication is refused because ALB authentication works only on HTTPS.
Invalid header fields are dropped; deletion protection is an argument (on in prod).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Optional

import pulumi
import pulumi_aws as aws

from components import validation

# Predefined ALB policies that allow only TLS 1.2 and 1.3.
TLS12_POLICIES = ("ELBSecurityPolicy-TLS13-1-2-2021-06", "ELBSecurityPolicy-TLS13-1-2-Res-2021-06",
                  "ELBSecurityPolicy-TLS13-1-3-2021-06", "ELBSecurityPolicy-TLS-1-2-2017-01",
                  "ELBSecurityPolicy-TLS-1-2-Ext-2018-06", "ELBSecurityPolicy-FS-1-2-Res-2020-10")


@dataclass(frozen=True)
class WebLoadBalancerArgs:
    vpc_id: pulumi.Input[str]
    subnet_ids: pulumi.Input[Sequence[str]]
    """Public subnets, one per AZ."""
    security_group_ids: pulumi.Input[Sequence[str]]
    """The network's load-balancer group (80 and 443 from anywhere, out only to the app group)."""
    target_port: int = 8080
    health_check_path: str = "/healthz"
    certificate_arn: Optional[str] = None
    ssl_policy: str = "ELBSecurityPolicy-TLS13-1-2-2021-06"
    authentication_actions: Sequence[aws.lb.ListenerDefaultActionArgs] = ()
    """Actions run before forwarding on HTTPS (authenticate-cognito / authenticate-oidc); need a certificate."""
    deletion_protection: bool = False
    deregistration_delay_seconds: int = 30
    """How long a stopping task keeps serving its in-flight requests (the default of 300 s slows deploys)."""
    idle_timeout_seconds: int = 60
    health_check_interval_seconds: int = 15
    healthy_threshold: int = 2
    unhealthy_threshold: int = 3

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        validation.port("target_port", self.target_port)
        if not isinstance(self.health_check_path, str) or not self.health_check_path.startswith("/"):
            raise validation.InvalidArgument("health_check_path", self.health_check_path, "a path starting with /")
        if self.certificate_arn is not None and not str(self.certificate_arn).startswith("arn:aws:acm:"):
            raise validation.InvalidArgument("certificate_arn", self.certificate_arn, "an ACM certificate ARN")
        validation.one_of("ssl_policy", self.ssl_policy, TLS12_POLICIES)
        if self.authentication_actions and not self.certificate_arn:
            raise validation.InvalidArgument("certificate_arn", None,
                                             "a certificate ARN: ALB authentication works only on HTTPS")
        validation.in_range("deregistration_delay_seconds", self.deregistration_delay_seconds, 0, 3600)
        validation.in_range("idle_timeout_seconds", self.idle_timeout_seconds, 1, 4000)
        validation.in_range("health_check_interval_seconds", self.health_check_interval_seconds, 5, 300)
        validation.in_range("healthy_threshold", self.healthy_threshold, 2, 10)
        validation.in_range("unhealthy_threshold", self.unhealthy_threshold, 2, 10)


class WebLoadBalancer(pulumi.ComponentResource):
    load_balancer: aws.lb.LoadBalancer
    target_group: aws.lb.TargetGroup
    http_listener: aws.lb.Listener
    https_listener: Optional[aws.lb.Listener]
    url: pulumi.Output[str]
    listeners: list[aws.lb.Listener]
    """What a service must wait for before it registers with the target group."""

    def __init__(self, name: str, args: WebLoadBalancerArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("cloud-patterns:load-balancing:WebLoadBalancer", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.load_balancer = aws.lb.LoadBalancer(
            name, load_balancer_type="application", internal=False, subnets=args.subnet_ids,
            security_groups=args.security_group_ids, drop_invalid_header_fields=True,
            enable_deletion_protection=args.deletion_protection, idle_timeout=args.idle_timeout_seconds,
            opts=child)
        self.target_group = aws.lb.TargetGroup(
            name, target_type="ip", protocol="HTTP", port=args.target_port, vpc_id=args.vpc_id,
            deregistration_delay=args.deregistration_delay_seconds,
            health_check=aws.lb.TargetGroupHealthCheckArgs(
                enabled=True, path=args.health_check_path, protocol="HTTP", port="traffic-port", matcher="200",
                interval=args.health_check_interval_seconds, timeout=5,
                healthy_threshold=args.healthy_threshold, unhealthy_threshold=args.unhealthy_threshold),
            opts=child)
        forward = aws.lb.ListenerDefaultActionArgs(type="forward", target_group_arn=self.target_group.arn)
        self.https_listener = None
        if args.certificate_arn:
            self.http_listener = aws.lb.Listener(
                f"{name}-http", load_balancer_arn=self.load_balancer.arn, port=80, protocol="HTTP",
                default_actions=[aws.lb.ListenerDefaultActionArgs(
                    type="redirect", redirect=aws.lb.ListenerDefaultActionRedirectArgs(
                        protocol="HTTPS", port="443", status_code="HTTP_301"))], opts=child)
            actions = [*args.authentication_actions, forward]
            self.https_listener = aws.lb.Listener(
                f"{name}-https", load_balancer_arn=self.load_balancer.arn, port=443, protocol="HTTPS",
                ssl_policy=args.ssl_policy, certificate_arn=args.certificate_arn,
                default_actions=[_ordered(action, order) for order, action in enumerate(actions, start=1)],
                opts=child)
            self.url = pulumi.Output.concat("https://", self.load_balancer.dns_name)
        else:
            self.http_listener = aws.lb.Listener(
                f"{name}-http", load_balancer_arn=self.load_balancer.arn, port=80, protocol="HTTP",
                default_actions=[forward], opts=child)
            self.url = pulumi.Output.concat("http://", self.load_balancer.dns_name)
        self.listeners = [self.http_listener] + ([self.https_listener] if self.https_listener else [])
        self.register_outputs({"url": self.url, "dns_name": self.load_balancer.dns_name,
                               "target_group_arn": self.target_group.arn})


def _ordered(action: aws.lb.ListenerDefaultActionArgs, order: int) -> aws.lb.ListenerDefaultActionArgs:
    pulumi.set(action, "order", order)
    return action
