"""What a run would change (or changed), per stack and per resource: the vocabulary of summaries.

Both the cloud preview (from the engine's events) and the offline diff (from two offline plans) produce
``StackChanges``; ``stacks.markdown`` renders them for a pull request.
"""
from __future__ import annotations

from dataclasses import dataclass, field

ACTIONS = ("create", "update", "replace", "delete")

# The engine's step operations, folded into the four actions a reviewer cares about. A replacement is
# announced as several steps (replace, create-replacement, delete-replaced) of one resource.
_ACTION_OF_OP = {
    "create": "create", "import": "create",
    "update": "update",
    "replace": "replace", "create-replacement": "replace", "delete-replaced": "replace",
    "import-replacement": "replace",
    "delete": "delete", "discard": "delete",
}


def action_of(op: str) -> str | None:
    """The action an engine step operation amounts to; None for steps that change nothing (same, read…)."""
    return _ACTION_OF_OP.get(op)


def name_of(urn: str) -> str:
    """A resource's logical name, the last ``::`` segment of its URN."""
    return urn.rsplit("::", 1)[-1]


def is_bookkeeping(type_token: str) -> bool:
    """The root stack and provider resources: the engine reports them, reviewers need not."""
    return type_token == "pulumi:pulumi:Stack" or type_token.startswith("pulumi:providers:")


@dataclass(frozen=True)
class ResourceChange:
    action: str
    """One of ACTIONS."""
    type: str
    name: str
    urn: str
    properties: tuple[str, ...] = ()
    """For updates and replacements: the top-level properties that differ (or that force the replacement)."""

    def to_json(self) -> dict:
        return {"action": self.action, "type": self.type, "name": self.name, "urn": self.urn,
                "properties": list(self.properties)}


@dataclass
class StackChanges:
    stack: str
    resources: list[ResourceChange] = field(default_factory=list)
    status: str = "succeeded"
    """succeeded, failed, skipped or cancelled (a preview or plan that did not complete)."""
    error: str | None = None
    note: str | None = None
    """e.g. "new stack" or "stack removed" for an offline diff."""

    def of(self, action: str) -> list[ResourceChange]:
        return sorted((r for r in self.resources if r.action == action), key=lambda r: (r.name, r.type))

    def counts(self) -> dict[str, int]:
        return {action: len(self.of(action)) for action in ACTIONS}

    @property
    def changed(self) -> bool:
        return bool(self.resources)

    def to_json(self) -> dict:
        return {"stack": self.stack, "status": self.status, "error": self.error, "note": self.note,
                "counts": self.counts(), "resources": [r.to_json() for r in self.resources]}


class ChangeCollector:
    """Builds the resource changes of one stack from engine step events, once per resource.

    Thread-safe enough for its use: one collector per stack run, fed from that run's event thread."""

    def __init__(self) -> None:
        self._by_urn: dict[str, ResourceChange] = {}

    def step(self, op: str, urn: str, type_token: str, properties: list[str] | None = None) -> None:
        action = action_of(op)
        if action is None or is_bookkeeping(type_token):
            return
        properties = tuple(properties or ())
        known = self._by_urn.get(urn)
        if known is not None:  # several steps of one resource (a replacement): one change, keys merged
            action = "replace" if "replace" in (known.action, action) else known.action
            properties = known.properties + tuple(p for p in properties if p not in known.properties)
        self._by_urn[urn] = ResourceChange(action, type_token, name_of(urn), urn, properties)

    def changes(self) -> list[ResourceChange]:
        return list(self._by_urn.values())
