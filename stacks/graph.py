"""The dependency graph of an environment as text, Mermaid or JSON (``python -m stacks graph``). No CLI needed."""
from __future__ import annotations

from planning.project import Environment


def levels(environment: Environment, names: list[str]) -> list[list[str]]:
    """Stacks grouped by depth: level 1 depends on nothing selected, level n on level n-1 at most.

    Stacks of one level can run in parallel; ``up`` takes at least as many rounds as there are levels."""
    depth: dict[str, int] = {}
    for name in names:  # dependency order
        depth[name] = 1 + max((depth[u] for u in environment.stacks[name].depends_on if u in depth), default=0)
    return [[n for n in names if depth[n] == level] for level in range(1, max(depth.values(), default=0) + 1)]


def dependents_of(environment: Environment, name: str, names: list[str]) -> list[str]:
    return [n for n in names if name in environment.stacks[n].depends_on]


def to_text(environment: Environment, names: list[str]) -> str:
    grouped = levels(environment, names)
    lines = [f"{environment.name}: {len(names)} stacks in {len(grouped)} levels "
             f"(the stacks of a level run in parallel; destroy goes bottom-up)"]
    for number, level in enumerate(grouped, 1):
        for index, name in enumerate(level):
            spec = environment.stacks[name]
            upstream = f"  ← {', '.join(spec.depends_on)}" if spec.depends_on else ""
            label = f"level {number}" if index == 0 else ""
            lines.append(f"{label:<9} {name} [{spec.program}]{upstream}")
    return "\n".join(lines)


def _node_id(name: str) -> str:
    return name.replace("-", "_")


def to_mermaid(environment: Environment, names: list[str]) -> str:
    lines = ["flowchart LR"]
    for name in names:
        lines.append(f'  {_node_id(name)}["{name}<br/><small>{environment.stacks[name].program}</small>"]')
    for name in names:
        for upstream in environment.stacks[name].depends_on:
            if upstream in names:
                lines.append(f"  {_node_id(upstream)} --> {_node_id(name)}")
    return "\n".join(lines)


def to_json(environment: Environment, names: list[str]) -> dict:
    return {"environment": environment.name,
            "order": names,
            "levels": levels(environment, names),
            "stacks": [{"name": n, "program": environment.stacks[n].program,
                        "depends_on": environment.stacks[n].depends_on,
                        "dependents": dependents_of(environment, n, names)} for n in names]}
