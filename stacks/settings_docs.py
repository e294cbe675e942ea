"""The settings tables of ``docs/<program>.md``, generated from the programs' config sections.

Each program declares its config objects as ``programs.common.Section`` values at module level; each Section
knows its Args type, whose fields declare default, allowed values and meaning (``components.args``). The table
of section ``tom_thumb`` lives in ``docs/tom-thumb.md`` between ``<!-- settings: tom_thumb -->`` and
``<!-- end settings -->``; ``python -m stacks docs`` rewrites them and ``--check`` fails when one has drifted.
"""
from __future__ import annotations

import importlib
import re
from pathlib import Path

import programs
from programs.common import PROJECT, Section
from planning.project import PROJECT_DIR

DOCS_DIR = PROJECT_DIR / "docs"
END = "<!-- end settings -->"


def sections(program: str) -> list[Section]:
    module = importlib.import_module(f"programs.{program.replace('-', '_')}")
    return [value for value in vars(module).values() if isinstance(value, Section)]


def table(section: Section) -> str:
    lines = [f"Settings of `{PROJECT}:{section.name}` (generated from the Args; `python -m stacks docs`):", "",
             "| key | default | allowed | what it does |", "| --- | --- | --- | --- |"]
    for row in section.docs():
        lines.append(f"| `{row.name}` | `{row.default}` | {_cell(row.allowed)} | {_cell(row.doc)} |")
    return "\n".join(lines)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def page(program: str) -> Path:
    return DOCS_DIR / f"{program}.md"


def render(text: str, section: Section) -> str:
    """``text`` with the section's table between its markers (which must be there)."""
    begin = f"<!-- settings: {section.name} -->"
    pattern = re.compile(re.escape(begin) + r".*?" + re.escape(END), re.S)
    if not pattern.search(text):
        raise LookupError(f"no '{begin} … {END}' markers")
    return pattern.sub(lambda _: f"{begin}\n{table(section)}\n{END}", text)


def stale(write: bool = False) -> list[str]:
    """Problems with the docs' settings tables (missing pages or markers, drifted tables); rewrites the
    drifted tables when ``write``."""
    problems = []
    for program in programs.available():
        path = page(program)
        declared = sections(program)
        if not declared:
            continue
        if not path.is_file():
            problems.append(f"{path.relative_to(PROJECT_DIR)}: missing (program {program} has settings)")
            continue
        text = original = path.read_text()
        for section in declared:
            try:
                text = render(text, section)
            except LookupError as error:
                problems.append(f"{path.relative_to(PROJECT_DIR)}: {error}")
        if text != original:
            if write:
                path.write_text(text)
            else:
                problems.append(f"{path.relative_to(PROJECT_DIR)}: settings tables differ from the Args "
                                f"(run python -m stacks docs)")
    return problems
