"""Helpers of the driver tests: small environments written as real stack files."""
from __future__ import annotations

from pathlib import Path

from planning.project import Environment, load_environment

# qa-api reads the network and the data stack; qa-web reads the api; qa-worker the network;
# qa-batch stands alone.
QA_GRAPH = {
    "network": [],
    "data": [],
    "api": ["network", "data"],
    "web": ["api"],
    "worker": ["network"],
    "batch": [],
}


def write_stack(directory: Path, environment: str, short: str, upstream: list[str], program: str = "network",
                settings: dict | None = None) -> Path:
    lines = ["config:", "  aws:region: us-east-1", f"  cloud-patterns:program: {program}",
             f"  cloud-patterns:environment: {environment}"]
    if upstream:
        lines.append("  cloud-patterns:upstream:")
        lines += [f"    {alias}: {environment}-{alias}" for alias in upstream]
    if settings:
        lines.append(f"  cloud-patterns:{program.replace('-', '_')}:")
        lines += [f"    {key}: {value}" for key, value in settings.items()]
    path = directory / f"Pulumi.{environment}-{short}.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def make_environment(directory: Path, graph: dict[str, list[str]] | None = None, environment: str = "qa") -> Environment:
    for short, upstream in (graph or QA_GRAPH).items():
        write_stack(directory, environment, short, upstream)
    return load_environment(environment, directory)
