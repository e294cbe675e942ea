"""What the Pulumi SDK says about a resource type's inputs, for the Terraform export.

pulumi-aws and pulumi-gcp are generated from the Terraform providers' schemas: each resource's ``<Type>Args``
class has one property per Terraform argument, named in Python as Terraform names it (the bridge's renames
aside, listed in ``types.yaml``), and annotated with its type. The annotations tell a map (``Mapping[str, …]``:
tags, environment variables, which Terraform keeps as an object) from a nested block (an ``…Args`` class, which a
Terraform plan shows as a list, a single block as a one-element list).
"""
from __future__ import annotations

import functools
import importlib
import re
import sys
from dataclasses import dataclass

from pulumi._types import input_type_py_to_pulumi_names

PACKAGES = {"aws": "pulumi_aws", "gcp": "pulumi_gcp"}
_BLOCK = re.compile(r"^typing\.Union\[ForwardRef\('(?P<name>\w+Args)'\)")
_BLOCKS = re.compile(r"^typing\.Union\[typing\.Sequence\[typing\.Union\[ForwardRef\('(?P<name>\w+Args)'\)")
_MAP = "typing.Union[typing.Mapping["
_LIST = "typing.Union[typing.Sequence["


@dataclass(frozen=True)
class Field:
    python_name: str
    kind: str
    """``scalar``, ``list`` (of scalars), ``map``, ``block`` (one nested block) or ``blocks`` (repeated)."""
    block: type | None = None
    """The ``…Args`` class of a block's fields."""


def resource_class(token: str) -> type | None:
    """The SDK class of a type token (``aws:lb/listener:Listener`` -> ``pulumi_aws.lb.Listener``), if any."""
    provider, module_and_name, class_name = token.split(":")
    package = PACKAGES.get(provider)
    if package is None:
        return None
    module = module_and_name.split("/")[0]
    try:
        sdk = importlib.import_module(f"{package}.{module}_" if module in ("lambda",) else f"{package}.{module}")
    except ImportError:
        return None
    return getattr(sdk, class_name, None)


@functools.cache
def args_class(token: str) -> type | None:
    resource = resource_class(token)
    if resource is None:
        return None
    module = sys.modules[resource.__module__]
    # ``…InitArgs`` where a nested block's input type took the name ``…Args`` (s3.BucketLogging).
    return getattr(module, f"{resource.__name__}InitArgs", None) or getattr(module, f"{resource.__name__}Args", None)


@functools.cache
def fields(args: type) -> dict[str, Field]:
    """The fields of an ``…Args`` class, by Pulumi (camelCase) name."""
    result = {}
    module = sys.modules[args.__module__]
    for python_name, pulumi_name in input_type_py_to_pulumi_names(args).items():
        prop = getattr(args, python_name, None)
        annotation = repr(getattr(getattr(prop, "fget", None), "__annotations__", {}).get("return", ""))
        result[pulumi_name] = _field(python_name, annotation, module)
    return result


def _field(python_name: str, annotation: str, module) -> Field:
    if annotation.startswith(_MAP):
        return Field(python_name, "map")
    for pattern, kind in ((_BLOCKS, "blocks"), (_BLOCK, "block")):
        match = pattern.match(annotation)
        if match:
            return Field(python_name, kind, getattr(module, match["name"], None))
    if annotation.startswith(_LIST):
        return Field(python_name, "list")
    return Field(python_name, "scalar")


def field_at(token: str, path: str) -> Field | None:
    """The field at a dotted Pulumi path of a type's inputs (``defaultActions.forward.targetGroups``)."""
    args = args_class(token)
    found = None
    for part in path.split("."):
        if args is None:
            return None
        found = fields(args).get(part)
        if found is None:
            return None
        args = found.block
    return found


def snake_case(name: str) -> str:
    """The Terraform spelling of a camelCase name the SDK does not know (``maxAggregationInterval``)."""
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()
