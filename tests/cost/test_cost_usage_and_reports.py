"""Usage files, real programs and components through the estimator, the Markdown reports and the CLI."""
from __future__ import annotations

import json
import textwrap

import pytest
from typer.testing import CliRunner

from components import iam
from components.fargate_task import ContainerSpec, FargateTask, FargateTaskArgs
from components.lambda_function import LambdaFunction, LambdaFunctionArgs
from planning.offline import PlannedResource, StackPlan, plan_document, plan_environment
from planning.project import PROJECT_DIR, load_environment
from stacks.cli import app
from stacks.cost import CostError, cost_markdown, estimate_environment, load_usage, plans_from_document, report_section
from tests.conftest import make_spec, planned, run_components, run_program

USAGE_EXAMPLE = PROJECT_DIR / "stacks" / "usage.example.yaml"


def write(tmp_path, text: str):
    path = tmp_path / "usage.yaml"
    path.write_text(textwrap.dedent(text))
    return path


def demo_plan(short_name: str = "demo", desired: int = 2, cpu: int = 256, job_memory: int = 512) -> StackPlan:
    def res(type_token, name, **inputs):
        return PlannedResource(f"urn:{name}", type_token, name, None, inputs, True)
    return StackPlan(make_spec("network", short_name=short_name), resources=[
        res("aws:ecs/taskDefinition:TaskDefinition", "web", family="web", cpu=str(cpu), memory="1024",
            requiresCompatibilities=["FARGATE"]),
        res("aws:ecs/service:Service", "web", launchType="FARGATE", desiredCount=desired,
            taskDefinition="arn:aws:ecs:us-east-1:123456789012:task-definition/web:1"),
        res("aws:ecs/taskDefinition:TaskDefinition", "job", family="job", cpu="256", memory=str(job_memory),
            requiresCompatibilities=["FARGATE"]),
        res("aws:cloudwatch/logGroup:LogGroup", "web-logs", retentionInDays=30),
        res("aws:cloudwatch/logGroup:LogGroup", "job-logs", retentionInDays=30),
        res("aws:lambda/function:Function", "fn", memorySize=256, architectures=["x86_64"], role="r")])


def test_a_usage_file_turns_unit_prices_into_a_monthly_total(tmp_path):
    usage = load_usage(write(tmp_path, """
        defaults:
          log_gb: 1
          lambda_duration_ms: 500
        stacks:
          demo:
            task_runs: 20000
            task_seconds: 120
            log_gb: {web-logs: 4}
            lambda_invocations: 1000000
    """))
    estimate = estimate_environment([demo_plan()], usage)
    stack = estimate.stack("demo")
    # job runs: 20,000 × 120 s × (0.25 vCPU × $0.04048 + 0.5 GB × $0.004445)/3600 = 20,000 × $0.000411467
    job = 20_000 * 120 * (0.25 * 0.04048 + 0.5 * 0.004445) / 3600
    # logs: (4 GB web + 1 GB job, the default) × ($0.50 + $0.03 × 30 / 30.4167)
    logs = 5 * (0.50 + 0.03 * 30 / (365 / 12))
    # Lambda: 1M × ($0.20/1M + 0.25 GB × 0.5 s × $0.0000166667)
    function = 0.20 + 1e6 * 0.25 * 0.5 * 0.0000166667
    assert stack.usage_monthly == pytest.approx(job + logs + function)  # $8.23 + $2.65 + $2.28
    assert stack.fixed_monthly == pytest.approx(2 * 730 * 0.014565)  # the service, whatever the usage
    assert estimate.usage_monthly == stack.usage_monthly and estimate.usage_source.endswith("usage.yaml")


def test_stack_sections_apply_by_short_or_full_name_and_without_usage_monthly_is_unknown(tmp_path):
    usage = load_usage(write(tmp_path, "stacks:\n  test-demo:\n    task_runs: 10\n"))
    [line] = [u for u in estimate_environment([demo_plan()], usage).stack("demo").usage if u.usage_key == "task_runs"]
    assert line.quantity == 10
    bare = estimate_environment([demo_plan()])
    assert all(u.quantity is None and u.monthly is None for u in bare.stack("demo").usage)
    assert bare.to_json()["usage_monthly"] is None


@pytest.mark.parametrize("text, message", [
    ("stacks:\n  demo:\n    thumbnails: 5\n", "stacks.demo.thumbnails: unknown usage key; allowed: alb_lcu"),
    ("defaults:\n  task_runs: -1\n", "defaults.task_runs is -1; it must be a non-negative number"),
    ("defaults:\n  log_gb: {web-logs: many}\n", "defaults.log_gb.web-logs is 'many'"),
    ("stacks: [demo]\n", "stacks must map a stack name to its usage"),
    ("usage:\n  x: 1\n", "unknown top-level key 'usage'"),
    ("stacks:\n  demo: {task_runs: [1\n", "not valid YAML"),
])
def test_bad_usage_files_are_refused_with_the_offending_key(tmp_path, text, message):
    with pytest.raises(CostError, match="usage.yaml") as error:
        load_usage(write(tmp_path, text))
    assert message in str(error.value)


def test_usage_naming_an_unknown_stack_or_resource_is_refused(tmp_path):
    with pytest.raises(CostError, match=r"stacks\.demos is no stack of this environment; stacks: demo"):
        estimate_environment([demo_plan()], load_usage(write(tmp_path, "stacks:\n  demos: {task_runs: 1}\n")))
    with pytest.raises(CostError, match=r"stacks\.demo\.log_gb\.fn: test-demo has no resource 'fn' that log_gb"):
        estimate_environment([demo_plan()], load_usage(write(tmp_path, "stacks:\n  demo:\n    log_gb: {fn: 1}\n")))
    with pytest.raises(CostError, match="No such file"):
        load_usage(tmp_path / "missing.yaml")


def test_network_program_with_nat_and_interface_endpoints():
    plan = run_program("network", {"network": {"az_count": 2, "nat_strategy": "single", "interface_endpoints": True}})
    stack = estimate_environment([plan]).stacks[0]
    # 1 NAT gateway ($32.85) + its EIP ($3.65) + 4 interface endpoints × 2 AZ × 730 h × $0.01 ($58.40)
    assert stack.fixed_monthly == pytest.approx(32.85 + 3.65 + 58.40)
    assert stack.not_priced == []
    accounted = {(line.resource, line.type) for line in [*stack.fixed, *stack.usage, *stack.free]}
    assert accounted == {(r.name, r.type) for r in plan.resources if r.custom}


def test_invoker_found_through_the_policy_a_real_lambda_component_renders():
    def main():
        task = FargateTask("thumbs", FargateTaskArgs(containers=[ContainerSpec("worker", image="repo@sha256:ab",
                                                                               memory_mb=1024)]))
        LambdaFunction("invoker", LambdaFunctionArgs(
            source_dir="runtime/task_invoker", memory_mb=128, environment={"ASSIGN_PUBLIC_IP": "DISABLED"},
            policy_statements=[iam.statement(["ecs:RunTask"], [task.task_definition.arn_without_revision.apply(
                lambda arn: f"{arn}:*")])]))
    stack = estimate_environment([run_components(main)]).stacks[0]
    [run] = stack.per_task_run
    # 60 s × $0.014565/h + one 128 MB arm64 invocation of 200 ms (the default assumption)
    assert run.price == pytest.approx(0.014565 / 60 + 0.2e-6 + 0.125 * 0.2 * 0.0000133334)
    assert "started by invoker" in run.item
    assert not any(u.resource == "invoker" for u in stack.usage)


def test_markdown_lists_every_stack_and_the_environment_total():
    text = cost_markdown([demo_plan("demo"), demo_plan("other", desired=1)])
    assert "### Cost estimate: test" in text and "taken 2026-11-23" in text and "to be checked" in text
    # 2 web tasks; a run of job: 60 s × (0.25 vCPU × $0.04048 + 0.5 GB × $0.004445)/h
    assert "| test-demo | $21.26 | — | $0.000206 | — |" in text
    assert "| **test** | **$31.90** | **—** | | |" in text  # 3 × 730 h × $0.014565
    assert "<details><summary>test-demo: $21.26 a month fixed, 4 usage rates" in text


def test_diff_markdown_shows_the_cost_change_of_a_pull_request():
    before = [demo_plan("demo", desired=2), demo_plan("gone", desired=1)]
    after = [demo_plan("demo", desired=3, cpu=512, job_memory=2048), demo_plan("new", desired=0)]
    text = cost_markdown(after, base_plans=before, details=False)
    # demo: 2 × 0.25 vCPU → 3 × 0.5 vCPU tasks: 3 × 730 × (0.5 × $0.04048 + $0.004445) − $21.26
    grown = 3 * 730 * (0.5 * 0.04048 + 0.004445) - 2 * 730 * 0.014565
    assert f"| test-demo | $21.26 | $54.06 | +${grown:.2f} |" in text
    assert "| test-gone (removed) | $10.63 | $0.00 | −$10.63 |" in text
    assert "| test-new (new) | $0.00 | $0.00 | $0.00 |" in text
    # a run of job: 60 s × (0.25 × $0.04048 + 0.5 GB → 2 GB × $0.004445)/h
    assert "| test-demo | `job` run of task job | $0.000206 | $0.000317 | per task run |" in text
    assert text.index("### Cost change") < text.index("### Cost estimate")


def test_every_resource_of_dev_and_prod_is_accounted_for_and_priced():
    """The price file knows every type the project's stacks use: "not priced" would mean really unknown."""
    for environment in ("dev", "prod"):
        plans = list(planned(environment))
        estimate = estimate_environment(plans, load_usage(USAGE_EXAMPLE))  # the example names real resources
        for plan, stack in zip(plans, estimate.stacks):
            assert stack.not_priced == [], (plan.spec.name, stack.not_priced)
            priced = {(line.resource, line.type) for line in [*stack.fixed, *stack.usage, *stack.free]}
            assert priced == {(r.name, r.type) for r in plan.resources if r.custom}


def test_cli_cost_prints_json_and_refuses_a_bad_usage_file(tmp_path):
    runner = CliRunner()
    result = runner.invoke(app, ["cost", "prod", "--stack", "network", "--json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert (document["environment"], document["currency"], document["prices_taken"]) == ("prod", "USD", "2026-11-23")
    [network] = document["stacks"]
    assert network["stack"] == "prod-network" and network["fixed_monthly"] == pytest.approx(3 * (32.85 + 3.65))
    bad = runner.invoke(app, ["cost", "prod", "--usage", str(write(tmp_path, "defaults: {nat_gb: lots}\n"))])
    assert bad.exit_code == 2 and "defaults.nat_gb is 'lots'" in bad.stderr
    text = runner.invoke(app, ["cost", "prod", "--stack", "network", "--usage",
                               str(write(tmp_path, "stacks:\n  network: {nat_gb: 100}\n"))])
    assert text.exit_code == 0 and "$13.50" in text.stdout  # 3 gateways × 100 GB × $0.045


def test_plan_documents_read_back_give_the_same_estimate():
    """Base plans of a pull request come from another tree's `plan --offline --json`."""
    env = load_environment("prod")
    plans = plan_environment(env, ["prod-network"])
    document = json.loads(json.dumps(plan_document(env, plans), default=str))
    [read] = plans_from_document(document)
    assert (read.spec.name, read.spec.short_name) == ("prod-network", "network")
    assert estimate_environment([read]).to_json() == estimate_environment(plans).to_json()
    for resource in document["stacks"][0]["resources"]:
        del resource["custom"]  # documents of refs older than the flag: components are told by their type
    assert estimate_environment(plans_from_document(document)).to_json() == estimate_environment(plans).to_json()


def test_offline_plan_markdown_has_a_cost_section(tmp_path):
    report = tmp_path / "plan.md"
    result = CliRunner().invoke(app, ["plan", "prod", "--offline", "--stack", "network", "--markdown", str(report)])
    assert result.exit_code == 0, result.output
    text = report.read_text()
    assert "#### Cost\n\n##### Cost estimate: prod" in text
    assert "| prod-network | $109.50 | — | — | — |" in text  # 3 × ($32.85 NAT + $3.65 EIP)


def test_cost_change_against_a_git_ref():
    env = load_environment("prod")
    text = report_section(env, ["prod-network"], base_ref="HEAD")
    assert "##### Cost change: prod" in text and "| **total** |" in text
    assert "| prod-network | $" in text and "| $109.50 | " in text  # after: this tree's prod network
    assert report_section(env, ["prod-network"], base_ref="no-such-ref").startswith(
        "Cost not estimated: DiffError: --diff-against no-such-ref: not a commit")


def test_preview_markdown_has_a_cost_section(tmp_path):
    simulation = tmp_path / "simulation.json"  # the driver's simulated engine: no cloud, no Pulumi CLI
    simulation.write_text('{"default_duration": 0.01}')
    report = tmp_path / "preview.md"
    result = CliRunner().invoke(app, ["preview", "prod", "--stack", "network", "--json", "--markdown", str(report)],
                                env={"STACKS_SIMULATE": str(simulation)})
    assert result.exit_code == 0, result.output
    assert "| prod-network | $109.50 | — | — | — |" in report.read_text().split("#### Cost", 1)[1]
