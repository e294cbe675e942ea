"""InternalLoadBalancer: an internal Network Load Balancer in front of one service's tasks, with its own group.

What an API Gateway VPC link (HTTP API) sends private traffic to: it targets an ALB or NLB listener, or a Cloud
Map service. An NLB passes TCP through (no second HTTP hop rewriting headers or adding its own timeouts), costs
the same per hour as an ALB and has a static address per AZ; the HTTP parts an ALB would add (routing, auth)
the API already does. Its security group admits the service port only from the groups given (the VPC link's)
and sends only to the target group's port of the tasks' group, so nothing else in the VPC reaches the tasks
through it. Targets are task IPs (awsvpc); health checks are HTTP on the service's health path. Cross-zone load
balancing is on, so one AZ's unhealthy tasks do not black-hole that AZ's share. NLB access logs exist only for
TLS listeners: a TCP listener has none (the API's access logs record every call).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Optional

import pulumi
import pulumi_aws as aws

from components import alarms
from components.args import Args, Boolean, Port, Text, Whole, setting, wiring


@dataclass(frozen=True)
class InternalLoadBalancerArgs(Args):
    vpc_id: pulumi.Input[str] = wiring("The VPC (from the network stack).")
    subnet_ids: pulumi.Input[Sequence[str]] = wiring("Private subnets, one per AZ.")
    source_security_group_ids: Sequence[pulumi.Input[str]] = wiring(
        "The only groups admitted to the listener (e.g. the VPC link's).")
    port: int = setting(8080, Port(), "The listener's and the targets' TCP port.")
    health_check_path: str = setting("/health", Text(r"/\S*", "a path starting with /"),
                                     "What the target group's HTTP health check requests.")
    health_check_interval_seconds: int = setting(10, Whole(5, 300), "Seconds between health checks.")
    healthy_threshold: int = setting(2, Whole(2, 10), "Passed checks before a target is healthy.")
    unhealthy_threshold: int = setting(2, Whole(2, 10), "Failed checks before a target is unhealthy.")
    deregistration_delay_seconds: int = setting(30, Whole(0, 3600), "How long a stopping task keeps its open "
                                                "connections (the default of 300 s slows deploys).")
    deletion_protection: bool = setting(False, Boolean(), "Protects the load balancer from deletion (prod).")
    alarm_topic_arn: Optional[pulumi.Input[str]] = wiring("The environment's alarm topic: unhealthy targets and "
                                                          "no healthy target; None: no alarms.", default=None)


class InternalLoadBalancer(pulumi.ComponentResource):
    security_group: aws.ec2.SecurityGroup
    load_balancer: aws.lb.LoadBalancer
    target_group: aws.lb.TargetGroup
    listener: aws.lb.Listener
    alarms: list[aws.cloudwatch.MetricAlarm]

    def __init__(self, name: str, args: InternalLoadBalancerArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("cloud-patterns:load-balancing:InternalLoadBalancer", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.security_group = aws.ec2.SecurityGroup(
            f"{name}-nlb", vpc_id=args.vpc_id, description=f"{name}: internal NLB, port {args.port} from its "
                                                            f"callers only", opts=child)
        for n, source in enumerate(args.source_security_group_ids):
            aws.vpc.SecurityGroupIngressRule(
                f"{name}-nlb-in-{n}", security_group_id=self.security_group.id, ip_protocol="tcp",
                from_port=args.port, to_port=args.port, referenced_security_group_id=source,
                description="from the callers (VPC link)", opts=pulumi.ResourceOptions(parent=self.security_group))
        self.load_balancer = aws.lb.LoadBalancer(
            name, load_balancer_type="network", internal=True, subnets=args.subnet_ids,
            security_groups=[self.security_group.id], enable_cross_zone_load_balancing=True,
            enable_deletion_protection=args.deletion_protection, opts=child)
        self.target_group = aws.lb.TargetGroup(
            name, target_type="ip", protocol="TCP", port=args.port, vpc_id=args.vpc_id,
            deregistration_delay=args.deregistration_delay_seconds, connection_termination=True,
            health_check=aws.lb.TargetGroupHealthCheckArgs(
                enabled=True, protocol="HTTP", path=args.health_check_path, port="traffic-port", matcher="200",
                interval=args.health_check_interval_seconds, timeout=5,
                healthy_threshold=args.healthy_threshold, unhealthy_threshold=args.unhealthy_threshold),
            opts=child)
        self.listener = aws.lb.Listener(
            name, load_balancer_arn=self.load_balancer.arn, port=args.port, protocol="TCP",
            default_actions=[aws.lb.ListenerDefaultActionArgs(type="forward", target_group_arn=self.target_group.arn)],
            opts=child)
        self.alarms = [] if args.alarm_topic_arn is None else self._alarms(name, args.alarm_topic_arn)
        self.register_outputs({"dns_name": self.load_balancer.dns_name, "listener_arn": self.listener.arn,
                               "target_group_arn": self.target_group.arn})

    def allow_to_targets(self, name: str, targets_security_group_id: pulumi.Input[str], port: int) -> None:
        """The load balancer's only egress: the targets' group on their port (traffic and health checks)."""
        aws.vpc.SecurityGroupEgressRule(
            f"{name}-nlb-out-targets", security_group_id=self.security_group.id, ip_protocol="tcp", from_port=port,
            to_port=port, referenced_security_group_id=targets_security_group_id, description="to the service's tasks",
            opts=pulumi.ResourceOptions(parent=self.security_group))

    def _alarms(self, name: str, topic: pulumi.Input[str]) -> list[aws.cloudwatch.MetricAlarm]:
        target = {"LoadBalancer": self.load_balancer.arn_suffix, "TargetGroup": self.target_group.arn_suffix}
        return [
            alarms.metric_alarm(f"{name}-unhealthy-targets", self, topic, namespace="AWS/NetworkELB",
                                metric="UnHealthyHostCount", dimensions=target, statistic="Maximum", threshold=0,
                                evaluation_periods=2, datapoints_to_alarm=2,
                                description=f"{name}: a task fails its health checks"),
            alarms.metric_alarm(f"{name}-no-healthy-target", self, topic, namespace="AWS/NetworkELB",
                                metric="HealthyHostCount", dimensions=target, statistic="Minimum", threshold=1,
                                comparison="LessThanThreshold", evaluation_periods=2, datapoints_to_alarm=2,
                                treat_missing_data="breaching",
                                description=f"{name}: no task is healthy: every call through the VPC link fails"),
        ]
