"""Markdown summaries of stack changes, fit for a pull-request comment.

    report = Report("Preview of dev", summary.stack_changes())
    report.add_section("Cost", cost_table_markdown)      # other parts of the driver append theirs
    Path("preview.md").write_text(render(report))

Per stack: a count of resources to create, update, replace and delete, then each of them by name and type
(with the properties that change), and the error of a stack that failed.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from stacks.changes import ACTIONS, StackChanges

MARKER = "<!-- cloud-patterns:stacks-summary -->"
"""First line of every summary: lets CI find and update its earlier comment."""
MAX_LISTED = 200
"""Resources listed per stack and action; a PR comment holds at most 65,536 characters."""
STATUS_MARK = {"succeeded": "✅", "failed": "❌", "skipped": "⏭️", "cancelled": "⏹️"}


@dataclass
class Section:
    title: str
    body: str


@dataclass
class Report:
    title: str
    stacks: list[StackChanges]
    intro: str | None = None
    sections: list[Section] = field(default_factory=list)

    def add_section(self, title: str, body: str) -> None:
        self.sections.append(Section(title, body))

    def totals(self) -> dict[str, int]:
        return {action: sum(s.counts()[action] for s in self.stacks) for action in ACTIONS}


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _heading(changes: StackChanges) -> str:
    counts = changes.counts()
    parts = [f"{n} to {a}" for a, n in counts.items() if n]
    return ", ".join(parts) if parts else "no changes"


def _resource_lines(changes: StackChanges) -> list[str]:
    lines = []
    for action in ACTIONS:
        resources = changes.of(action)
        if not resources:
            continue
        lines.append(f"**{action.capitalize()}**\n")
        for resource in resources[:MAX_LISTED]:
            detail = f" — {', '.join(f'`{p}`' for p in resource.properties)}" if resource.properties else ""
            lines.append(f"- `{resource.name}` ({resource.type}){detail}")
        if len(resources) > MAX_LISTED:
            lines.append(f"- … and {len(resources) - MAX_LISTED} more")
        lines.append("")
    return lines


def render(report: Report) -> str:
    lines = [MARKER, f"### {report.title}", ""]
    if report.intro:
        lines += [report.intro, ""]
    totals = report.totals()
    lines += [f"**{sum(totals.values())} resource changes** in {len(report.stacks)} stacks: "
              + ", ".join(f"{n} to {a}" for a, n in totals.items()), ""]
    lines += ["| Stack | Create | Update | Replace | Delete | Status |", "|---|--:|--:|--:|--:|---|"]
    for changes in report.stacks:
        counts = changes.counts()
        status = f"{STATUS_MARK.get(changes.status, '')} {changes.status}".strip()
        if changes.note:
            status += f" ({_cell(changes.note)})"
        numbers = " | ".join(str(counts[a]) if changes.status == "succeeded" else "–" for a in ACTIONS)
        lines.append(f"| `{changes.stack}` | {numbers} | {status} |")
    lines.append("")
    for changes in report.stacks:
        if changes.status != "succeeded" and changes.error:
            fence = "~~~~" if "```" in changes.error else "```"
            lines += [f"<details open><summary><b>{changes.stack}</b>: {changes.status}</summary>", "",
                      f"{fence}text", changes.error, fence, "", "</details>", ""]
        elif changes.changed:
            lines += [f"<details><summary><b>{changes.stack}</b>: {_heading(changes)}</summary>", ""]
            lines += _resource_lines(changes)
            lines += ["</details>", ""]
    for section in report.sections:
        lines += [f"#### {section.title}", "", section.body.rstrip(), ""]
    return "\n".join(lines).rstrip() + "\n"
