"""Pricing rules, by type token, one module per group of services. A rule returns its lines, or None to fall
back to the free list.

Every module of this package is imported here, and registers its rules with ``stacks.cost.model.rule``: a new
module is picked up without being listed anywhere."""
import importlib
import pkgutil

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")
