"""The guardrails, as plain functions: no engine, no Pulumi SDK.

A *resource rule* is a function ``(type_token, props) -> messages`` over one resource's engine-shaped
(camelCase) properties, e.g. ``ecr_immutable_tags("aws:ecr/repository:Repository", {"imageTagMutability":
"MUTABLE"})``. A *stack rule* is a function ``(stack) -> findings`` over every resource of a stack, for what
only relations show: a bucket's public access block, encryption and policy are separate resources keyed by
the bucket's id; a Lambda's log group is another resource named in its ``loggingConfig``.

The same functions run in the CrossGuard pack (``policies.pack``: resource rules get the engine's inputs,
stack rules its resource outputs) and over the offline plan (``policies.evaluate``: resource rules get the
recorded inputs, stack rules the mocks' outputs). Values follow the engine's shapes: policy documents and
container definitions are JSON strings; a value not known yet (preview) is ``UNKNOWN`` and a rule reports
only what it can prove; the offline plan shows secret values as ``"[secret]"``.

The package: ``core`` (the model, the registry, value helpers), ``tokens`` (type tokens several services' rules
name) and a module per service whose decorated functions register themselves in ``RULES``. Every module of the
package is imported here, so a new service module needs no list to be edited.
"""
from __future__ import annotations

import importlib
import pkgutil

from policies.rules.core import (ADVISORY, MANDATORY, RULES, SECRET, UNKNOWN, Finding, Resource, Rule, Stack, known,
                                 resource_rule, rule, stack_rule)
from policies.rules.ecr import ECR_REPOSITORY, ecr_immutable_tags, ecr_scan_on_push
from policies.rules.ecs import TASK_DEFINITION
from policies.rules.gcp import GCP_BUCKET
from policies.rules.lambda_ import LAMBDA_PERMISSION
from policies.rules.s3 import BUCKET_ENCRYPTION, PUBLIC_ACCESS_FLAGS
from policies.rules.tokens import BUCKETS, ECS_SERVICE, LAMBDA_FUNCTION, LOAD_BALANCERS, LOG_GROUP

ORDER = ("s3", "network", "iam", "lambda_", "logs", "ecs", "ecr", "load_balancing", "gcp")
"""The service modules in the order their rules have always been listed (the CrossGuard pack's policies, the
plan's report); any other module of the package comes after them, by name."""


def _discover() -> None:
    """Imports every module of the package (each registers its rules) and orders ``RULES`` by module, a module's
    rules as it defines them."""
    for module in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{module.name}")
    rank = {f"{__name__}.{name}": i for i, name in enumerate(ORDER)}
    RULES.sort(key=lambda r: (rank.get(r.module, len(ORDER)), r.module))


_discover()

__all__ = ["ADVISORY", "BUCKETS", "BUCKET_ENCRYPTION", "ECR_REPOSITORY", "ECS_SERVICE", "GCP_BUCKET",
           "LAMBDA_FUNCTION", "LAMBDA_PERMISSION", "LOAD_BALANCERS", "LOG_GROUP", "MANDATORY", "ORDER",
           "PUBLIC_ACCESS_FLAGS", "RULES", "SECRET", "TASK_DEFINITION", "UNKNOWN", "Finding", "Resource", "Rule",
           "Stack", "ecr_immutable_tags", "ecr_scan_on_push", "known", "resource_rule", "rule", "stack_rule"]
