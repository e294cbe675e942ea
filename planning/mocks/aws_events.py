"""Mock shapes: EventBridge rules and targets, EventBridge Scheduler schedules and groups, CloudWatch alarms and
dashboards, SQS queue policies."""
from __future__ import annotations

from planning.mocks import ACCOUNT_ID, ProviderMocks, autoname, shape


@shape("aws:cloudwatch/eventRule:EventRule")
def _event_rule(m: ProviderMocks, name: str, inputs: dict) -> tuple[str, dict]:
    rule = autoname(name, inputs)
    bus = inputs.get("eventBusName") or "default"
    path = f"rule/{rule}" if bus == "default" else f"rule/{bus}/{rule}"
    return rule, {"name": rule, "arn": m.arn("events", path), "eventBusName": bus}


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


shape("aws:scheduler/scheduleGroup:ScheduleGroup")(_named("scheduler", "schedule-group/"))
shape("aws:cloudwatch/metricAlarm:MetricAlarm")(_named("cloudwatch", "alarm:"))


@shape("aws:scheduler/schedule:Schedule")
def _schedule(m: ProviderMocks, name: str, inputs: dict) -> tuple[str, dict]:
    schedule = autoname(name, inputs)
    group = inputs.get("groupName") or "default"
    return f"{group}/{schedule}", {"name": schedule, "groupName": group,
                                   "arn": m.arn("scheduler", f"schedule/{group}/{schedule}")}


@shape("aws:sqs/queuePolicy:QueuePolicy")
def _queue_policy(m: ProviderMocks, name: str, inputs: dict) -> tuple[str, dict]:
    return str(inputs.get("queueUrl") or name), {}


@shape("aws:cloudwatch/dashboard:Dashboard")
def _dashboard(m: ProviderMocks, name: str, inputs: dict) -> tuple[str, dict]:
    dashboard = inputs.get("dashboardName") or autoname(name, {})
    return dashboard, {"dashboardName": dashboard, "dashboardArn": f"arn:aws:cloudwatch::{ACCOUNT_ID}:dashboard/"
                                                                   f"{dashboard}"}
