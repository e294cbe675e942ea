"""Showing a run: a live rich view of every stack, or JSON lines for machines, then the summary."""
from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from typing import IO

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from stacks.changes import ACTIONS, action_of
from stacks.orchestrator import (Diagnostic, DriverEvent, PolicyViolation, ResourceEvent, RunSummary, StackFinished,
                                 StackOutcome, StackStarted, Status, event_json)

STYLES = {Status.PENDING: ("dim", "waiting"), Status.RUNNING: ("yellow", "running"),
          Status.SUCCEEDED: ("green", "done"), Status.FAILED: ("bold red", "failed"),
          Status.SKIPPED: ("magenta", "skipped"), Status.CANCELLED: ("red", "cancelled")}
SYMBOLS = {"create": "+", "update": "~", "replace": "+-", "delete": "-"}
VERBS = {"create": "creating", "update": "updating", "replace": "replacing", "delete": "deleting"}
PAST = {"create": "created", "update": "updated", "replace": "replaced", "delete": "deleted"}


@dataclass
class _Row:
    status: Status = Status.PENDING
    started: float | None = None
    duration: float | None = None
    done: dict[str, int] = field(default_factory=lambda: dict.fromkeys(ACTIONS, 0))
    activity: str = ""
    warnings: int = 0


class LiveView:
    """A table of the stacks, updated from the run's events: state, resource operations done, the latest
    operation, time. Use as a context manager around the run, and as its listener.

    On a console that is not a terminal (CI logs) it prints one line per stack started or finished and per
    resource operation done, as they happen, instead of redrawing a table."""

    def __init__(self, console: Console, environment: str, operation: str, stacks: list[str]):
        self.console = console
        self.title = f"{operation} {environment}"
        self.preview = operation == "preview"
        self.rows = {name: _Row() for name in stacks}
        self._lock = threading.Lock()
        self._live = Live(console=console, get_renderable=self.render, refresh_per_second=8, transient=False) \
            if console.is_terminal else None

    def __enter__(self) -> LiveView:
        if self._live is not None:
            self._live.start()
        return self

    def __exit__(self, *exc) -> None:
        if self._live is not None:
            self._live.stop()

    def __call__(self, event: DriverEvent) -> None:
        self._update(event)
        if self._live is None:
            line = log_line(event)
            if line is not None:
                self.console.print(line, highlight=False, soft_wrap=True)

    def _update(self, event: DriverEvent) -> None:
        with self._lock:
            row = self.rows.setdefault(event.stack, _Row())
            if isinstance(event, StackStarted):
                row.status, row.started = Status.RUNNING, time.monotonic()
            elif isinstance(event, ResourceEvent):
                action = action_of(event.op) or event.op
                if event.phase == "started":
                    row.activity = f"{VERBS.get(action, action)} {event.type} {event.name}"
                elif event.phase == "done":
                    row.done[action] = row.done.get(action, 0) + 1
                    row.activity = f"{PAST.get(action, action)} {event.name}"
                else:
                    row.activity = f"failed to {action} {event.name}"
            elif isinstance(event, Diagnostic | PolicyViolation):
                row.warnings += 1
                if isinstance(event, PolicyViolation) or event.severity == "error":
                    row.activity = event.message.splitlines()[0][:100] if event.message else row.activity
            elif isinstance(event, StackFinished):
                outcome = event.outcome
                row.status, row.duration = outcome.status, outcome.duration
                row.activity = outcome_text(outcome, self.preview).splitlines()[0][:100]

    def render(self) -> Table:
        table = Table(title=self.title, title_justify="left", expand=False, show_edge=False, pad_edge=False)
        for column in ("stack", "state", "done", "latest", "time"):
            table.add_column(column, no_wrap=column != "latest", overflow="ellipsis")
        now = time.monotonic()
        with self._lock:
            for name, row in self.rows.items():
                style, label = STYLES[row.status]
                done = " ".join(f"{SYMBOLS[a]}{n}" for a, n in row.done.items() if n)
                elapsed = row.duration if row.duration is not None else (now - row.started if row.started else None)
                table.add_row(name, Text(label, style=style), done, Text(row.activity, style="dim"),
                              f"{elapsed:.1f}s" if elapsed is not None else "")
        return table


def log_line(event: DriverEvent) -> Text | None:
    stack = (f"{event.stack:<24} ", "bold")
    if isinstance(event, StackStarted):
        return Text.assemble(stack, (f"{event.operation} started", "yellow"))
    if isinstance(event, ResourceEvent) and event.phase != "started":
        action = action_of(event.op) or event.op
        verb = PAST.get(action, action) if event.phase == "done" else f"failed to {action}"
        return Text.assemble(stack, f"{SYMBOLS.get(action, ' ')} {verb} {event.type} ", (event.name, "cyan"))
    if isinstance(event, Diagnostic | PolicyViolation):
        label = event.severity if isinstance(event, Diagnostic) else f"policy {event.policy} ({event.enforcement})"
        return Text.assemble(stack, (f"{label}: {event.message}", "red" if label == "error" else "yellow"))
    if isinstance(event, StackFinished):
        style, label = STYLES[event.outcome.status]
        return Text.assemble(stack, (label, style), f" ({event.outcome.duration:.1f}s)")
    return None


class JsonLines:
    """One JSON object per event on ``stream``; ``summary()`` writes the final one."""

    def __init__(self, stream: IO[str], show_secrets: bool = False):
        self.stream = stream
        self.show_secrets = show_secrets
        self._lock = threading.Lock()

    def __call__(self, event: DriverEvent) -> None:
        self._write(event_json(event, self.show_secrets))

    def summary(self, summary: RunSummary) -> None:
        self._write(summary.to_json(self.show_secrets))

    def _write(self, document: dict) -> None:
        with self._lock:
            self.stream.write(json.dumps(document, default=str) + "\n")
            self.stream.flush()

    def __enter__(self) -> JsonLines:
        return self

    def __exit__(self, *exc) -> None:
        pass


def describe_changes(counts: dict[str, int]) -> str:
    parts = [f"{n} {PAST[a]}" for a, n in counts.items() if n]
    return ", ".join(parts) if parts else "no changes"


def outcome_text(outcome: StackOutcome, preview: bool = False) -> str:
    """What a finished stack did ("4 created, 1 updated", "2 to create" for a preview), or why it did not."""
    if outcome.error or outcome.reason:
        return outcome.error or outcome.reason
    if outcome.result is None:
        return ""
    if outcome.result.note:
        return outcome.result.note
    counts = {a: sum(r.action == a for r in outcome.result.resources) for a in ACTIONS}
    if preview:
        return ", ".join(f"{n} to {a}" for a, n in counts.items() if n) or "no changes"
    return describe_changes(counts)


def render_summary(summary: RunSummary) -> Group:
    """Per stack: what happened (or why not), with the engine's error for each failure; then the totals."""
    preview = summary.operation.value == "preview"
    lines = []
    for outcome in summary.outcomes:
        style, label = STYLES[outcome.status]
        line = Text.assemble((f"{label:>9} ", style), (outcome.stack, "bold"))
        if outcome.status is Status.SUCCEEDED and outcome.result is not None:
            line.append(f": {outcome_text(outcome, preview)} ({outcome.duration:.1f}s)")
        elif outcome.reason:
            line.append(f": {outcome.reason}")
        lines.append(line)
        if outcome.error:
            lines.append(Text("\n".join("            " + l for l in outcome.error.splitlines()), style="red"))
    counts = {s: len(summary.named(s)) for s in (Status.SUCCEEDED, Status.FAILED, Status.SKIPPED, Status.CANCELLED)}
    totals = ", ".join(f"{n} {s.value}" for s, n in counts.items() if n) or "nothing to do"
    lines.append(Text.assemble(("\n" + f"{summary.operation.value} {summary.environment}: ", "bold"),
                               f"{totals} in {summary.duration:.1f}s"))
    return Group(*lines)
