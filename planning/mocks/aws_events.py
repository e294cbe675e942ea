"""Mock shapes: EventBridge rules (``arn:aws:events:<region>:<account>:rule/[<bus>/]<name>``) and targets,
CloudWatch alarms and dashboards, SQS queue policies. (EventBridge Scheduler: ``aws_scheduler``.)"""
from __future__ import annotations

from planning.mocks import ACCOUNT_ID, ProviderMocks, autoname, shape


@shape("aws:cloudwatch/eventRule:EventRule")
def _event_rule(m: ProviderMocks, name: str, inputs: dict) -> tuple[str, dict]:
    rule = autoname(name, inputs)
    bus = inputs.get("eventBusName") or "default"
    path = f"rule/{rule}" if bus == "default" else f"rule/{bus}/{rule}"
    return rule, {"name": rule, "arn": m.arn("events", path), "eventBusName": bus,
                  "state": inputs.get("state") or "ENABLED"}


@shape("aws:cloudwatch/eventTarget:EventTarget")
def _event_target(m: ProviderMocks, name: str, inputs: dict) -> tuple[str, dict]:
    target_id = inputs.get("targetId") or autoname(name, {})
    return f"{inputs.get('eventBusName') or 'default'}-{inputs.get('rule', name)}-{target_id}", {"targetId": target_id}


def _named(service: str, path: str):
    """A resource whose id is its (auto)name and whose ARN is ``arn:aws:<service>:…:<path><name>``."""
    def shaper(m: ProviderMocks, name: str, inputs: dict) -> tuple[str, dict]:
        resource = autoname(name, inputs)
        return resource, {"name": resource, "arn": m.arn(service, f"{path}{resource}")}
    return shaper


shape("aws:cloudwatch/metricAlarm:MetricAlarm")(_named("cloudwatch", "alarm:"))


@shape("aws:sqs/queuePolicy:QueuePolicy")
def _queue_policy(m: ProviderMocks, name: str, inputs: dict) -> tuple[str, dict]:
    return str(inputs.get("queueUrl") or name), {}


@shape("aws:cloudwatch/dashboard:Dashboard")
def _dashboard(m: ProviderMocks, name: str, inputs: dict) -> tuple[str, dict]:
    dashboard = inputs.get("dashboardName") or autoname(name, {})
    return dashboard, {"dashboardName": dashboard, "dashboardArn": f"arn:aws:cloudwatch::{ACCOUNT_ID}:dashboard/"
                                                                   f"{dashboard}"}
