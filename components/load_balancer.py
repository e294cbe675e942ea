"""WebLoadBalancer: an internet-facing ALB, its listeners and the target group of one service.

With a certificate: HTTP redirects to HTTPS, and the HTTPS listener (TLS 1.2+ policy) runs the optional
authentication actions (Cognito or OIDC) and then forwards. Without one (a dev stack with no domain):
HTTP forwards, and authentication is refused because ALB authentication works only on HTTPS.
Invalid header fields are dropped; deletion protection is an argument (on in prod). Access logs (every request:
client, target, status, TLS protocol) go to a private bucket of their own, kept ``access_log_retention_days``;
ALB log delivery writes them with SSE-S3, the only encryption it supports. The bucket policy lets the regional
Elastic Load Balancing account (regions before August 2022) and the log-delivery service principal (later ones)
put objects under this account's prefix only.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Optional

import pulumi
import pulumi_aws as aws

from components import alarms, iam, storage
from components.args import Args, Boolean, InvalidArgument, Maybe, Number, OneOf, Port, Text, Whole, setting, wiring
from components.network import DEFAULT_APP_PORT

# Predefined ALB policies that allow only TLS 1.2 and 1.3.
TLS12_POLICIES = ("ELBSecurityPolicy-TLS13-1-2-2021-06", "ELBSecurityPolicy-TLS13-1-2-Res-2021-06",
                  "ELBSecurityPolicy-TLS13-1-3-2021-06", "ELBSecurityPolicy-TLS-1-2-2017-01",
                  "ELBSecurityPolicy-TLS-1-2-Ext-2018-06", "ELBSecurityPolicy-FS-1-2-Res-2020-10")


@dataclass(frozen=True)
class WebLoadBalancerArgs(Args):
    vpc_id: pulumi.Input[str] = wiring("The VPC (from the network stack).")
    subnet_ids: pulumi.Input[Sequence[str]] = wiring("Public subnets, one per AZ.")
    security_group_ids: pulumi.Input[Sequence[str]] = wiring(
        "The network's load-balancer group (80 and 443 from anywhere, out only to the app group).")
    target_port: int = setting(DEFAULT_APP_PORT, Port(), "The port the targets listen on (the network's app_port).")
    health_check_path: str = setting("/healthz", Text(r"/\S*", "a path starting with /"),
                                     "What the target group's health check requests.")
    certificate_arn: Optional[str] = setting(None, Maybe(Text(r"arn:aws:acm:\S+", "an ACM certificate ARN")),
                                             "HTTPS (TLS 1.2+) with HTTP redirected to it; null: plain HTTP (a dev "
                                             "stack without a domain).")
    ssl_policy: str = setting("ELBSecurityPolicy-TLS13-1-2-2021-06", OneOf(*TLS12_POLICIES),
                              "The HTTPS listener's TLS policy (TLS 1.2 and 1.3 only).")
    authentication_actions: Sequence[aws.lb.ListenerDefaultActionArgs] = wiring(
        "Actions run before forwarding on HTTPS (authenticate-cognito / authenticate-oidc); need a certificate.",
        default=())
    deletion_protection: bool = setting(False, Boolean(), "Protects the load balancer from deletion (prod).")
    access_log_retention_days: int = setting(90, Whole(1, 3650), "How long the load balancer's access logs are "
                                                                 "kept (S3, SSE-S3).")
    deregistration_delay_seconds: int = setting(30, Whole(0, 3600), "How long a stopping task keeps serving its "
                                                "in-flight requests (the default of 300 s slows deploys).")
    idle_timeout_seconds: int = setting(60, Whole(1, 4000), "Idle connection timeout; the app must keep "
                                                            "connections open longer.")
    health_check_interval_seconds: int = setting(15, Whole(5, 300), "Seconds between health checks.")
    healthy_threshold: int = setting(2, Whole(2, 10), "Passed checks before a target is healthy.")
    unhealthy_threshold: int = setting(3, Whole(2, 10), "Failed checks before a target is unhealthy.")
    alarm_topic_arn: Optional[pulumi.Input[str]] = wiring(
        "The environment's alarm topic: 5xx, response time and unhealthy-target alarms; None: no alarms.",
        default=None)
    server_errors_per_minute: int = setting(5, Whole(1, 100000), "5xx a minute (two minutes running) that alarm.")
    response_time_p99_seconds: float = setting(2.0, Number(0.01, 60), "p99 target response time that alarms.")

    def check(self) -> None:
        if self.authentication_actions and not self.certificate_arn:
            raise InvalidArgument("certificate_arn", None, "a certificate ARN: ALB authentication works only on HTTPS")


class WebLoadBalancer(pulumi.ComponentResource):
    load_balancer: aws.lb.LoadBalancer
    target_group: aws.lb.TargetGroup
    access_logs: aws.s3.Bucket
    http_listener: aws.lb.Listener
    https_listener: Optional[aws.lb.Listener]
    url: pulumi.Output[str]
    listeners: list[aws.lb.Listener]
    """What a service must wait for before it registers with the target group."""
    alarms: list[aws.cloudwatch.MetricAlarm]

    def __init__(self, name: str, args: WebLoadBalancerArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("cloud-patterns:load-balancing:WebLoadBalancer", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.access_logs = storage.private_bucket(
            f"{name}-access-logs", self, force_destroy=not args.deletion_protection,
            expire_after_days=args.access_log_retention_days, policy=False)
        # ALB log delivery checks its access when the load balancer is created: the load balancer waits for it.
        log_policy = storage.bucket_policy(f"{name}-access-logs", self.access_logs,
                                           self._log_delivery(self.access_logs.arn))
        self.load_balancer = aws.lb.LoadBalancer(
            name, load_balancer_type="application", internal=False, subnets=args.subnet_ids,
            security_groups=args.security_group_ids, drop_invalid_header_fields=True,
            enable_deletion_protection=args.deletion_protection, idle_timeout=args.idle_timeout_seconds,
            access_logs=aws.lb.LoadBalancerAccessLogsArgs(bucket=self.access_logs.bucket, enabled=True),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[log_policy]))
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
        self.alarms = [] if args.alarm_topic_arn is None else alarms.load_balancer_alarms(
            name, self, args.alarm_topic_arn, self.load_balancer.arn_suffix, self.target_group.arn_suffix,
            args.server_errors_per_minute, args.response_time_p99_seconds)
        self.register_outputs({"url": self.url, "dns_name": self.load_balancer.dns_name,
                               "target_group_arn": self.target_group.arn})


    def _log_delivery(self, bucket_arn: pulumi.Output[str]) -> list[iam.Statement]:
        account = iam.account_id(self)
        logs = pulumi.Output.concat(bucket_arn, "/AWSLogs/", account, "/*")
        elb_account = aws.elb.get_service_account_output(opts=pulumi.InvokeOutputOptions(parent=self)).arn
        principal = aws.iam.GetPolicyDocumentStatementPrincipalArgs
        return [iam.Statement(sid="LogDeliveryByTheRegionsElbAccount", effect="Allow", actions=["s3:PutObject"],
                              resources=[logs], principals=[principal(type="AWS", identifiers=[elb_account])]),
                iam.Statement(sid="LogDeliveryService", effect="Allow", actions=["s3:PutObject"], resources=[logs],
                              principals=[principal(type="Service",
                                                    identifiers=["logdelivery.elasticloadbalancing.amazonaws.com"])],
                              conditions=[iam.condition("StringEquals", "aws:SourceAccount", account)])]


def _ordered(action: aws.lb.ListenerDefaultActionArgs, order: int) -> aws.lb.ListenerDefaultActionArgs:
    pulumi.set(action, "order", order)
    return action
