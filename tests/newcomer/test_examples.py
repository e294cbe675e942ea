"""The README and the docs say what to run; their offline examples run as written, from a clone's directory."""
from __future__ import annotations

import re

import pytest

from planning.project import PROJECT_DIR
from tests.newcomer.examples import blocks, copy_project, documents, run

SET_UP_COMMANDS = ("bash .ci/setup && .venv/bin/python -m stacks plan dev --offline",
                   "bash .ci/setup && .venv/bin/python -m pytest -n 2 -q")
OWN_DOCUMENTS = ("README.md", "docs/deploying.md", "docs/driver.md")
BARE_PYTHON = re.compile(r"(?<![\w/.-])python3?(?= -m | -c |\s+\S+\.py\b)")


def runnable_documents():
    return [pytest.param(path, id=str(path.relative_to(PROJECT_DIR))) for path in documents()
            if any(block.runnable for block in blocks(path))]


@pytest.mark.parametrize("document", runnable_documents())
def test_every_offline_example_runs_as_written(document, tmp_path):
    project = copy_project(tmp_path / "clone")
    for block in (b for b in blocks(document) if b.runnable):
        result = run(block, project)
        assert result.returncode == 0, (f"{block} exited {result.returncode}:\n{block.code}\n--- stdout\n"
                                        f"{result.stdout[-4000:]}\n--- stderr\n{result.stderr[-4000:]}")


def test_the_readme_and_the_driver_guides_have_offline_examples():
    for name in OWN_DOCUMENTS:
        assert any(b.runnable for b in blocks(PROJECT_DIR / name)), f"{name} has no runnable example"


def test_the_readme_keeps_the_two_set_up_commands():
    code = "".join(b.code for b in blocks(PROJECT_DIR / "README.md") if b.info == "bash")
    for command in SET_UP_COMMANDS:
        assert command in code.splitlines()


def test_the_commands_of_the_readme_and_guides_use_the_virtualenv():
    for name in OWN_DOCUMENTS:
        for block in blocks(PROJECT_DIR / name):
            if block.info.split()[0] not in ("bash", "sh", "console"):
                continue
            bare = [line for line in block.code.splitlines() if BARE_PYTHON.search(line.split("#")[0])]
            assert bare == [], f"{block}: use .venv/bin/python (no activated venv is assumed): {bare}"


def test_the_readme_links_to_files_that_exist():
    text = (PROJECT_DIR / "README.md").read_text()
    targets = [t.split("#")[0] for t in re.findall(r"\]\(([^)\s]+)\)", text) if "://" not in t]
    assert "docs/deploying.md" in targets and "docs/driver.md" in targets and "docs/architecture.md" in targets
    assert [t for t in targets if t and not (PROJECT_DIR / t).exists()] == []


def test_code_blocks_are_found_with_their_info_string_and_line(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("# t\n\n```bash offline\necho one\n```\n\ntext\n\n```yaml\na: 1\n```\n~~~python  offline\n"
                    "print(2)\n~~~\n")
    found = blocks(page)
    assert [(b.line, b.info, b.code, b.runnable) for b in found] == [
        (3, "bash offline", "echo one\n", True), (9, "yaml", "a: 1\n", False),
        (12, "python offline", "print(2)\n", True)]
