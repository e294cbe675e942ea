"""Serves the policy pack to the Pulumi engine (``pulumi preview --policy-pack policies``).

The engine runs this file with the pack's directory first on ``sys.path``; the rules import the project's own
modules (``service_limits``), so the project root goes on the path too.
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pulumi_policy import PolicyPack  # noqa: E402

from policies.pack import pack_arguments  # noqa: E402

PolicyPack(**pack_arguments())
