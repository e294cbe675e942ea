"""The driver: plans and provisions an environment's stacks (``python -m stacks …``).

Usable as a library too: ``stacks.project.load_environment`` reads the stacks and their dependency graph,
``stacks.offline.plan_environment`` evaluates them with the SDK's mock engine.
"""
