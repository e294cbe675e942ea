"""Stack discovery, the dependency graph and the offline plan's command line."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from planning.project import PROJECT_DIR, ProjectError, load_environment


def write_stack(directory: Path, name: str, program: str = "network", upstream: dict | None = None,
                environment: str | None = None) -> None:
    env = environment or name.split("-")[0]
    lines = ["config:", f"  cloud-patterns:program: {program}", f"  cloud-patterns:environment: {env}"]
    if upstream:
        lines.append("  cloud-patterns:upstream:")
        lines += [f"    {alias}: {stack}" for alias, stack in upstream.items()]
    (directory / f"Pulumi.{name}.yaml").write_text("\n".join(lines) + "\n")


def test_graph_orders_upstream_first_and_selects_dependencies_and_dependents(tmp_path):
    write_stack(tmp_path, "qa-network")
    write_stack(tmp_path, "qa-a", upstream={"network": "qa-network"})
    write_stack(tmp_path, "qa-b", upstream={"network": "qa-network", "a": "qa-a"})
    write_stack(tmp_path, "qa-c")
    env = load_environment("qa", tmp_path)
    order = list(env.stacks)
    assert order.index("qa-network") < order.index("qa-a") < order.index("qa-b")
    assert env.stacks["qa-b"].depends_on == ["qa-a", "qa-network"]
    assert env.dependencies(env.resolve(["b"])) == [n for n in order if n != "qa-c"]
    assert env.dependents(env.resolve(["qa-a"])) == ["qa-a", "qa-b"]
    with pytest.raises(ProjectError, match="--stack zz: no such stack in qa"):
        env.resolve(["zz"])


@pytest.mark.parametrize("stacks, message", [
    ({"qa-a": {"upstream": {"b": "qa-b"}}, "qa-b": {"upstream": {"a": "qa-a"}}}, "dependency cycle"),
    ({"qa-a": {"upstream": {"network": "qa-network"}}}, "names 'qa-network', which is not a stack of qa"),
    ({"qa-a": {"program": "nonsense"}}, "cloud-patterns:program is 'nonsense'; allowed: "),
    ({"qa-a": {"environment": "prod"}}, "cloud-patterns:environment is 'prod'; it must be 'qa'"),
])
def test_bad_stack_graphs_are_rejected_before_anything_runs(tmp_path, stacks, message):
    for name, spec in stacks.items():
        write_stack(tmp_path, name, **spec)
    with pytest.raises(ProjectError, match=message):
        load_environment("qa", tmp_path)


def test_unknown_environment_lists_the_known_ones():
    with pytest.raises(ProjectError, match=r"environment 'staging' has no stacks.*dev, prod"):
        load_environment("staging", PROJECT_DIR)


@pytest.mark.parametrize("environment", ["dev", "prod"])
def test_offline_plan_json_document(environment):
    result = subprocess.run([sys.executable, "-m", "stacks", "plan", environment, "--offline", "--json"],
                            cwd=PROJECT_DIR, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["environment"] == environment
    stacks = {s["name"]: s for s in document["stacks"]}
    network = stacks[f"{environment}-network"]
    assert network["program"] == "network" and network["depends_on"] == []
    assert set(network) == {"name", "program", "depends_on", "resources", "outputs"}
    vpc = [r for r in network["resources"] if r["type"] == "aws:ec2/vpc:Vpc"][0]
    assert vpc["inputs"]["cidrBlock"] == ("10.0.0.0/16" if environment == "dev" else "10.1.0.0/16")
    assert vpc["parent"].endswith(f"cloud-patterns:network:Network::{environment}")
    assert network["outputs"]["vpc_id"].startswith("vpc-")
    nat = len([r for r in network["resources"] if r["type"] == "aws:ec2/natGateway:NatGateway"])
    assert nat == (0 if environment == "dev" else 3)
    for stack in document["stacks"]:
        for upstream in stack["depends_on"]:
            assert upstream in stacks
            assert [s["name"] for s in document["stacks"]].index(upstream) < \
                [s["name"] for s in document["stacks"]].index(stack["name"])


def test_offline_plan_reports_a_bad_config_as_a_clear_error(tmp_path):
    bad = tmp_path / "Pulumi.dev-network.yaml"
    bad.write_text((PROJECT_DIR / "Pulumi.dev-network.yaml").read_text().replace("nat_strategy: none",
                                                                                 "nat_strategy: double"))
    script = ("import sys, planning.project as p, pathlib; p.PROJECT_DIR = pathlib.Path(sys.argv[1]); "
              "from stacks.cli import main; sys.argv = ['stacks', 'plan', 'dev', '--offline']; main()")
    result = subprocess.run([sys.executable, "-c", script, str(tmp_path)], cwd=PROJECT_DIR, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 2
    assert "cloud-patterns:network.nat_strategy: 'double'" in result.stderr
    assert "one of none, single, one-per-az" in result.stderr and "Traceback" not in result.stderr
