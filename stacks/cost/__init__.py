"""Cost estimate of an environment's stacks, from their offline plan (``python -m stacks cost``).

Every cloud resource a stack's plan records (type token and camelCase inputs, as the engine receives
them) lands in exactly one of four lists of its stack:

- fixed: what it costs per month whatever the use (a load balancer's hours, a NAT gateway, a public
  IPv4 address, a Fargate service's tasks at their desired count, a secret, ...);
- usage: a price per unit of use (per task run, per million Lambda invocations at the function's
  memory and an assumed duration, per GB of logs ingested, ...); a usage file (YAML, see
  ``USAGE_KEYS``) gives monthly quantities and turns these into a monthly total;
- free: costs nothing by itself, or is billed through another line (the reason says which);
- not priced: a type, or a configuration, without a price. Never silently dropped.

Prices come from ``stacks/cost/prices.yaml``: list prices with their region, currency and the date they
were taken. Components (``custom=False``) are logical groupings, not cloud resources: they are skipped.

The package: ``prices`` (the price and usage files), ``model`` (the cost lines, the estimates and the
registry of pricing rules), ``rules`` (the rules, one module per group of services; every module of that
package registers its rules when it is imported), ``report`` (plans from plan documents and the Markdown)
and ``formatting`` (amounts as they are shown).
"""
from stacks.cost.model import (EnvironmentCost, FixedCost, Line, NoCost, NotPriced, StackContext, StackCost,
                               UsageRate, estimate, estimate_environment, estimate_stack, rule)
from stacks.cost.prices import (ASSUMPTIONS, PRICES_FILE, USAGE_KEYS, CostError, PriceList, Usage, load_prices,
                                load_usage)
from stacks.cost.report import (cost_change_markdown, cost_markdown, estimate_markdown, plans_at, plans_from_document,
                                report_section)

__all__ = ["ASSUMPTIONS", "PRICES_FILE", "USAGE_KEYS", "CostError", "EnvironmentCost", "FixedCost", "Line", "NoCost",
           "NotPriced", "PriceList", "StackContext", "StackCost", "Usage", "UsageRate", "cost_change_markdown",
           "cost_markdown", "estimate", "estimate_environment", "estimate_markdown", "estimate_stack", "load_prices",
           "load_usage", "plans_at", "plans_from_document", "report_section", "rule"]
