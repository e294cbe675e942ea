"""The runnable code blocks of README.md and docs/*.md, and a copy of the project to run them in.

A fenced block whose info string is ``bash offline`` or ``python offline`` is an example that needs no cloud,
no Pulumi CLI and no credentials: the tests run it as written, from the project's directory (a copy, so what
an example writes never lands in the working tree). Other blocks (``bash``, ``python``, ``yaml``…) are shown,
not run: they need a cloud, or they are the set-up commands the test suite itself is run with.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from planning.project import PROJECT_DIR

RUNNABLE = {"bash offline": "bash", "python offline": "python"}
FENCE = re.compile(r"^(?P<fence>```+|~~~+)[ \t]*(?P<info>[^\n`]*)$")


@dataclass(frozen=True)
class Block:
    document: str
    """Path relative to the project, e.g. README.md."""
    line: int
    """Line of the opening fence (1-based)."""
    info: str
    code: str

    @property
    def runnable(self) -> bool:
        return self.info in RUNNABLE

    def __str__(self) -> str:
        return f"{self.document}:{self.line} ({self.info})"


def blocks(path: Path) -> list[Block]:
    """Every fenced code block of a Markdown file, in order."""
    found, lines = [], path.read_text().splitlines()
    index = 0
    while index < len(lines):
        opening = FENCE.match(lines[index])
        if not opening:
            index += 1
            continue
        fence, body, start = opening["fence"], [], index
        index += 1
        while index < len(lines) and not lines[index].startswith(fence):
            body.append(lines[index])
            index += 1
        name = str(path.relative_to(PROJECT_DIR)) if path.is_relative_to(PROJECT_DIR) else path.name
        found.append(Block(name, start + 1, " ".join(opening["info"].split()), "\n".join(body) + "\n"))
        index += 1
    return found


def documents() -> list[Path]:
    return [PROJECT_DIR / "README.md", *sorted((PROJECT_DIR / "docs").glob("*.md"))]


def project_files() -> list[str]:
    """The files a fresh clone of this working tree has (tracked, and new files not ignored)."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=PROJECT_DIR,
                            capture_output=True, check=True).stdout.decode()
    return [name for name in listed.split("\0") if name and (PROJECT_DIR / name).is_file()]


def copy_project(target: Path) -> Path:
    """A copy of the project as a clone has it, with the shared virtualenv and build cache linked in."""
    for name in project_files():
        destination = target / name
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(PROJECT_DIR / name, destination)
    (target / ".venv").symlink_to((PROJECT_DIR / ".venv").resolve(), target_is_directory=True)
    build = PROJECT_DIR / ".build"
    build.mkdir(exist_ok=True)
    (target / ".build").symlink_to(build.resolve(), target_is_directory=True)  # content-keyed layer cache
    return target


def run(block: Block, project: Path, timeout: float = 300) -> subprocess.CompletedProcess:
    """Runs a runnable block as a user would paste it: bash stops at the first failing command."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("STACKS_SIMULATE", "PULUMI_"))}
    if RUNNABLE[block.info] == "bash":
        command = ["bash", "-euo", "pipefail", "-c", block.code]
    else:
        command = [str(project / ".venv" / "bin" / "python"), "-c", block.code]
    return subprocess.run(command, cwd=project, env=environ, capture_output=True, text=True, timeout=timeout)
