"""Command line of the driver: a thin layer over functions a Python script can call (``stacks.driver``)."""
from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.markdown import Markdown
from rich.markup import escape
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

from planning import project
from planning.offline import MOCK_NOTE, SECRET, StackPlan, plan_document, plan_environment
from planning.project import Environment, ProjectError, load_environment
from policies.evaluate import policy_gate
from stacks import driver, placeholders, scan, settings_docs
from stacks import graph as stack_graph
from stacks import init as stack_init
from stacks.changes import StackChanges
from stacks.cost import CostError, estimate, estimate_markdown, plans_from_document, report_section
from stacks.diff import OFFLINE_NOTE, diff_against, diff_documents
from stacks.engine import CliNotFound
from stacks.markdown import Report
from stacks.markdown import render as render_markdown
from stacks.orchestrator import Engine, Operation, RunSummary, check_destroy, select
from stacks.progress import SYMBOLS, JsonLines, LiveView, render_summary

app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__)
err = Console(stderr=True)
out = Console()

EnvironmentArg = Annotated[str, typer.Argument(help="Environment, e.g. dev or prod.")]
StackOption = Annotated[Optional[list[str]], typer.Option(
    "--stack", "-s", help="A stack to act on, short (network) or full (dev-network) name; repeatable.")]
WithDepsOption = Annotated[bool, typer.Option(
    "--with-deps", help="Also act on the stacks the selected ones depend on.")]
WithDependentsOption = Annotated[bool, typer.Option(
    "--with-dependents", help="Also act on the stacks that depend on the selected ones.")]
ParallelOption = Annotated[int, typer.Option(
    "--parallel", "-p", min=1, help="At most this many stacks run at once (independent stacks only).")]
JsonOption = Annotated[bool, typer.Option(
    "--json", help="Machine-readable output: one JSON object per event, then the summary.")]
MarkdownOption = Annotated[Optional[Path], typer.Option(
    "--markdown", help="Write a Markdown summary of the changes (for a pull-request comment) to this file; its "
                       "directory must exist (checked before anything runs).")]
CLOUD_COMMANDS = frozenset(operation.value for operation in Operation)
"""The commands that run the Pulumi CLI: one per operation of the engine."""


@dataclass(frozen=True)
class Selection:
    stacks: list[str] | None = None
    with_deps: bool = False
    with_dependents: bool = False


@app.callback()
def root() -> None:
    """Plan and provision this project's stacks, environment by environment."""


def fail(message: str, code: int = 2) -> None:
    err.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def load(environment: str, selection: Selection) -> tuple[Environment, list[str]]:
    """The environment and the selected stacks, or a clear error before anything runs."""
    try:
        env = load_environment(environment)
        return env, select(env, selection.stacks, selection.with_deps, selection.with_dependents)
    except ProjectError as error:
        fail(str(error))


def no_cli_commands() -> list[str]:
    """Every command that needs no Pulumi CLI, as a user types it (commands added later are named too)."""
    names = sorted(command.name or command.callback.__name__.replace("_", "-") for command in app.registered_commands)
    return [f"{name} --offline" if name == "plan" else name for name in names if name not in CLOUD_COMMANDS]


def cli_missing(error: CliNotFound) -> str:
    return f"{error} Commands that need no CLI: {', '.join(no_cli_commands())}."


def check_markdown_path(path: Path | None) -> None:
    """Refuses, before anything is planned or run, a ``--markdown`` file that could not be written."""
    if path is None:
        return
    directory = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        fail(f"--markdown {path}: is a directory; give a file name, e.g. {path / 'summary.md'}")
    if not directory.is_dir():
        fail(f"--markdown {path}: directory {directory} does not exist; create it or choose another path")
    if not os.access(directory, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        fail(f"--markdown {path}: not writable")


def make_engine(environment: str) -> Engine:
    """The Automation API engine, once the Pulumi CLI and the secrets passphrase are known to be there."""
    try:
        engine = driver.default_engine(environment=environment)
    except CliNotFound as error:
        fail(cli_missing(error))
    except ProjectError as error:
        fail(str(error))
    if os.environ.get(driver.SIMULATE_VARIABLE):
        err.print(f"[yellow]simulated engine[/] ({driver.SIMULATE_VARIABLE}): no cloud is touched", highlight=False)
    return engine


def on_interrupt(count: int, console: Console = err) -> None:
    """Says what a Ctrl-C (or SIGTERM) does; ``console`` is the live view's while one is shown (it prints above
    it)."""
    if count == 1:
        console.print("[yellow]cancelling:[/] no new stack starts; running updates finish the operations in "
                      "flight, save their state and release their locks. Ctrl-C again to stop them at once.")
    else:
        console.print("[red]stopping the running updates at once.[/] A stopped update can leave operations "
                      "pending in its stack's state (resources the engine started creating and never heard of "
                      "again). For each stopped stack, check the cloud, then run `pulumi refresh -s <stack> "
                      "--clear-pending-creates` (or `pulumi stack export`, remove the pending operations, "
                      "`pulumi stack import`); with a file backend, a killed update may also leave a lock under "
                      "`.pulumi-state/.pulumi/locks/` that `pulumi cancel` cannot clear: delete it once nothing "
                      "runs.")


def execute(operation: Operation, env: Environment, names: list[str], engine: Engine, parallel: int,
            as_json: bool, diff: bool = False) -> RunSummary:
    """Runs the operation with a live view (or JSON lines) and prints the summary."""
    view = JsonLines(sys.stdout) if as_json else LiveView(out, env.name, operation.value, names)
    try:
        with view:
            summary = driver.run(env, operation, names, parallel=parallel, diff=diff, engine=engine, listener=view,
                                 on_interrupt=lambda count: on_interrupt(count, err if as_json else out))
    except ProjectError as error:
        fail(str(error))
    if as_json:
        view.summary(summary)
    else:
        out.print(render_summary(summary))
    return summary


def finish(summary: RunSummary) -> None:
    raise typer.Exit(summary.exit_code)


def cloud_run(operation: Operation, environment: str, selection: Selection, parallel: int, as_json: bool,
              diff: bool = False) -> RunSummary:
    env, names = load(environment, selection)
    return execute(operation, env, names, make_engine(env.name), parallel, as_json, diff)


# ----- cloud commands (need the Pulumi CLI) -----------------------------------------------------------
@app.command()
def up(environment: EnvironmentArg, stack: StackOption = None, with_deps: WithDepsOption = False,
       with_dependents: WithDependentsOption = False, parallel: ParallelOption = 4,
       as_json: JsonOption = False) -> None:
    """Create or update the stacks, upstream first, independent stacks in parallel."""
    finish(cloud_run(Operation.UP, environment, Selection(stack, with_deps, with_dependents), parallel, as_json))


@app.command()
def preview(environment: EnvironmentArg, stack: StackOption = None, with_deps: WithDepsOption = False,
            with_dependents: WithDependentsOption = False, parallel: ParallelOption = 4,
            as_json: JsonOption = False,
            diff: Annotated[bool, typer.Option("--diff", help="Show each stack's property-level diff.")] = False,
            markdown: MarkdownOption = None) -> None:
    """Show what up would change (stacks read their upstream stacks' deployed outputs)."""
    check_markdown_path(markdown)
    summary = cloud_run(Operation.PREVIEW, environment, Selection(stack, with_deps, with_dependents), parallel,
                        as_json, diff)
    if diff and not as_json:
        print_diffs(summary)
    if markdown:
        report = Report(f"Pulumi preview: {summary.environment}", summary.stack_changes(),
                        intro="Cloud preview with the stacks' deployed state; the policy packs ran on it.")
        extend_preview_report(report, summary)
        write_report(report, markdown)
    finish(summary)


def extend_preview_report(report: Report, summary: RunSummary) -> None:
    """Further sections of the preview's Markdown summary (``report.add_section(title, markdown)``)."""
    report.add_section("Cost", report_section(load_environment(summary.environment),
                                              [o.stack for o in summary.outcomes]))


def print_diffs(summary: RunSummary) -> None:
    for outcome in summary.outcomes:
        if outcome.result is not None and outcome.result.diff:
            out.rule(outcome.stack)
            out.print(outcome.result.diff, highlight=False, markup=False)


@app.command()
def destroy(environment: EnvironmentArg, stack: StackOption = None, with_deps: WithDepsOption = False,
            with_dependents: WithDependentsOption = False, parallel: ParallelOption = 4,
            as_json: JsonOption = False,
            yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False) -> None:
    """Delete the stacks' resources, dependents first. Refuses while deployed dependents are not selected."""
    env, names = load(environment, Selection(stack, with_deps, with_dependents))
    engine = make_engine(env.name)
    try:
        check_destroy(env, names, engine.deployed(env.dependents(names)))
    except ProjectError as error:
        fail(str(error))
    confirm(f"Destroy every resource of {', '.join(names)}?", yes)
    finish(execute(Operation.DESTROY, env, names, engine, parallel, as_json))


def confirm(question: str, yes: bool) -> None:
    if yes:
        return
    if not sys.stdin.isatty():
        fail("destroy asks for confirmation; not running interactively, pass --yes")
    if not typer.confirm(question, default=False):
        fail("nothing destroyed", code=1)


@app.command()
def refresh(environment: EnvironmentArg, stack: StackOption = None, with_deps: WithDepsOption = False,
            with_dependents: WithDependentsOption = False, parallel: ParallelOption = 4,
            as_json: JsonOption = False) -> None:
    """Bring the stacks' state in line with what exists in the cloud."""
    finish(cloud_run(Operation.REFRESH, environment, Selection(stack, with_deps, with_dependents), parallel,
                     as_json))


@app.command()
def outputs(environment: EnvironmentArg, stack: StackOption = None, with_deps: WithDepsOption = False,
            with_dependents: WithDependentsOption = False, parallel: ParallelOption = 4,
            as_json: Annotated[bool, typer.Option("--json", help="Print one JSON document of every stack's "
                                                                 "outputs.")] = False,
            show_secrets: Annotated[bool, typer.Option(help=escape(f"Show secret outputs instead of {SECRET}."))
                                    ] = False
            ) -> None:
    """Print the stacks' outputs."""
    env, names = load(environment, Selection(stack, with_deps, with_dependents))
    engine = make_engine(env.name)
    try:
        summary = driver.run(env, Operation.OUTPUTS, names, parallel=parallel, engine=engine,
                             on_interrupt=on_interrupt)
    except ProjectError as error:
        fail(str(error))
    if as_json:
        document = {"environment": env.name, "stacks": {}, "errors": {}}
        for outcome in summary.outcomes:
            if outcome.result is not None and outcome.result.outputs is not None:
                document["stacks"][outcome.stack] = outcome.to_json(show_secrets)["outputs"]
            else:
                document["errors"][outcome.stack] = outcome.error or outcome.reason
        sys.stdout.write(json.dumps(document, indent=2, default=str) + "\n")
    else:
        print_outputs(summary, show_secrets)
    finish(summary)


def print_outputs(summary: RunSummary, show_secrets: bool) -> None:
    for outcome in summary.outcomes:
        if outcome.result is None or outcome.result.outputs is None:
            err.print(f"[red]{outcome.stack}[/]: {outcome.error or outcome.reason}", highlight=False)
            continue
        table = Table(title=outcome.stack, title_justify="left", show_header=False)
        for name, output in sorted(outcome.result.outputs.items()):
            shown = SECRET if output.secret and not show_secrets else json.dumps(output.value, default=str)
            table.add_row(Text(name), Text(shown))  # plain text: "[secret]" and values are not markup
        out.print(table)


# ----- offline commands (no CLI, no cloud) ------------------------------------------------------------
@app.command()
def graph(environment: EnvironmentArg, stack: StackOption = None, with_deps: WithDepsOption = False,
          with_dependents: WithDependentsOption = False,
          mermaid: Annotated[bool, typer.Option("--mermaid", help="Print a Mermaid flowchart.")] = False,
          as_json: Annotated[bool, typer.Option("--json", help="Print the graph as JSON.")] = False) -> None:
    """Show the dependency graph of the stacks: what runs before what, and what runs in parallel."""
    env, names = load(environment, Selection(stack, with_deps, with_dependents))
    if as_json:
        sys.stdout.write(json.dumps(stack_graph.to_json(env, names), indent=2) + "\n")
    else:
        sys.stdout.write((stack_graph.to_mermaid if mermaid else stack_graph.to_text)(env, names) + "\n")


@app.command()
def plan(environment: EnvironmentArg,
         offline: Annotated[bool, typer.Option(help="Evaluate with the SDK's mock engine: no cloud, no CLI.")] = False,
         as_json: Annotated[bool, typer.Option("--json", help="Print the plan document as JSON on stdout.")] = False,
         stack: StackOption = None, with_deps: WithDepsOption = False,
         with_dependents: WithDependentsOption = False,
         diff_against: Annotated[Optional[str], typer.Option(
             "--diff-against", metavar="GIT-REF",
             help="Compare with the offline plan of this git ref (e.g. origin/main) and summarise the changes.")
         ] = None,
         markdown: MarkdownOption = None,
         output_format: Annotated[Optional[scan.PlanFormat], typer.Option(
             "--format", help="terraform-plan: print the plan as one Terraform plan JSON document (for Checkov "
                              "and other Terraform tools).")] = None) -> None:
    """Plan every stack of an environment (or the selected ones) in dependency order."""
    if not offline:
        fail("plan runs only --offline; for a cloud preview use `python -m stacks preview`")
    check_markdown_path(markdown)
    env, names = load(environment, Selection(stack, with_deps, with_dependents))
    if diff_against:
        offline_diff(env, names, diff_against, as_json, markdown)
        return
    plans = offline_plans(env, names)
    if output_format is scan.PlanFormat.TERRAFORM_PLAN:
        sys.stdout.write(scan.terraform_plan_json(env.name, plans, err))
        return
    found = placeholders.find(env, [p.spec.name for p in plans])
    if markdown:
        report = Report(f"Offline plan: {env.name} (as a new environment)",
                        diff_documents({"stacks": []}, plan_document(env, plans)), intro=OFFLINE_NOTE)
        extend_offline_report(report, env, names, plans=plans)
        if found:
            report.add_section("Placeholders", placeholders_markdown(found))
        write_report(report, markdown)
    if as_json:
        document = plan_document(env, plans)
        document["placeholders"] = [p.to_json() for p in found]
        print_placeholders(found, err)
        violated = policy_gate(plans, err, document)  # adds the "policy" section
        sys.stdout.write(json.dumps(document, indent=2, sort_keys=False, default=str) + "\n")
    else:
        out.print(Text(f"{env.name}: {MOCK_NOTE}.", style="yellow"))
        for stack_plan in plans:
            out.print(render_plan(stack_plan))
        custom, components = counts(plans)
        out.print(f"[bold]{env.name}[/]: {len(plans)} stacks, {custom} resources and {components} components "
                  f"planned offline (mock values)")
        print_placeholders(found, out)
        violated = policy_gate(plans, out)
    if violated:
        raise typer.Exit(1)  # a mandatory policy is violated


@app.command()
def cost(environment: EnvironmentArg, stack: StackOption = None, with_deps: WithDepsOption = False,
         with_dependents: WithDependentsOption = False,
         as_json: Annotated[bool, typer.Option("--json", help="Print the estimate as JSON on stdout.")] = False,
         usage: Annotated[Optional[Path], typer.Option(
             help="YAML file of monthly usage that turns usage-based prices into a monthly total.")] = None) -> None:
    """Estimate each stack's fixed monthly cost and its usage-based prices, from the offline plan."""
    env, names = load(environment, Selection(stack, with_deps, with_dependents))
    try:
        result = estimate(env.name, names, usage)
    except (ProjectError, CostError) as error:
        fail(str(error))
    except Exception as error:  # a program's own error (e.g. invalid config): its message, no traceback
        fail(f"{type(error).__name__}: {error}")
    if as_json:
        sys.stdout.write(json.dumps(result.to_json(), indent=2) + "\n")
        return
    out.print(Markdown(estimate_markdown(result, collapsible=False)))


@app.command()
def docs(check: Annotated[bool, typer.Option("--check", help="Only report drifted tables; exit 1 if any.")] = False
         ) -> None:
    """Regenerate the settings tables of docs/<program>.md from the programs' Args declarations."""
    problems = settings_docs.stale(write=not check)
    remaining = settings_docs.stale() if not check else problems
    for problem in remaining:
        err.print(problem, highlight=False, markup=False)
    if remaining:
        raise typer.Exit(1)
    out.print("settings tables are up to date" if check else "settings tables written", highlight=False)


@app.command("scan")
def scan_command(environment: EnvironmentArg, stack: StackOption = None, with_deps: WithDepsOption = False,
                 with_dependents: WithDependentsOption = False,
                 as_json: Annotated[bool, typer.Option("--json", help="Print the results as JSON on stdout.")] = False
                 ) -> None:
    """Run Checkov's checks on the offline plan (exported as a Terraform plan); exit 1 on an unskipped failure."""
    env, names = load(environment, Selection(stack, with_deps, with_dependents))
    try:
        result = scan.scan_environment(env.name, offline_plans(env, names))
    except scan.ScanError as error:
        fail(str(error))
    if as_json:
        sys.stdout.write(json.dumps(result.to_json(), indent=2) + "\n")
    else:
        out.print(scan.render(result))
    raise typer.Exit(result.exit_code)


@app.command()
def init(environment: Annotated[str, typer.Argument(help="The new environment, e.g. staging (letters and digits).")],
         template: Annotated[str, typer.Option("--from", help="The environment whose stack files to start from.")
                             ] = "dev",
         region: Annotated[Optional[str], typer.Option(help="AWS region of every AWS stack.")] = None,
         nat_strategy: Annotated[Optional[str], typer.Option(help="The network's NAT: none, single, one-per-az.")
                                 ] = None,
         domain: Annotated[Optional[str], typer.Option(
             help=f"DNS domain: the back office is {stack_init.BACKOFFICE}.DOMAIN (and the static site DOMAIN where "
                  "the template gives it one).")] = None,
         zone_id: Annotated[Optional[str], typer.Option(help="Route 53 hosted zone of the static site's domain.")
                            ] = None,
         certificate_arn: Annotated[Optional[str], typer.Option(
             help="ACM certificate in the region covering the back office's host name.")] = None,
         email_domain: Annotated[Optional[list[str]], typer.Option(
             help="An e-mail domain allowed to sign in to the back office; repeatable.")] = None,
         gcp_project: Annotated[Optional[str], typer.Option(help="GCP project of the GCP stacks.")] = None,
         alert_email: Annotated[Optional[list[str]], typer.Option(
             help="An address the alarms notify; repeatable.")] = None,
         prompt: Annotated[bool, typer.Option(help="Ask for the values not given (only on a terminal).")] = True
         ) -> None:
    """Write a new environment's stack files from another's, with your region, domain, certificate, e-mail
    domains, GCP project, NAT strategy and alert e-mails; each value checked by its setting's rule. Never
    overwrites."""
    given = {"region": region, "nat_strategy": nat_strategy, "domain": domain, "zone_id": zone_id,
             "certificate_arn": certificate_arn, "email_domain": email_domain, "gcp_project": gcp_project,
             "alert_email": alert_email}
    project_dir = project.PROJECT_DIR
    try:
        stack_init.check_new(environment, template, project_dir)
        source = load_environment(template, project_dir)
        questions = stack_init.questions_for(source)
        answers = {q.name: stack_init.parse(q, given[q.name]) for q in questions if given[q.name] is not None}
        for question in questions:
            stack_init.check_answer(question, answers[question.name], source) if question.name in answers else None
        if prompt and interactive():
            answers.update(ask(environment, source, [q for q in questions if q.name not in answers]))
        draft = stack_init.draft(environment, source, answers)
        paths = stack_init.write(draft, project_dir)
    except ProjectError as error:
        fail(str(error))
    out.print(f"wrote {len(paths)} stack files of {environment} from {template}: "
              f"{', '.join(p.name for p in paths)}", highlight=False)
    for dropped in draft.dropped_secrets:
        out.print(Text(f"secret not carried over (encrypted for {template}), set it again: {dropped}"))
    print_placeholders(stack_init.remaining_placeholders(environment, project_dir), out)
    out.print(f"next: .venv/bin/python -m stacks plan {environment} --offline, then docs/deploying.md", highlight=False)


def interactive() -> bool:
    return sys.stdin.isatty()


def ask(environment: str, source: Environment, questions: list) -> dict:
    """Prompts for each question until its answer passes its rules; an empty answer keeps the template's value."""
    answers = {}
    out.print(f"Values for {environment} (Enter keeps {source.name}'s value, shown in brackets):", highlight=False)
    for question in questions:
        while True:
            kept = stack_init.current(question, source)
            raw = typer.prompt(f"{question.text} [{kept}]", default="", show_default=False)
            if not raw.strip():
                break
            value = stack_init.parse(question, raw)
            try:
                stack_init.check_answer(question, value, source)
            except ProjectError as error:
                err.print(Text(f"  {error}", style="red"))
                continue
            answers[question.name] = value
            break
    return answers


def offline_plans(env: Environment, names: list[str]) -> list[StackPlan]:
    try:
        return plan_environment(env, names)
    except ProjectError as error:
        fail(str(error))
    except Exception as error:  # a program's own error (e.g. invalid config): its message, no traceback
        fail(f"{type(error).__name__}: {error}")


def offline_diff(env: Environment, names: list[str], ref: str, as_json: bool, markdown: Path | None) -> None:
    try:
        everything = names == list(env.stacks)  # then stacks the change removes are shown too
        offline = diff_against(env.name, ref, selected=None if everything else names)
    except ProjectError as error:
        fail(str(error))
    if markdown:
        report = Report(f"Offline plan diff: {env.name}, {ref} ({offline.commit}) → this change", offline.changes,
                        intro=OFFLINE_NOTE)
        extend_offline_report(report, env, names, plans=plans_from_document(offline.head_document, names, env),
                              base_plans=plans_from_document(offline.base_document, names))
        write_report(report, markdown)
    if as_json:
        document = {"environment": env.name, "base": ref, "commit": offline.commit,
                    "stacks": [c.to_json() for c in offline.changes]}
        sys.stdout.write(json.dumps(document, indent=2) + "\n")
    else:
        for stack_changes in offline.changes:
            out.print(render_changes(stack_changes))


def extend_offline_report(report: Report, env: Environment, names: list[str], plans: list[StackPlan],
                          base_plans: list[StackPlan] | None = None) -> None:
    """Further sections of the offline plan's Markdown summary (``report.add_section(title, markdown)``)."""
    report.add_section("Cost", report_section(env, names, plans=plans, base_plans=base_plans))
    report.add_section("Checkov", scan.report_section(env.name, plans))


def write_report(report: Report, path: Path) -> None:
    path.write_text(render_markdown(report))
    err.print(f"wrote {path}", highlight=False)


def render_changes(changes: StackChanges) -> Tree:
    counts = ", ".join(f"{n} to {a}" for a, n in changes.counts().items() if n) or "no changes"
    note = f" ({changes.note})" if changes.note else ""
    tree = Tree(f"[bold]{changes.stack}[/]{note}: {counts}")
    for action in ("create", "update", "replace", "delete"):
        for resource in changes.of(action):
            detail = f" ({', '.join(resource.properties)})" if resource.properties else ""
            tree.add(f"{SYMBOLS[action]} {resource.type} [cyan]{resource.name}[/]{detail}", highlight=False)
    return tree


def counts(plans: list[StackPlan]) -> tuple[int, int]:
    """(resources, components) of the plans: what the stack lines and the footer both count."""
    custom = sum(r.custom for p in plans for r in p.resources)
    return custom, sum(len(p.resources) for p in plans) - custom


def print_placeholders(found: list[placeholders.Placeholder], console: Console) -> None:
    if not found:
        return
    tree = Tree(Text(f"warning: {placeholders.warning(len(found))}", style="yellow"))
    for placeholder in found:
        tree.add(Text(str(placeholder)))
    console.print(tree)


def placeholders_markdown(found: list[placeholders.Placeholder]) -> str:
    rows = [f"{placeholders.warning(len(found))}.", "", "| file | key | value | stands for |",
            "| --- | --- | --- | --- |"]
    rows += [f"| `{p.file}` | `{p.key}` | `{p.value}` | {p.what} |" for p in found]
    return "\n".join(rows)


def render_plan(plan: StackPlan):
    """A stack's resources as a tree (type and name, under their parents), then its outputs."""
    deps = f" (depends on {', '.join(plan.spec.depends_on)})" if plan.spec.depends_on else ""
    custom, components = counts([plan])
    tree = Tree(f"[bold]{plan.spec.name}[/] program={plan.spec.program}{deps}: "
                f"{custom} resources, {components} components")
    nodes = {}
    for resource in plan.resources:
        parent = nodes.get(resource.parent, tree)
        nodes[resource.urn] = parent.add(Text.assemble(f"{resource.type} ", (resource.name, "cyan")))
    outputs = tree.add("[bold]outputs[/]")
    for name, value in plan.outputs.items():
        shown = SECRET if type(value).__name__ == "SecretValue" else json.dumps(value, default=str)
        outputs.add(Text(f"{name} = {shown}"))  # plain text: values may hold "[...]" or ":emoji:" lookalikes
    return tree


def main() -> None:
    app()
