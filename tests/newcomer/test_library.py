"""The driver as a library: documented option by option and exception by exception, and a dry run whose outputs
are the offline plan's, so the README's example runs without a cloud."""
from __future__ import annotations

import inspect
import json

import pytest
import typer

from planning.mocks import SecretValue
from planning.offline import plan_environment
from planning.project import PROJECT_DIR, ProjectError, load_environment
from stacks import cli, driver, placeholders
from stacks.simulated import SimulatedEngine

REFERENCE = (PROJECT_DIR / "docs" / "driver.md").read_text()
RUNNERS = ("up", "preview", "refresh", "destroy", "outputs")


def subclasses(kind: type) -> list[type]:
    return [kind] + [c for sub in kind.__subclasses__() for c in subclasses(sub)]


def test_every_option_of_run_is_documented_in_its_docstring_and_the_reference():
    options = [name for name in inspect.signature(driver.run).parameters if name not in ("environment",)]
    assert {"stacks", "with_deps", "with_dependents", "parallel", "diff", "engine", "listener"} <= set(options)
    for name in options:
        assert f"``{name}``" in driver.run.__doc__, name
        assert f"`{name}`" in REFERENCE, name
    for name in (*RUNNERS, "run", "default_engine"):
        assert getattr(driver, name).__doc__, f"driver.{name} has no docstring"
        assert f"driver.{name}" in REFERENCE or f"`{name}(" in REFERENCE, name


def test_every_exception_the_driver_raises_is_documented():
    import stacks.cost  # noqa: F401 - their errors are ProjectErrors too
    import stacks.diff  # noqa: F401
    import stacks.init  # noqa: F401

    errors = subclasses(ProjectError)
    assert {"CliNotFound", "SecretsNotConfigured", "DestroyRefused"} <= {e.__name__ for e in errors}
    for error in errors:
        assert f"`{error.__name__}`" in REFERENCE, error.__name__
        if error.__module__ in ("stacks.engine", "stacks.orchestrator", "planning.project"):
            assert error.__name__ in driver.__doc__, error.__name__
    assert "ValueError" in driver.__doc__ and "ValueError" in REFERENCE


def test_every_command_and_option_is_in_the_reference():
    """In docs/driver.md, or for a command a pattern adds (e.g. a scanner's), in that pattern's page."""
    pages = [REFERENCE] + [p.read_text() for p in sorted((PROJECT_DIR / "docs").glob("*.md"))]
    group = typer.main.get_command(cli.app)
    assert {"up", "preview", "refresh", "destroy", "outputs", "graph", "plan", "cost", "init", "docs"} <= set(
        name for name in group.commands if f"`{name}" in REFERENCE)
    for name, command in group.commands.items():
        naming = [text for text in pages if f"`{name}" in text]
        assert naming, f"command {name} is documented nowhere in docs/"
        for parameter in command.params:
            for flag in (f for f in parameter.opts if f.startswith("--")):
                assert any(flag in text for text in naming), f"{name} {flag}"


def test_the_simulation_and_its_settings_are_documented():
    assert "STACKS_SIMULATE" in REFERENCE and "SimulatedEngine" in REFERENCE
    for key in inspect.signature(SimulatedEngine).parameters:
        if key != "outputs":
            assert f"`{key}`" in REFERENCE, key


def test_simulated_outputs_are_the_offline_plans_outputs_with_secrets_marked():
    engine = SimulatedEngine(default_duration=0)
    assert driver.up("dev", ["network", "label-detector"], engine=engine).exit_code == 0
    summary = driver.outputs("dev", ["network", "label-detector"], engine=engine)
    planned = {p.spec.name: p.outputs for p in plan_environment(load_environment("dev"),
                                                                ["dev-network", "dev-label-detector"], workers=1)}
    for stack in ("dev-network", "dev-label-detector"):
        outputs = summary.outcome(stack).result.outputs
        assert {k: (o.value, o.secret) for k, o in outputs.items()} == {
            k: (v.value, True) if isinstance(v, SecretValue) else (v, False) for k, v in planned[stack].items()}
    assert summary.outcome("dev-network").result.outputs["vpc_id"].value.startswith("vpc-")
    assert summary.outcome("dev-label-detector").result.outputs["caller_key"].secret
    assert json.dumps(summary.to_json()).count("[secret]") == 1


def test_a_stack_whose_program_refuses_its_config_fails_its_outputs_with_the_programs_message(tmp_path):
    (tmp_path / "Pulumi.qa-network.yaml").write_text(
        "config:\n  cloud-patterns:program: network\n  cloud-patterns:environment: qa\n"
        "  cloud-patterns:network:\n    nat_strategy: double\n")
    engine = SimulatedEngine(default_duration=0)
    assert driver.up("qa", project_dir=tmp_path, engine=engine).exit_code == 0
    outcome = driver.outputs("qa", project_dir=tmp_path, engine=engine).outcome("qa-network")
    assert outcome.status.value == "failed"
    assert "cloud-patterns:network.nat_strategy: 'double' is not allowed" in outcome.error


@pytest.mark.parametrize(("value", "what"), [
    ("arn:aws:acm:us-east-1:123456789012:certificate/x", "the example AWS account"),
    ("backoffice.dev.example.com", "the example domain"), ("ops@example.com", "the example domain"),
    ("https://race-data.example.com/v1", "the example domain"), ("example.com", "the example domain"),
    ("cloud-patterns-dev", "an example GCP project"), ("Z0123456789EXAMPLE", "the example hosted zone"),
    ("amzn1.ask.skill.00000000-0000-0000-0000-000000000000", "the example Alexa skill id"),
    ("arn:aws:acm:us-east-1:1234567890123:certificate/x", None), ("example.community", None),
    ("backoffice.acme.io", None), ("notexample.com", None), ("cloud-patterns-dev-42", None), (12, None),
])
def test_placeholder_values_are_told_from_real_ones(value, what):
    assert placeholders.matches(value) == what
