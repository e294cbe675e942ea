"""WAFv2 web ACLs: a monthly fee for the ACL and for each rule (a managed rule group is one rule), and the
requests it inspects."""
from __future__ import annotations

from planning.offline import PlannedResource
from stacks.cost.formatting import _rate
from stacks.cost.model import FixedCost, Line, StackContext, rule


@rule("aws:wafv2/webAcl:WebAcl")
def _web_acl(acl: PlannedResource, ctx: StackContext) -> list[Line]:
    p = ctx.prices
    rules = len(acl.inputs.get("rules") or [])
    return [FixedCost(acl.name, acl.type, "web ACL", p["waf_web_acl_month"], f"{_rate(p['waf_web_acl_month'])}/month"),
            FixedCost(acl.name, acl.type, f"{rules} rules (managed groups count as one each)",
                      rules * p["waf_rule_month"], f"{rules} × {_rate(p['waf_rule_month'])}/rule-month"),
            ctx.usage_line(acl, "requests inspected", p["waf_million_requests"], "1M requests", "waf_requests",
                           "per million requests", unit_size=1e6)]
