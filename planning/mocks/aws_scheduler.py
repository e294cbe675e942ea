"""Mock shapes: EventBridge Scheduler schedules (id ``<group>/<name>``) and schedule groups."""
from __future__ import annotations

from planning.mocks import ProviderMocks, autoname, shape


@shape("aws:scheduler/schedule:Schedule")
def _schedule(m: ProviderMocks, name: str, inputs: dict) -> tuple[str, dict]:
    schedule, group = autoname(name, inputs), inputs.get("groupName") or "default"
    return f"{group}/{schedule}", {"name": schedule, "groupName": group, "state": inputs.get("state") or "ENABLED",
                                   "arn": m.arn("scheduler", f"schedule/{group}/{schedule}")}


@shape("aws:scheduler/scheduleGroup:ScheduleGroup")
def _schedule_group(m: ProviderMocks, name: str, inputs: dict) -> tuple[str, dict]:
    group = autoname(name, inputs)
    return group, {"name": group, "arn": m.arn("scheduler", f"schedule-group/{group}"), "state": "ACTIVE"}
