"""One module per kind of stack. Each exposes ``main()``: read config, wire components, export outputs.

A stack names its program in its config (``cloud-patterns:program: network``); ``run`` imports
``programs.<program with '-' as '_'>`` and calls its ``main``.
"""
from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path


def available() -> list[str]:
    """Program names, as stack configs spell them (``tom-thumb`` for ``programs/tom_thumb.py``)."""
    return sorted(m.name.replace("_", "-") for m in pkgutil.iter_modules([str(Path(__file__).parent)])
                  if not m.name.startswith("_") and m.name != "common")


def run(program: str) -> None:
    if program not in available():
        from programs.common import ConfigError
        raise ConfigError(f"cloud-patterns:program: unknown program {program!r}; allowed: {', '.join(available())}")
    importlib.import_module(f"programs.{program.replace('-', '_')}").main()
