"""Dashboard: an environment's CloudWatch dashboard, made of the widgets each pattern stack exports.

A pattern stack exports ``dashboard_widgets`` (``OUTPUT``), built with ``widgets``: the status of all its alarms,
one graph per alarm (the alarm's own metric and threshold, drawn by CloudWatch from the alarm), what its event
rules matched, and any graph of its own metrics (the auth sidecar's EMF metrics). Each widget is as the dashboard
body format writes it (``type``, ``properties``; ``width`` and ``height`` optional): the alarms are the key metrics,
so what the dashboard shows and what pages someone are the same thing, written once.

The dashboard stack lays the stacks out in the order its stack file lists them: a heading each, then their
widgets three to a row. The body is JSON with sorted keys, so two plans print the same bytes.
"""
from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Optional

import pulumi
import pulumi_aws as aws

from components.args import Args, OneOf, Text, setting, wiring

OUTPUT = "dashboard_widgets"
COLUMNS, WIDTH, HEIGHT, MAX_HEIGHT = 24, 8, 6, 1000
MAX_WIDGETS = 500  # CloudWatch's limit for one dashboard
WIDGET_TYPES = ("metric", "alarm", "text", "log")


def _region(arn: str) -> str:
    return arn.split(":")[3]


def alarm_status(title: str, alarms: Sequence[aws.cloudwatch.MetricAlarm]) -> pulumi.Output[dict]:
    """One box per alarm, its state at a glance (six a row)."""
    return pulumi.Output.all(*[a.arn for a in alarms]).apply(lambda arns: {
        "type": "alarm", "width": COLUMNS, "height": 1 + 2 * math.ceil(len(arns) / 6),
        "properties": {"title": title, "alarms": sorted(arns), "sortBy": "stateUpdatedTimestamp"}})


def alarm_graph(alarm: aws.cloudwatch.MetricAlarm) -> pulumi.Output[dict]:
    """The alarm's metric (or anomaly band) with its threshold, as CloudWatch draws an alarm on a dashboard."""
    return pulumi.Output.all(alarm.arn, alarm.alarm_description).apply(lambda values: {
        "type": "metric", "properties": {"title": values[1], "region": _region(values[0]), "view": "timeSeries",
                                         "stacked": False, "annotations": {"alarms": [values[0]]}}})


def metric_graph(title: str, metrics: Sequence[Sequence[Any]], *, stat: str = "Sum", period_seconds: int = 60,
                 region: Optional[pulumi.Input[str]] = None, width: int = WIDTH) -> pulumi.Output[dict]:
    """A graph of ``metrics`` in CloudWatch's notation: ``[namespace, name, dimension, value, …, {options}]``, or
    ``[{"expression": "SEARCH(…)", "id": …, "label": …}]`` (values may be Outputs)."""
    region = region if region is not None else aws.get_region_output().region
    return pulumi.Output.all(region, pulumi.Output.from_input(metrics)).apply(lambda values: {
        "type": "metric", "width": width, "properties": {
            "title": title, "region": values[0], "metrics": values[1], "stat": stat, "period": period_seconds,
            "view": "timeSeries", "stacked": False}})


def rule_graph(rule: aws.cloudwatch.EventRule, what: str) -> pulumi.Output[dict]:
    """How often an event rule matched (``what`` happened) and failed to deliver to its target."""
    return metric_graph(what, [["AWS/Events", "TriggeredRules", "RuleName", rule.name, {"label": "matched"}],
                               ["AWS/Events", "FailedInvocations", "RuleName", rule.name,
                                {"label": "not delivered"}]])


def widgets(alarms: Sequence[aws.cloudwatch.MetricAlarm] = (),
            rules: Sequence[tuple[aws.cloudwatch.EventRule, str]] = (),
            graphs: Sequence[pulumi.Output[dict]] = ()) -> pulumi.Output[list[dict]]:
    """A pattern stack's ``dashboard_widgets``: its alarms' status and graphs, its rules, its own graphs."""
    made = ([alarm_status("alarms", alarms)] if alarms else []) + [alarm_graph(a) for a in alarms]
    made += [rule_graph(rule, what) for rule, what in rules if rule is not None] + list(graphs)
    return pulumi.Output.all(*made).apply(list)


@dataclass(frozen=True)
class DashboardArgs(Args):
    sections: Sequence[tuple[str, pulumi.Input[Sequence[Mapping[str, Any]]]]] = wiring(
        "(title, dashboard_widgets) of each pattern stack, in the order they are shown.")
    time_range: str = setting("-PT6H", Text(r"-P(T\d{1,3}[HM]|\d{1,3}[DW])", "an ISO 8601 duration back from now, "
                                            "such as -PT3H, -PT30M, -P1D or -P1W"),
                              "How far back the graphs reach when the dashboard opens.")
    period_override: str = setting("auto", OneOf("auto", "inherit"),
                                   "auto: CloudWatch picks each graph's period for the time range; inherit: each "
                                   "graph keeps its own period.")


class Dashboard(pulumi.ComponentResource):
    dashboard: aws.cloudwatch.Dashboard

    def __init__(self, name: str, args: DashboardArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("cloud-patterns:operations:Dashboard", name, None, opts)
        titles = [title for title, _ in args.sections]
        body = pulumi.Output.all(*[pulumi.Output.from_input(w) for _, w in args.sections]).apply(
            lambda lists: json.dumps(layout(list(zip(titles, lists)), args.time_range, args.period_override),
                                     sort_keys=True))
        self.dashboard = aws.cloudwatch.Dashboard(name, dashboard_name=name, dashboard_body=body,
                                                  opts=pulumi.ResourceOptions(parent=self))
        self.register_outputs({"dashboard_name": self.dashboard.dashboard_name,
                               "dashboard_arn": self.dashboard.dashboard_arn})


def layout(sections: Sequence[tuple[str, Sequence[Mapping[str, Any]]]], start: str, period_override: str) -> dict:
    """The dashboard body: a heading per section, then its widgets left to right, wrapping at 24 columns."""
    placed, y = [], 0
    for title, items in sections:
        placed.append({"type": "text", "x": 0, "y": y, "width": COLUMNS, "height": 1,
                       "properties": {"markdown": f"## {title}"}})
        y, x, row = y + 1, 0, 0
        for index, item in enumerate(items):
            _check(title, index, item)
            width, height = _size(title, index, item, "width"), _size(title, index, item, "height")
            if x + width > COLUMNS:
                y, x, row = y + row, 0, 0
            placed.append({"type": item["type"], "x": x, "y": y, "width": width, "height": height,
                           "properties": _whole_numbers(item["properties"])})
            x, row = x + width, max(row, height)
        y += row
    if len(placed) > MAX_WIDGETS:
        raise ValueError(f"{len(placed)} widgets: a CloudWatch dashboard holds at most {MAX_WIDGETS}")
    return {"start": start, "periodOverride": period_override, "widgets": placed}


def _check(title: str, index: int, item: Any) -> None:
    """A widget from another stack's output: refused with where it came from, not sent to CloudWatch to refuse."""
    if not isinstance(item, Mapping) or item.get("type") not in WIDGET_TYPES \
            or not isinstance(item.get("properties"), Mapping):
        raise ValueError(f"{title}'s {OUTPUT}[{index}]: not a widget (type one of {', '.join(WIDGET_TYPES)}, "
                         "and properties)")


def _size(title: str, index: int, item: Mapping[str, Any], key: str) -> int:
    """The widget's width or height (a stack reference hands numbers over as floats)."""
    default, most = {"width": (WIDTH, COLUMNS), "height": (HEIGHT, MAX_HEIGHT)}[key]
    value = _whole_numbers(item.get(key, default))
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= most:
        raise ValueError(f"{title}'s {OUTPUT}[{index}].{key}: {value!r}; allowed: 1 to {most}")
    return value


def _whole_numbers(value: Any) -> Any:
    """Numbers as the exporting stack wrote them: a stack reference hands 60 over as 60.0."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, Mapping):
        return {k: _whole_numbers(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_whole_numbers(v) for v in value]
    return value
