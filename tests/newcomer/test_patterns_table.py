"""The README's table of patterns: every stack of every environment has its row, and every page it links exists."""
from __future__ import annotations

import re

from planning.project import PROJECT_DIR, load_environment

README = (PROJECT_DIR / "README.md").read_text()
TABLE = README.split("## Patterns", 1)[1].split("\n## ", 1)[0]
ROWS = [line for line in TABLE.splitlines() if line.startswith("| ") and not line.startswith("| pattern")
        and not line.startswith("| ---")]


def test_every_stack_of_dev_and_prod_has_a_row():
    listed = {stack for row in ROWS for stack in re.findall(r"`<env>-([a-z0-9-]+)`", row.split("|")[2])}
    shipped = {spec.short_name for env in ("dev", "prod") for spec in load_environment(env).stacks.values()}
    assert shipped - listed == set(), "stacks without a row in the README's patterns table"
    assert listed - shipped == set(), "rows naming stacks that no environment has"


def test_every_row_links_pages_that_exist():
    for row in ROWS:
        links = re.findall(r"\]\((docs/[^)]+\.md)\)", row.split("|")[4])
        assert links, row
        for link in links:
            assert (PROJECT_DIR / link).is_file(), link


def test_the_patterns_are_one_table():
    """A blank line between rows ends a Markdown table: the rows after it would render as plain text."""
    lines = TABLE.strip().splitlines()
    table = [line for line in lines if line.startswith("|")]
    start = lines.index(table[0])
    assert lines[start:start + len(table)] == table, "a line inside the README's table of patterns splits it"
