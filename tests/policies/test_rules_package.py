"""The rules package: every module is found and registers its rules in a stable order, and no module imports the
code the rules judge (the rules see only engine-shaped values and the neutral ``service_limits``)."""
from __future__ import annotations

import ast
import importlib
import pkgutil
import sys
from pathlib import Path

import pytest

from policies import rules

JUDGED_PACKAGES = {"components", "programs", "runtime", "stacks", "planning"}
PACKAGE_DIR = Path(rules.__file__).parent
MODULES = sorted(m.name for m in pkgutil.iter_modules(rules.__path__))


def imported_packages(path: Path, package: str) -> set[str]:
    """The top-level packages a module's import statements name (relative imports resolved against ``package``)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = package.rsplit(".", node.level - 1)[0] if node.level else ""
            names.add(".".join(p for p in (base, node.module or "") if p))
    return {name.split(".")[0] for name in names}


@pytest.mark.parametrize("path", sorted(PACKAGE_DIR.glob("*.py")), ids=lambda p: p.name)
def test_no_rule_module_imports_the_code_it_judges(path):
    importlib.import_module(rules.__name__ if path.stem == "__init__" else f"{rules.__name__}.{path.stem}")
    assert imported_packages(path, rules.__name__) & JUDGED_PACKAGES == set()


def test_the_import_reader_sees_absolute_and_relative_imports(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("import os.path\nfrom stacks import cli\nfrom . import core\nfrom ..evaluate import x\n")
    assert imported_packages(module, "policies.rules") == {"os", "stacks", "policies"}


def test_importing_the_package_imports_every_module_of_it():
    assert MODULES and all(f"{rules.__name__}.{name}" in sys.modules for name in MODULES)
    assert {r.module for r in rules.RULES} <= {f"{rules.__name__}.{name}" for name in MODULES}


def test_rules_are_listed_by_module_in_order_and_as_each_module_defines_them():
    assert set(rules.ORDER) <= set(MODULES)
    rank = {f"{rules.__name__}.{name}": i for i, name in enumerate(rules.ORDER)}
    keys = [(rank.get(r.module, len(rules.ORDER)), r.module,
             (r.check_resource or r.check_stack).__code__.co_firstlineno) for r in rules.RULES]
    assert keys == sorted(keys)
