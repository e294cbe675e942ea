"""Command line of the driver: a thin layer over functions a Python script can call."""
from __future__ import annotations

import json
import sys
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.tree import Tree

from stacks.offline import SECRET, StackPlan, plan_document, plan_environment
from stacks.project import ProjectError, load_environment

app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__)
err = Console(stderr=True)
out = Console()

StackOption = Annotated[Optional[list[str]], typer.Option(
    "--stack", "-s", help="A stack to act on, short (network) or full (dev-network) name; repeatable.")]


@app.callback()
def root() -> None:
    """Plan and provision this project's stacks, environment by environment."""


def fail(message: str, code: int = 2) -> None:
    err.print(f"[bold red]error:[/] {message}", highlight=False)
    raise typer.Exit(code)


@app.command()
def plan(environment: Annotated[str, typer.Argument(help="Environment, e.g. dev or prod.")],
         offline: Annotated[bool, typer.Option(help="Evaluate with the SDK's mock engine: no cloud, no CLI.")] = False,
         as_json: Annotated[bool, typer.Option("--json", help="Print the plan document as JSON on stdout.")] = False,
         stack: StackOption = None) -> None:
    """Plan every stack of an environment (or the selected ones) in dependency order."""
    if not offline:
        fail("plan runs only --offline; for a cloud preview use `python -m stacks preview`")
    try:
        env = load_environment(environment)
        plans = plan_environment(env, env.resolve(stack))
    except ProjectError as error:
        fail(str(error))
    except Exception as error:  # a program's own error (e.g. invalid config): its message, no traceback
        fail(f"{type(error).__name__}: {error}")
    if as_json:
        sys.stdout.write(json.dumps(plan_document(env, plans), indent=2, sort_keys=False, default=str) + "\n")
        return
    for stack_plan in plans:
        out.print(render_plan(stack_plan))
    total = sum(len(p.resources) for p in plans)
    out.print(f"[bold]{env.name}[/]: {len(plans)} stacks, {total} resources planned offline")


def render_plan(plan: StackPlan):
    """A stack's resources as a tree (type and name, under their parents), then its outputs."""
    deps = f" (depends on {', '.join(plan.spec.depends_on)})" if plan.spec.depends_on else ""
    custom = sum(r.custom for r in plan.resources)
    tree = Tree(f"[bold]{plan.spec.name}[/] program={plan.spec.program}{deps}: "
                f"{custom} resources, {len(plan.resources) - custom} components")
    nodes = {}
    for resource in plan.resources:
        parent = nodes.get(resource.parent, tree)
        nodes[resource.urn] = parent.add(f"{resource.type} [cyan]{resource.name}[/]", highlight=False)
    outputs = tree.add("[bold]outputs[/]")
    for name, value in plan.outputs.items():
        shown = SECRET if type(value).__name__ == "SecretValue" else json.dumps(value, default=str)
        outputs.add(f"{name} = {shown}", highlight=False)
    return tree


def main() -> None:
    app()
