"""The layering of docs/architecture.md, checked by reading the code: who imports whom, generic components of
bounded size, every Args field declared, programs whose main() fits a screen."""
from __future__ import annotations

import ast
import dataclasses
import importlib
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

import pulumi
import pytest

from components.args import SETTING, WIRING, Args

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("runtime", "components", "programs", "planning", "policies", "stacks")
ALLOWED = {
    "runtime": set(),
    "components": set(),
    "programs": {"components", "runtime"},
    "planning": {"programs"},
    "policies": {"planning"},
    # components: `stacks init` checks each answer with its setting's declared rule (components.args)
    "stacks": {"planning", "policies", "programs", "components"},
}
MAX_COMPONENT_LINES = 260
MAX_MAIN_LINES = 45


def modules(package: str) -> list[Path]:
    return sorted(p for p in (ROOT / package).rglob("*.py") if "__pycache__" not in p.parts)


def imported(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            # ``from runtime.app import contract`` imports runtime.app.contract (a module) or a name of runtime.app
            names |= {f"{node.module}.{alias.name}" for alias in node.names}
    return names


def test_packages_import_only_the_layers_below_them_and_never_in_a_cycle():
    graph = {}
    for package in PACKAGES:
        used = {name.split(".")[0] for path in modules(package) for name in imported(path)}
        below = used & set(PACKAGES) - {package}
        assert below <= ALLOWED[package], f"{package} imports {sorted(below - ALLOWED[package])}"
        graph[package] = below
    try:
        TopologicalSorter(graph).static_order()
    except CycleError as error:  # pragma: no cover - the assertion above already rules it out
        pytest.fail(f"import cycle: {error.args[1]}")


def test_programs_import_only_the_contracts_of_runtime():
    for path in modules("programs"):
        for name in imported(path):
            if name.startswith("runtime"):
                assert ".contract" in name, f"{path.name} imports {name}: only contracts bind a program to its app"


def test_runtime_never_imports_pulumi_or_the_infrastructure_code():
    for path in modules("runtime"):
        roots = {name.split(".")[0] for name in imported(path)}
        assert not roots & {"pulumi", "pulumi_aws", "pulumi_gcp", "components", "programs", "planning", "stacks"}, \
            path.relative_to(ROOT)


def test_contracts_use_the_standard_library_only():
    import sys
    for path in sorted((ROOT / "runtime").rglob("contract.py")):
        for name in imported(path):
            root = name.split(".")[0]
            assert root in sys.stdlib_module_names or name.startswith("runtime."), f"{path}: {name}"


def component_modules():
    for path in modules("components"):
        module = importlib.import_module(f"components.{path.stem}")
        yield path, module


def test_components_are_generic_and_read_in_at_most_about_250_lines():
    for path, module in component_modules():
        defines_component = any(isinstance(value, type) and issubclass(value, pulumi.ComponentResource)
                                and value.__module__ == module.__name__ for value in vars(module).values())
        if defines_component:
            assert len(path.read_text().splitlines()) <= MAX_COMPONENT_LINES, path.name


def test_every_args_field_is_declared_with_its_rule_or_as_wiring_and_documented():
    checked = 0
    for package in ("components", "programs"):
        for path in modules(package):
            module = importlib.import_module(f"{package}.{path.stem}")
            for value in vars(module).values():
                if not (isinstance(value, type) and dataclasses.is_dataclass(value) and issubclass(value, Args)
                        and value.__module__ == module.__name__):
                    continue
                for field in dataclasses.fields(value):
                    assert field.metadata.get("kind") in (SETTING, WIRING), f"{value.__name__}.{field.name}"
                    assert str(field.metadata.get("doc", "")).strip(), f"{value.__name__}.{field.name}: no doc"
                checked += 1
    assert checked >= 20


def test_every_components_args_is_an_args():
    for path, module in component_modules():
        for name, value in vars(module).items():
            if name.endswith("Args") and isinstance(value, type) and dataclasses.is_dataclass(value) \
                    and value.__module__ == module.__name__:
                assert issubclass(value, Args), f"{path.name}: {name}"


def test_each_programs_main_fits_a_screen():
    for path in modules("programs"):
        tree = ast.parse(path.read_text())
        for node in tree.body:
            if isinstance(node, ast.FunctionDef) and node.name == "main":
                assert node.end_lineno - node.lineno + 1 <= MAX_MAIN_LINES, path.name
