"""CloudWatch Logs: log groups keep their logs for a retention period CloudWatch accepts."""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from policies.rules.core import _number, known, resource_rule
from policies.rules.tokens import LOG_GROUP
from service_limits import LOG_RETENTION_DAYS


def retention_problem(props: Mapping[str, Any]) -> str | None:
    """What is wrong with a log group's retention (none, or one CloudWatch refuses); None when nothing is or it
    is not known yet. The Lambda rules judge a function's log group by it too."""
    retention = props.get("retentionInDays")
    if not known(retention):
        return None
    days = _number(retention)
    if not days:
        return "keeps logs forever (no retentionInDays)"
    if int(days) not in LOG_RETENTION_DAYS:
        return f"has retentionInDays {retention}, which CloudWatch does not accept"
    return None


@resource_rule("log-group-retention", "CloudWatch log groups have a retention period", LOG_GROUP)
def log_group_retention(type_: str, props: Mapping[str, Any]) -> Iterable[str]:
    problem = retention_problem(props)
    if problem:
        yield problem
