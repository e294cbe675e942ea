"""Plans from plan documents (``plan --offline --json``, e.g. of another git ref), the cost section of a report,
and the cost estimate and cost change as Markdown (for `preview --markdown`, pull requests and the terminal)."""
from __future__ import annotations

import math
import tempfile
from collections.abc import Iterable
from pathlib import Path

from planning.offline import PlannedResource, StackPlan, plan_environment
from planning.project import PROJECT, PROJECT_DIR, Environment, StackSpec
from stacks import diff
from stacks.cost.formatting import _money, _plural, _signed
from stacks.cost.model import EnvironmentCost, StackCost, estimate_environment
from stacks.cost.prices import PriceList, Usage

# ---------------------------------------------------------------------------------------------------
# Plans from plan documents (``plan --offline --json``), e.g. of another git ref.

def plans_from_document(document: dict, selected: Iterable[str] | None = None,
                        specs: Environment | None = None) -> list[StackPlan]:
    """``specs``: the environment the document was planned from, when it is this checkout's (its stacks' config,
    e.g. their region, then stays with the plans)."""
    environment = document["environment"]
    wanted = set(selected) if selected is not None else None
    plans = []
    for stack in document["stacks"]:
        if wanted is not None and stack["name"] not in wanted:
            continue
        spec = specs.stacks.get(stack["name"]) if specs is not None else None
        spec = spec or StackSpec(
            name=stack["name"], environment=environment, short_name=stack["name"].removeprefix(f"{environment}-"),
            program=stack["program"], upstream={name: name for name in stack.get("depends_on", [])}, config={},
            path=Path("."))
        # Documents written before resources carried "custom": the project's own types are its components.
        resources = [PlannedResource(r["urn"], r["type"], r["name"], r.get("parent"), r["inputs"],
                                     r.get("custom", not r["type"].startswith(f"{PROJECT}:")))
                     for r in stack["resources"]]
        plans.append(StackPlan(spec, resources))
    return plans


def plans_at(ref: str, environment: str, selected: Iterable[str] | None = None,
             project_dir: Path | None = None) -> list[StackPlan]:
    """The offline plans of ``environment`` as of the git ``ref`` (exported aside; the checkout is untouched)."""
    project_dir = Path(project_dir or PROJECT_DIR)
    with tempfile.TemporaryDirectory(prefix="stacks-cost-base-") as temporary:
        commit = diff.export_ref(project_dir, ref, Path(temporary))
        document = diff.plan_document(Path(temporary), environment, f"{ref} ({commit})",
                                      stacks=None if selected is None else list(selected))
    return plans_from_document(document, selected)


def report_section(env: Environment, names: list[str], base_ref: str | None = None,
                   plans: list[StackPlan] | None = None, usage: Usage | None = None,
                   base_plans: list[StackPlan] | None = None) -> str:
    """The cost section of a Markdown report (preview, offline plan, offline diff against ``base_ref``).

    A report is still worth having when the estimate is not: the reason then stands in its place."""
    try:
        plans = plans if plans is not None else plan_environment(env, names)
        if base_plans is None and base_ref:
            base_plans = plans_at(base_ref, env.name, names)
        return cost_markdown(plans, base_plans, usage, level=5)
    except Exception as error:  # a report is never lost to its cost section
        return f"Cost not estimated: {type(error).__name__}: {error}"


# ---------------------------------------------------------------------------------------------------
# Markdown (for `preview --markdown`, pull requests and the terminal).

def cost_markdown(plans: list[StackPlan], base_plans: list[StackPlan] | None = None, usage: Usage | None = None,
                  prices: PriceList | None = None, details: bool = True, level: int = 3) -> str:
    """The cost table of ``plans`` as Markdown; with ``base_plans`` (the plans before a change), the cost
    change as well."""
    # A stack only one side of the change has is still a stack the usage file may name.
    known = {p.spec.short_name for p in [*plans, *(base_plans or [])]}
    estimate = estimate_environment(plans, usage, prices, known_stacks=known)
    parts = []
    if base_plans is not None:
        before = estimate_environment(base_plans, usage, prices, known_stacks=known)
        parts.append(cost_change_markdown(before, estimate, level))
    parts.append(estimate_markdown(estimate, details=details, level=level))
    return "\n\n".join(parts)


def estimate_markdown(estimate: EnvironmentCost, details: bool = True, collapsible: bool = True, level: int = 3
                      ) -> str:
    with_usage = estimate.usage_source is not None
    lines = [f"{'#' * level} Cost estimate: {estimate.environment}", "",
             f"_{estimate.prices.caption}." + (f" Usage from `{estimate.usage_source}`._" if with_usage else
                                                 " No usage file: usage-based costs are per unit._"), "",
             "| Stack | Fixed per month | Usage per month | Per task run | Not priced |",
             "|---|--:|--:|--:|---|"]
    for stack in estimate.stacks:
        lines.append(f"| {stack.stack} | {_money(stack.fixed_monthly, 2)} | "
                     f"{_money(stack.usage_monthly, 2) if with_usage else '—'} | "
                     f"{' + '.join(_money(u.price) for u in stack.per_task_run) or '—'} | "
                     f"{', '.join(sorted({n.type for n in stack.not_priced})) or '—'} |")
    lines.append(f"| **{estimate.environment}** | **{_money(estimate.fixed_monthly, 2)}** | "
                 f"**{_money(estimate.usage_monthly, 2) if with_usage else '—'}** | | |")
    if details:
        for stack in estimate.stacks:
            lines += ["", *_stack_details(stack, with_usage, collapsible, level + 1)]
    return "\n".join(lines)


def _stack_details(stack: StackCost, with_usage: bool, collapsible: bool, level: int) -> list[str]:
    title = (f"{stack.stack}: {_money(stack.fixed_monthly, 2)} a month fixed, "
             f"{_plural(len(stack.usage), 'usage rate')}, {len(stack.free)} free, {len(stack.not_priced)} not priced")
    lines = [f"<details><summary>{title}</summary>", ""] if collapsible else [f"{'#' * level} {title}", ""]
    lines += [f"_Note: {note}._\n" for note in stack.notes]
    if stack.fixed:
        lines += ["| Fixed | Resource | Per month | Basis |", "|---|---|--:|---|"]
        lines += [f"| {f.item} | `{f.resource}` | {_money(f.monthly, 2)} | {f.basis} |" for f in stack.fixed]
        lines.append("")
    if stack.usage:
        lines += ["| Usage | Resource | Price | Usage | Per month | Basis |", "|---|---|--:|--:|--:|---|"]
        for u in stack.usage:
            quantity = "—" if u.quantity is None else f"{u.quantity:,.10g}"
            monthly = "—" if u.monthly is None else _money(u.monthly, 2)
            lines.append(f"| {u.item} | `{u.resource}` | {_money(u.price)} per {u.unit} | {quantity} | "
                         f"{monthly} | {u.basis} |")
        lines.append("")
    if stack.not_priced:
        lines += ["| Not priced | Resource | Why |", "|---|---|---|"]
        lines += [f"| {n.type} | `{n.resource}` | {n.reason} |" for n in stack.not_priced]
        lines.append("")
    if stack.free:
        counts: dict[tuple[str, str], int] = {}
        for free in stack.free:
            counts[free.type, free.reason] = counts.get((free.type, free.reason), 0) + 1
        lines += ["Free: " + "; ".join(f"{count} × {type_token} ({reason})"
                                       for (type_token, reason), count in counts.items()), ""]
    if collapsible:
        lines.append("</details>")
    return lines


def cost_change_markdown(before: EnvironmentCost, after: EnvironmentCost, level: int = 3) -> str:
    """Per stack, the fixed monthly cost before and after a change, and every unit price that changed."""
    with_usage = after.usage_source is not None
    names = list(dict.fromkeys([s.stack for s in before.stacks] + [s.stack for s in after.stacks]))
    old = {s.stack: s for s in before.stacks}
    new = {s.stack: s for s in after.stacks}
    usage_column = " Usage per month change |" if with_usage else ""
    lines = [f"{'#' * level} Cost change: {after.environment}", "",
             "| Stack | Fixed per month before | after | change |" + usage_column,
             "|---|--:|--:|--:|" + ("--:|" if with_usage else "")]
    for name in names:
        was, now = old.get(name), new.get(name)
        fixed_was = was.fixed_monthly if was else 0.0
        fixed_now = now.fixed_monthly if now else 0.0
        row = (f"| {name}{'' if was else ' (new)'}{'' if now else ' (removed)'} | {_money(fixed_was, 2)} | "
               f"{_money(fixed_now, 2)} | {_signed(fixed_now - fixed_was)} |")
        if with_usage:
            row += f" {_signed((now.usage_monthly if now else 0) - (was.usage_monthly if was else 0))} |"
        lines.append(row)
    total = f"| **total** | {_money(before.fixed_monthly, 2)} | {_money(after.fixed_monthly, 2)} | " \
            f"**{_signed(after.fixed_monthly - before.fixed_monthly)}** |"
    if with_usage:
        total += f" **{_signed(after.usage_monthly - before.usage_monthly)}** |"
    lines.append(total)
    changed = []
    for name in names:
        rates_was = {(u.resource, u.item): u for u in (old[name].usage if name in old else [])}
        rates_now = {(u.resource, u.item): u for u in (new[name].usage if name in new else [])}
        for key in dict.fromkeys([*rates_was, *rates_now]):
            was, now = rates_was.get(key), rates_now.get(key)
            if was and now and math.isclose(was.price, now.price, rel_tol=1e-9):
                continue
            unit = (now or was).unit
            changed.append(f"| {name} | `{key[0]}` {key[1]} | {_money(was.price) if was else '—'} | "
                           f"{_money(now.price) if now else '—'} | per {unit} |")
    if changed:
        lines += ["", "| Stack | Usage price changed | before | after | unit |", "|---|---|--:|--:|---|", *changed]
    return "\n".join(lines)
