"""The plan engine, below both the driver (``stacks``) and the guardrails (``policies``).

- ``planning.project``: the stacks of an environment, read from the ``Pulumi.<env>-<stack>.yaml`` files that
  ``pulumi up -s`` uses, and their dependency graph.
- ``planning.mocks``: provider-shaped outputs for the Pulumi SDK's mock engine.
- ``planning.offline``: every stack's real program evaluated under that mock engine (the offline plan).
"""
