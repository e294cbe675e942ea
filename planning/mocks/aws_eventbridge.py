"""Mock shapes: EventBridge rules (``arn:aws:events:<region>:<account>:rule/<name>``) and their targets."""
from __future__ import annotations

from planning.mocks import ProviderMocks, autoname, digest, shape


@shape("aws:cloudwatch/eventRule:EventRule")
def _rule(m: ProviderMocks, name: str, inputs: dict) -> tuple[str, dict]:
    rule = autoname(name, inputs)
    return rule, {"name": rule, "arn": m.arn("events", f"rule/{rule}"), "eventBusName": "default",
                  "state": inputs.get("state") or "ENABLED"}


@shape("aws:cloudwatch/eventTarget:EventTarget")
def _target(m: ProviderMocks, name: str, inputs: dict) -> tuple[str, dict]:
    target_id = inputs.get("targetId") or f"terraform-{digest('target', name, length=26)}"
    return f"default-{inputs.get('rule')}-{target_id}", {"targetId": target_id, "eventBusName": "default"}
