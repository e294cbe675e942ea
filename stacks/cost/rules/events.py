"""EventBridge Scheduler schedules: billed per invocation (the tasks they start are priced as task runs)."""
from __future__ import annotations

import math
import re

from planning.offline import PlannedResource
from stacks.cost.formatting import _rate
from stacks.cost.model import FixedCost, Line, StackContext, rule

DAYS_PER_MONTH = 365 / 12
_RATE = re.compile(r"rate\((\d+) (minute|hour|day)s?\)")
_PER_DAY = {"minute": 1440, "hour": 24, "day": 1}
_FIELD_SIZES = (60, 24)  # minutes, hours


def invocations_per_month(expression: str) -> float | None:
    """Runs a month of a rate() or cron() expression (cron with every day-of-month, month and weekday, or one
    weekday); None when it cannot be told simply."""
    if match := _RATE.fullmatch(expression):
        return _PER_DAY[match.group(2)] / int(match.group(1)) * DAYS_PER_MONTH
    if expression.startswith("at("):
        return 0
    fields = expression.removeprefix("cron(").removesuffix(")").split()
    if len(fields) != 6 or fields[3] not in ("*", "?"):
        return None
    per_day = 1.0
    for text, size in zip(fields[:2], _FIELD_SIZES):
        count = _count(text, size)
        if count is None:
            return None
        per_day *= count
    day_of_month, day_of_week = fields[2], fields[4]
    if day_of_month in ("*", "?") and day_of_week in ("*", "?"):
        return per_day * DAYS_PER_MONTH
    if day_of_month in ("*", "?") and re.fullmatch(r"[A-Z]{3}|[1-7]", day_of_week):
        return per_day * DAYS_PER_MONTH / 7
    return None


def _count(text: str, size: int) -> int | None:
    if text == "*":
        return size
    if match := re.fullmatch(r"(?:\*|0)/(\d+)", text):
        return math.ceil(size / int(match.group(1)))
    if re.fullmatch(r"\d+(,\d+)*", text):
        return len(text.split(","))
    return None


@rule("aws:scheduler/schedule:Schedule")
def _schedule(schedule: PlannedResource, ctx: StackContext) -> list[Line]:
    rate = ctx.prices["scheduler_million_invocations"]
    expression = str(schedule.inputs.get("scheduleExpression", ""))
    runs = invocations_per_month(expression)
    if runs is None:
        return [ctx.usage_line(schedule, "scheduled invocations", rate, "1M invocations", "schedule_invocations",
                               f"{_rate(rate)}/1M invocations", unit_size=1e6)]
    return [FixedCost(schedule.name, schedule.type, f"{runs:.0f} invocations a month of {expression}",
                      runs * rate / 1e6, f"{runs:.1f} × {_rate(rate)}/1M invocations (the tasks it starts are "
                      f"priced as task runs)")]
