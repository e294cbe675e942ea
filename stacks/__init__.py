"""The driver: plans and provisions an environment's stacks (``python -m stacks …``).

Usable as a library too: ``stacks.driver`` has one function per command (``up``, ``preview``, ``refresh``,
``destroy``, ``outputs``) returning a ``RunSummary``; ``planning.project.load_environment`` reads the stacks and
their dependency graph, ``planning.offline.plan_environment`` evaluates them with the SDK's mock engine and
``stacks.diff.diff_against`` compares the offline plans of a git ref and of the working tree.
"""
