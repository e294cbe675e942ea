"""Policy as code: the guardrails every plan and deployment of this project is checked against.

- ``policies.rules``: the rules, plain functions over a resource's type token and its engine-shaped (camelCase)
  properties, or over a whole stack's resources. No engine, no Pulumi SDK.
- ``policies.pack``: the same rules as a Pulumi CrossGuard policy pack
  (``pulumi preview --policy-pack policies``; the driver passes ``PACK_DIR`` on ``up`` and ``preview``).
- ``policies.evaluate``: the same rules over the offline plan (``python -m stacks plan <env> --offline``).
"""
from pathlib import Path

PACK_DIR = Path(__file__).resolve().parent
"""The policy pack's directory, what ``--policy-pack`` (and the Automation API's ``policy_packs``) takes."""
