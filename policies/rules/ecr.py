"""ECR: repositories scan images on push and keep their tags immutable."""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from policies.rules.core import _true, known, resource_rule

ECR_REPOSITORY = "aws:ecr/repository:Repository"


@resource_rule("ecr-scan-on-push", "ECR repositories scan images on push", ECR_REPOSITORY)
def ecr_scan_on_push(type_: str, props: Mapping[str, Any]) -> Iterable[str]:
    scanning = props.get("imageScanningConfiguration")
    if known(scanning) and not (isinstance(scanning, Mapping) and _true(scanning.get("scanOnPush"))):
        yield "images are not scanned on push"


@resource_rule("ecr-immutable-tags", "ECR repositories have immutable tags", ECR_REPOSITORY)
def ecr_immutable_tags(type_: str, props: Mapping[str, Any]) -> Iterable[str]:
    mutability = props.get("imageTagMutability", "MUTABLE")
    if known(mutability) and not str(mutability).startswith("IMMUTABLE"):
        yield f"image tag mutability is {mutability}: a pushed tag could be overwritten"
