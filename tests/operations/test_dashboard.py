"""The environment dashboard: built from every pattern stack's ``dashboard_widgets``, each stack under its name in
the stack file's order, every alarm and the auth sidecar's awsjwtauth metrics on it, laid out without overlap, and
the same bytes on every plan."""
from __future__ import annotations

import json

import pytest

from components.dashboard import OUTPUT, Dashboard, DashboardArgs, layout
from planning.mocks import autoname
from planning.offline import evaluate_stack
from planning.project import load_environment
from runtime.auth_sidecar import contract as sidecar_contract
from tests.conftest import planned, run_components
from tests.operations.test_environment_alarms import NOT_PATTERNS


@pytest.fixture(scope="module", params=["dev", "prod"])
def plans(request):
    return {plan.spec.short_name: plan for plan in planned(request.param)}


def body(plans) -> dict:
    [dashboard] = plans["dashboard"].of_type("aws:cloudwatch/dashboard:Dashboard")
    return json.loads(dashboard.inputs["dashboardBody"])


def sections(plans) -> dict[str, list[dict]]:
    """The body's widgets under each stack's heading."""
    found: dict[str, list[dict]] = {}
    for widget in body(plans)["widgets"]:
        if widget["type"] == "text":
            found[widget["properties"]["markdown"].removeprefix("## ")] = current = []
        else:
            current.append(widget)
    return found


def test_every_pattern_stack_exports_widgets_and_is_upstream_of_the_dashboard(plans):
    patterns = {name for name in plans if name not in NOT_PATTERNS}
    exporting = {name for name, plan in plans.items() if OUTPUT in plan.outputs}
    assert exporting == patterns, "a pattern stack exports no dashboard_widgets"
    assert set(plans["dashboard"].spec.depends_on) == {plans[name].spec.name for name in exporting}


def test_each_stack_is_shown_under_its_name_in_the_stack_files_order(plans):
    spec = plans["dashboard"].spec
    assert list(sections(plans)) == list(spec.upstream.values()) == plans["dashboard"].outputs["stacks"]


def test_every_alarm_of_every_pattern_stack_is_on_the_dashboard_with_its_graph(plans):
    shown = sections(plans)
    for name, plan in plans.items():
        if OUTPUT not in plan.outputs:
            continue
        arns = sorted(f"arn:aws:cloudwatch:{plan.spec.region}:123456789012:alarm:{autoname(a.name, a.inputs)}"
                      for a in plan.of_type("aws:cloudwatch/metricAlarm:MetricAlarm"))
        widgets = shown[plan.spec.name]
        status = [w for w in widgets if w["type"] == "alarm"]
        graphs = [w["properties"]["annotations"]["alarms"][0] for w in widgets
                  if "annotations" in w["properties"]]
        if not arns:
            assert not status and not graphs
            continue
        assert status[0]["properties"]["alarms"] == sorted(graphs) == arns, name


def test_the_auth_sidecars_awsjwtauth_metrics_are_on_it(plans):
    graphs = sections(plans)[plans["auth-sidecar"].spec.name]
    metrics = [m for g in graphs for m in g["properties"].get("metrics", [])
               if isinstance(m[0], dict) or m[0] == "awsjwtauth"]
    service = plans["auth-sidecar"].spec.name
    named = {m[1] for m in metrics if isinstance(m[0], str)}
    assert named == {"info.auth_user", "get_pub_key", "cache.keys.hits", "cache.keys.misses", "restart"}
    assert all(m[2:4] == ["service", service] for m in metrics if isinstance(m[0], str))
    [search] = [m[0]["expression"] for m in metrics if isinstance(m[0], dict)]
    assert search == f"SEARCH('{{awsjwtauth,reason,service}} MetricName=\"error\" service=\"{service}\"', 'Sum', 60)"
    [task] = plans["auth-sidecar"].of_type("aws:ecs/taskDefinition:TaskDefinition")
    [sidecar] = [c for c in json.loads(task.inputs["containerDefinitions"]) if c["name"] == sidecar_contract.CONTAINER]
    assert {"name": sidecar_contract.ENV_METRICS_SERVICE, "value": service} in sidecar["environment"]  # it emits that


def test_the_failed_task_rule_of_tom_thumb_is_graphed(plans):
    graphs = sections(plans)[plans["tom-thumb"].spec.name]
    [rule] = plans["tom-thumb"].of_type("aws:cloudwatch/eventRule:EventRule")
    events = [m for g in graphs for m in g["properties"].get("metrics", []) if m[0] == "AWS/Events"]
    assert [(m[1], m[2], m[3]) for m in events] == [(metric, "RuleName", autoname(rule.name, rule.inputs))
                                                     for metric in ("TriggeredRules", "FailedInvocations")]


def test_no_two_widgets_overlap_and_all_fit_the_grid(plans):
    cells = set()
    for widget in body(plans)["widgets"]:
        assert 0 <= widget["x"] and widget["x"] + widget["width"] <= 24
        covered = {(x, y) for x in range(widget["x"], widget["x"] + widget["width"])
                   for y in range(widget["y"], widget["y"] + widget["height"])}
        assert not cells & covered
        cells |= covered


def test_the_body_is_the_same_bytes_on_every_plan():
    env = load_environment("dev")
    outputs = {plan.spec.name: plan.outputs for plan in planned("dev")}
    spec = env.stacks["dev-dashboard"]
    twice = [evaluate_stack(spec, {u: outputs[u] for u in spec.depends_on}) for _ in range(2)]
    [first, second] = [p.of_type("aws:cloudwatch/dashboard:Dashboard")[0].inputs["dashboardBody"] for p in twice]
    assert first == second and json.dumps(json.loads(first), sort_keys=True) == first


def test_layout_wraps_at_24_columns_and_starts_each_stack_on_a_new_row():
    graph = {"type": "metric", "properties": {"metrics": []}}
    placed = layout([("a", [graph] * 4), ("b", [{**graph, "width": 12.0}])], "-PT3H", "inherit")["widgets"]
    assert [(w["type"], w["x"], w["y"], w["width"]) for w in placed] == [
        ("text", 0, 0, 24), ("metric", 0, 1, 8), ("metric", 8, 1, 8), ("metric", 16, 1, 8), ("metric", 0, 7, 8),
        ("text", 0, 13, 24), ("metric", 0, 14, 12)]


@pytest.mark.parametrize(("widget", "problem"), [
    ({"type": "chart", "properties": {}}, "dev-x's dashboard_widgets[0]: not a widget"),
    ({"type": "metric"}, "dev-x's dashboard_widgets[0]: not a widget"),
    ({"type": "metric", "properties": {}, "width": 30}, "dev-x's dashboard_widgets[0].width: 30"),
])
def test_a_malformed_widget_from_a_stack_is_refused_naming_the_stack(widget, problem):
    with pytest.raises(ValueError, match=problem.replace("[", r"\[").replace("]", r"\]")):
        layout([("dev-x", [widget])], "-PT6H", "auto")


def test_the_dashboard_component_registers_one_dashboard_named_for_it():
    plan = run_components(lambda: Dashboard("test-board", DashboardArgs(sections=[("s", [])])))
    [dashboard] = plan.of_type("aws:cloudwatch/dashboard:Dashboard")
    assert dashboard.inputs["dashboardName"] == "test-board"
    assert json.loads(dashboard.inputs["dashboardBody"]) == {"start": "-PT6H", "periodOverride": "auto", "widgets": [
        {"type": "text", "x": 0, "y": 0, "width": 24, "height": 1, "properties": {"markdown": "## s"}}]}
