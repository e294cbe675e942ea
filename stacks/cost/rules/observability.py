"""CloudWatch log groups, metric alarms, dashboards, and the custom metrics (EMF) the dashboards show."""
from __future__ import annotations

import json
import re

from planning.offline import PlannedResource
from stacks.cost.formatting import _rate
from stacks.cost.model import FixedCost, Line, StackContext, rule


@rule("aws:cloudwatch/logGroup:LogGroup")
def _log_group(group: PlannedResource, ctx: StackContext) -> list[Line]:
    p = ctx.prices
    infrequent = group.inputs.get("logGroupClass") == "INFREQUENT_ACCESS"
    ingestion = p["logs_infrequent_ingestion_gb" if infrequent else "logs_ingestion_gb"]
    retention = group.inputs.get("retentionInDays")
    if not retention:
        return [ctx.usage_line(group, "log ingestion (kept forever: storage grows every month, not estimated)",
                               ingestion, "GB", "log_gb", f"{_rate(ingestion)}/GB ingested")]
    months_kept = retention / (365 / 12)
    storage = p["logs_storage_gb_month"] * months_kept
    return [ctx.usage_line(group, f"log ingestion and {retention}-day storage", ingestion + storage, "GB", "log_gb",
                           f"{_rate(ingestion)}/GB ingested + {_rate(p['logs_storage_gb_month'])}/GB-month × "
                           f"{months_kept:.2f} months kept")]


@rule("aws:cloudwatch/metricAlarm:MetricAlarm")
def _alarm(alarm: PlannedResource, ctx: StackContext) -> list[Line]:
    queries = alarm.inputs.get("metricQueries") or []
    if any("ANOMALY_DETECTION_BAND" in (q.get("expression") or "") for q in queries):
        # billed as three standard alarms: the metric and the band's upper and lower bounds
        rate = 3 * ctx.prices["alarm_month"]
        return [FixedCost(alarm.name, alarm.type, "anomaly-detection alarm", rate,
                          f"3 × {_rate(ctx.prices['alarm_month'])}/alarm-month (metric and band)")]
    periods = [int(alarm.inputs.get("period", 60))] + [int(q["metric"]["period"]) for q in queries if q.get("metric")]
    rate = ctx.prices["high_resolution_alarm_month" if min(periods) < 60 else "alarm_month"]
    return [FixedCost(alarm.name, alarm.type, "metric alarm", rate, f"{_rate(rate)}/alarm-month")]


SEARCH = re.compile(r"SEARCH\(\s*'\{([^,}]+)")


@rule("aws:cloudwatch/dashboard:Dashboard")
def _dashboard(dashboard: PlannedResource, ctx: StackContext) -> list[Line]:
    """The dashboard, and the custom metrics its graphs name: they are billed whether shown or not, by the stacks
    that emit them (EMF lines cost as log ingestion there), but only the dashboard names them in the plan."""
    p = ctx.prices
    lines: list[Line] = [FixedCost(dashboard.name, dashboard.type, "dashboard", p["dashboard_month"],
                                   f"{_rate(p['dashboard_month'])}/dashboard-month")]
    named, searched = custom_metrics(json.loads(dashboard.inputs.get("dashboardBody") or "{}"))
    if named:
        namespaces = ", ".join(sorted({metric[0] for metric in named}))
        lines.append(FixedCost(dashboard.name, dashboard.type, f"{len(named)} custom metrics shown ({namespaces})",
                               len(named) * p["custom_metric_month"],
                               f"{len(named)} × {_rate(p['custom_metric_month'])}/metric-month"))
    for namespace in sorted(searched):
        lines.append(ctx.usage_line(dashboard, f"{namespace} metrics a search finds (one per dimension value)",
                                    p["custom_metric_month"], "metric",
                                    "custom_metrics", f"{_rate(p['custom_metric_month'])}/metric-month"))
    return lines


def custom_metrics(body: dict) -> tuple[set[tuple], set[str]]:
    """The custom metrics (outside AWS's namespaces) a dashboard body graphs by name, and the custom namespaces its
    SEARCH expressions look into."""
    named, searched = set(), set()
    for widget in body.get("widgets", []):
        for metric in (widget.get("properties") or {}).get("metrics", []):
            if metric and isinstance(metric[0], dict):
                found = SEARCH.search(str(metric[0].get("expression", "")))
                if found and not found.group(1).startswith("AWS/"):
                    searched.add(found.group(1))
            elif metric and isinstance(metric[0], str) and not metric[0].startswith("AWS/"):
                named.add(tuple(m for m in metric if not isinstance(m, dict)))
    return named, searched
