"""EC2 status checks: the three alarms any instance should have, each with the remedy its check calls for.

- ``StatusCheckFailed_System`` (AWS's side: the host, its power or network): recover the instance onto other
  hardware (``arn:aws:automate:<region>:ec2:recover``; same id, private IPs, Elastic IPs and EBS volumes, memory
  lost), and tell the topic. Refused before anything is registered for instance types EC2 cannot recover
  (``service_limits.ec2_recovery_problem``).
- ``StatusCheckFailed_Instance`` (the instance's side: kernel, memory, network configuration): reboot it
  (``…:ec2:reboot``; recovery is not allowed on this metric), and tell the topic.
- ``StatusCheckFailed_AttachedEBS`` (an attached volume stopped answering I/O): only tell the topic; neither a
  reboot nor a recovery fixes a volume, someone must (see ``docs/operations.md``).

The defaults are the seed's ``Instance-Health-Check``: the Maximum over 300 s, 2 periods, threshold 1, ``>=``.
Missing data stays missing (an alarm that stops, reboots or recovers must act only in ALARM, as CloudWatch
advises for EC2 actions): a stopped instance reports nothing and must not be rebooted for it.
"""
from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components import alarms
from components.args import Args, Boolean, Custom, InvalidArgument, Number, OneOf, Whole, setting
from service_limits import ALARM_MAX_EVALUATION_SECONDS, ALARM_PERIOD_STEP_SECONDS, ec2_recovery_problem

ABOVE = ("GreaterThanOrEqualToThreshold", "GreaterThanThreshold")
PERIOD = Custom(lambda v: isinstance(v, int) and not isinstance(v, bool) and 0 < v <= ALARM_MAX_EVALUATION_SECONDS
                and v % ALARM_PERIOD_STEP_SECONDS == 0,
                f"a multiple of {ALARM_PERIOD_STEP_SECONDS} seconds up to {ALARM_MAX_EVALUATION_SECONDS}",
                (90, "300", 0, True))


@dataclass(frozen=True)
class StatusChecks(Args):
    """How an instance's status checks alarm; a component whose Args derive from these passes them on."""

    status_check_period_seconds: int = setting(300, PERIOD, "The period each status check is evaluated over.")
    status_check_evaluation_periods: int = setting(2, Whole(1, 1440), "Periods in a row that must fail to alarm.")
    status_check_threshold: float = setting(1, Number(0.01, 1, "(a check reports 0 or 1)"),
                                            "The Maximum of a check that counts as failed.")
    status_check_comparison: str = setting("GreaterThanOrEqualToThreshold", OneOf(*ABOVE),
                                           "How the Maximum is compared with the threshold.")
    recover_on_system_failure: bool = setting(True, Boolean(), "Recover the instance onto other hardware when the "
                                              "system check fails (refused for types EC2 cannot recover).")
    reboot_on_instance_failure: bool = setting(True, Boolean(), "Reboot the instance when the instance check fails.")

    def check(self) -> None:
        span = self.status_check_period_seconds * self.status_check_evaluation_periods
        if span > ALARM_MAX_EVALUATION_SECONDS:
            raise InvalidArgument("status_check_evaluation_periods", self.status_check_evaluation_periods,
                                  f"periods that span at most {ALARM_MAX_EVALUATION_SECONDS} s (a day) together")
        if self.status_check_comparison == "GreaterThanThreshold" and self.status_check_threshold >= 1:
            raise InvalidArgument("status_check_threshold", self.status_check_threshold,
                                  "below 1 with GreaterThanThreshold (a check never reports more than 1)")

    def check_instance_type(self, instance_type: str, key: str = "instance_type") -> None:
        """Refuses a type EC2 cannot recover while recovery is asked for, naming ``key``."""
        problem = ec2_recovery_problem(instance_type) if self.recover_on_system_failure else None
        if problem:
            raise InvalidArgument(key, instance_type, f"an instance type EC2 can recover ({problem}), or "
                                                      "recover_on_system_failure: false")


def status_check_alarms(name: str, parent: pulumi.Resource, topic_arn: pulumi.Input[str],
                        instance_id: pulumi.Input[str], instance_type: str, checks: StatusChecks
                        ) -> list[aws.cloudwatch.MetricAlarm]:
    """The system, instance and attached-EBS alarms of one instance, notifying ``topic_arn``."""
    checks.check_instance_type(instance_type)
    region = aws.get_region_output(opts=pulumi.InvokeOutputOptions(parent=parent)).region

    def ec2_action(action: str) -> pulumi.Output[str]:
        return pulumi.Output.concat("arn:aws:automate:", region, ":ec2:", action)

    def alarm(check: str, metric: str, description: str, actions: tuple) -> aws.cloudwatch.MetricAlarm:
        return alarms.metric_alarm(
            f"{name}-{check}-check", parent, topic_arn, namespace="AWS/EC2", metric=metric,
            dimensions={"InstanceId": instance_id}, statistic="Maximum",
            period_seconds=checks.status_check_period_seconds,
            evaluation_periods=checks.status_check_evaluation_periods, threshold=checks.status_check_threshold,
            comparison=checks.status_check_comparison, treat_missing_data="missing", actions=actions,
            description=f"{name}: {description}")

    return [
        alarm("system", "StatusCheckFailed_System", "the system status check fails (AWS's host, power or network)"
              + ("; recovering onto other hardware" if checks.recover_on_system_failure else ""),
              (ec2_action("recover"),) if checks.recover_on_system_failure else ()),
        alarm("instance", "StatusCheckFailed_Instance", "the instance status check fails (its kernel, memory or "
              "network configuration)" + ("; rebooting" if checks.reboot_on_instance_failure else ""),
              (ec2_action("reboot"),) if checks.reboot_on_instance_failure else ()),
        alarm("attached-ebs", "StatusCheckFailed_AttachedEBS", "an attached EBS volume does not complete I/O "
              "(see the volume's status and events)", ()),
    ]
