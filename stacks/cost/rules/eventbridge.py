"""EventBridge rules: free for events of AWS services (an S3 upload, an ECS task stopping), priced per million
custom events otherwise (usage key ``custom_events``). Matching and delivering to targets is not billed."""
from __future__ import annotations

import json

from planning.offline import PlannedResource
from stacks.cost.formatting import _rate
from stacks.cost.model import Line, NoCost, StackContext, rule


def _sources(rule_resource: PlannedResource) -> list[str]:
    try:
        pattern = json.loads(rule_resource.inputs.get("eventPattern") or "{}")
    except (TypeError, json.JSONDecodeError):
        return []
    sources = pattern.get("source") if isinstance(pattern, dict) else None
    return [str(s) for s in sources] if isinstance(sources, list) else []


@rule("aws:cloudwatch/eventRule:EventRule")
def _event_rule(event_rule: PlannedResource, ctx: StackContext) -> list[Line]:
    sources = _sources(event_rule)
    if sources and all(s.startswith("aws.") for s in sources):
        return [NoCost(event_rule.name, event_rule.type, f"events of AWS services ({', '.join(sources)}) on the "
                                                         "default bus are free")]
    rate = ctx.prices["eventbridge_million_custom_events"]
    return [ctx.usage_line(event_rule, "custom events", rate, "1M events", "custom_events",
                           f"{_rate(rate)} per million custom events published", unit_size=1e6)]
