"""CloudWatch log groups and metric alarms."""
from __future__ import annotations

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
