"""Stack ``<env>-alerts``: the topic every alarm and failure event of the environment notifies.

Every pattern stack reads its ``topic_arn`` (upstream alias ``alerts``) and wires its alarms to it.
"""
import pulumi

from components.alert_topic import AlertTopic, AlertTopicArgs
from programs.common import Section, environment

ALERTS = Section("alerts", AlertTopicArgs)


def main() -> None:
    alerts = AlertTopic(f"{environment()}-alerts", ALERTS.load())
    pulumi.export("topic_arn", alerts.topic.arn)
    pulumi.export("topic_name", alerts.topic.name)
    pulumi.export("subscribers", len(alerts.subscriptions))
