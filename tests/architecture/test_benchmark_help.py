"""Every benchmark answers --help at once (docs/architecture.md): a user reads what it measures before it runs."""
from __future__ import annotations

import subprocess
import sys

import pytest

from planning.project import PROJECT_DIR

# The scripts; a module without a main (coin_renders, the renderer the accuracy benchmark uses) is a library.
BENCHMARKS = sorted(p.stem for p in (PROJECT_DIR / "benchmarks").glob("*.py")
                    if 'if __name__ == "__main__":' in p.read_text())


@pytest.mark.parametrize("name", BENCHMARKS)
def test_help_returns_at_once_and_describes_the_benchmark(name):
    # 10 s is generous for an argparse --help on a loaded CI machine; a benchmark that starts measuring, or
    # imports its heavy dependencies before parsing, takes longer or prints no usage.
    result = subprocess.run([sys.executable, "-m", f"benchmarks.{name}", "--help"], cwd=PROJECT_DIR,
                            capture_output=True, text=True, timeout=10)
    assert result.returncode == 0, result.stderr
    assert result.stdout.lstrip().startswith("usage:") and "--" in result.stdout, result.stdout[:300]
