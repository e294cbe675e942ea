"""The price file (list prices with their region, currency and date) and the usage file (monthly quantities
and assumptions, see ``USAGE_KEYS`` and ``ASSUMPTIONS``)."""
from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Union

import yaml

from planning.offline import StackPlan

PRICES_FILE = Path(__file__).with_name("prices.yaml")

USAGE_KEYS: dict[str, str] = {
    "task_runs": "on-demand task runs a month (one thumbnail = one run)",
    "lambda_invocations": "invocations of each Lambda function a month",
    "api_requests": "requests to each HTTP API a month",
    "log_gb": "GB ingested into each log group a month",
    "nat_gb": "GB processed by each NAT gateway a month",
    "endpoint_gb": "GB processed by each interface endpoint a month",
    "alb_lcu": "average load balancer capacity units of each load balancer over the month",
    "s3_storage_gb": "GB stored in each S3 bucket (monthly average)",
    "s3_put_requests": "PUT/COPY/POST/LIST requests to each S3 bucket a month",
    "s3_get_requests": "GET and other read requests to each S3 bucket a month",
    "sqs_requests": "requests to each SQS queue a month",
    "schedule_invocations": "invocations of each EventBridge Scheduler schedule a month (cron expressions the "
                            "estimator cannot count)",
    "sns_publishes": "publishes to each SNS topic a month",
    "ecr_storage_gb": "GB of images stored in each ECR repository",
    "secret_api_calls": "API calls to each Secrets Manager secret a month",
    "kms_requests": "requests to each KMS key a month",
    "cognito_mau": "monthly active users of each Cognito user pool",
    "m2m_token_requests": "client-credentials token requests of each Cognito machine client a month",
    "function_invocations": "invocations of each Google Cloud function a month",
    "vision_units": "Cloud Vision label-detection units (images) a month",
    "gcs_storage_gb": "GB stored in each Cloud Storage bucket (monthly average)",
    "firehose_gb": "GB ingested by each Firehose delivery stream a month (each record rounded up to 5 KB)",
    "cloudfront_requests": "requests to each CloudFront distribution a month (each runs its viewer functions once)",
    "waf_requests": "requests each WAF web ACL inspects a month (every request to its CloudFront distribution)",
    "cloudfront_gb": "GB each CloudFront distribution sends to viewers a month",
    "log_delivery_gb": "GB of logs each vended-log delivery (CloudFront access logs) writes a month",
    "dns_queries": "DNS queries a month for each Cloud Map service's records (tasks resolving their peers)",
    "codebuild_minutes": "build minutes of each CodeBuild project that no schedule starts, a month",
    "package_storage_gb": "GB stored in each CodeArtifact repository (monthly average)",
    "package_requests": "requests to each CodeArtifact repository a month (publishes, pip installs)",
    "workflow_executions": "executions of each Step Functions state machine a month (one image = one execution "
                           "of the image processor)",
    "custom_events": "custom (non-AWS) events each EventBridge rule receives a month",
    "custom_metrics": "custom metrics (EMF) a dashboard's searches find, such as one per refusal reason",
}
ASSUMPTIONS: dict[str, tuple[float, str]] = {
    "task_seconds": (60, "average run time of an on-demand task, seconds (billed for at least 60)"),
    "lambda_duration_ms": (200, "average duration of a Lambda invocation, ms"),
    "function_duration_ms": (1000, "average duration of a Google Cloud function invocation, ms"),
    "build_minutes": (2, "billed minutes of a scheduled CodeBuild run (rounded up; the stub build takes about one)"),
    "map_items": (10, "items a Step Functions Map state iterates over per execution"),
}


class CostError(Exception):
    """A price or usage file that cannot be used; nothing has been estimated."""


@dataclass(frozen=True)
class PriceList:
    region: str
    gcp_region: str
    currency: str
    taken: str
    status: str
    hours_per_month: float
    rates: Mapping[str, float]
    free: Mapping[str, str]
    """Type token -> why it costs nothing by itself."""

    def __getitem__(self, rate: str) -> float:
        try:
            return self.rates[rate]
        except KeyError:
            raise CostError(f"the price file has no rate {rate!r}") from None

    @property
    def caption(self) -> str:
        return (f"{self.currency} {self.status}, taken {self.taken} (AWS {self.region}, "
                f"Google Cloud {self.gcp_region}); {self.hours_per_month:g} h a month")


def load_prices(path: Path = PRICES_FILE) -> PriceList:
    document = _read_yaml(path, "price file")
    missing = [k for k in ("region", "gcp_region", "currency", "taken", "status", "hours_per_month", "rates",
                           "free") if k not in document]
    if missing:
        raise CostError(f"{path}: missing {', '.join(missing)}")
    rates = document["rates"]
    bad = [k for k, v in rates.items() if not _is_amount(v)]
    if bad:
        raise CostError(f"{path}: rates must be non-negative numbers: {', '.join(bad)}")
    return PriceList(region=str(document["region"]), gcp_region=str(document["gcp_region"]),
                     currency=str(document["currency"]), taken=str(document["taken"]),
                     status=str(document["status"]), hours_per_month=float(document["hours_per_month"]),
                     rates={k: float(v) for k, v in rates.items()},
                     free={str(k): str(v) for k, v in document["free"].items()})


UsageValue = Union[float, Mapping[str, float]]


@dataclass
class Usage:
    """Monthly usage and assumptions: ``defaults`` for every stack, ``stacks`` by short or full name.

    A value is a number, which applies to every resource of its kind in the stack, or a mapping from
    resource name to number."""

    defaults: Mapping[str, UsageValue] = field(default_factory=dict)
    stacks: Mapping[str, Mapping[str, UsageValue]] = field(default_factory=dict)
    source: str | None = None
    _used: set[tuple[str, str, str]] = field(default_factory=set, repr=False)

    def lookup(self, stack: StackPlan, key: str, resource: str) -> float | None:
        for section_name in (stack.spec.name, stack.spec.short_name, None):
            section = self.stacks.get(section_name, {}) if section_name else self.defaults
            value = section.get(key)
            if isinstance(value, Mapping):
                if resource in value:
                    self._used.add((section_name or "defaults", key, resource))
                    return float(value[resource])
            elif value is not None:
                return float(value)
        return None

    def assumption(self, stack: StackPlan, key: str, resource: str) -> float:
        value = self.lookup(stack, key, resource)
        return ASSUMPTIONS[key][0] if value is None else value

    def check_names(self, plans: Iterable[StackPlan], known_stacks: Iterable[str] | None) -> None:
        """Refuses stack names that are no stack, and resource names that match nothing they could."""
        plans = list(plans)
        if known_stacks is not None:
            known = set(known_stacks) | {p.spec.name for p in plans} | {p.spec.short_name for p in plans}
            unknown = sorted(set(self.stacks) - known)
            if unknown:
                raise CostError(f"{self.source or 'usage'}: stacks.{unknown[0]} is no stack of this environment; "
                                f"stacks: {', '.join(sorted(known_stacks))}")
        for plan in plans:
            for section_name in (plan.spec.name, plan.spec.short_name):
                for key, value in self.stacks.get(section_name, {}).items():
                    if not isinstance(value, Mapping):
                        continue
                    for resource in value:
                        if (section_name, key, resource) not in self._used:
                            raise CostError(
                                f"{self.source or 'usage'}: stacks.{section_name}.{key}.{resource}: {plan.spec.name} "
                                f"has no resource {resource!r} that {key} applies to")


def load_usage(path: Path) -> Usage:
    document = _read_yaml(Path(path), "usage file")
    allowed = {*USAGE_KEYS, *ASSUMPTIONS}
    extra = set(document) - {"defaults", "stacks"}
    if extra:
        raise CostError(f"{path}: unknown top-level key {sorted(extra)[0]!r}; allowed: defaults, stacks")

    def section(where: str, values: Any) -> dict[str, UsageValue]:
        if values is None:
            return {}
        if not isinstance(values, dict):
            raise CostError(f"{path}: {where} must be a mapping of usage keys")
        for key, value in values.items():
            if key not in allowed:
                raise CostError(f"{path}: {where}.{key}: unknown usage key; allowed: {', '.join(sorted(allowed))}")
            numbers = value.items() if isinstance(value, dict) else [(None, value)]
            for resource, number in numbers:
                if not _is_amount(number):
                    at = f"{where}.{key}" + (f".{resource}" if resource is not None else "")
                    raise CostError(f"{path}: {at} is {number!r}; it must be a non-negative number"
                                    + ("" if resource is not None else " or a mapping of resource name to number"))
        return values

    stacks = document.get("stacks") or {}
    if not isinstance(stacks, dict):
        raise CostError(f"{path}: stacks must map a stack name to its usage")
    return Usage(defaults=section("defaults", document.get("defaults")),
                 stacks={str(name): section(f"stacks.{name}", values) for name, values in stacks.items()},
                 source=str(path))


def _read_yaml(path: Path, what: str) -> dict:
    try:
        document = yaml.safe_load(path.read_text())
    except OSError as error:
        raise CostError(f"{what} {path}: {error.strerror}") from None
    except yaml.YAMLError as error:
        raise CostError(f"{what} {path}: not valid YAML: {error}") from None
    if not isinstance(document, dict):
        raise CostError(f"{what} {path}: expected a mapping at the top")
    return document


def _is_amount(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value >= 0 and math.isfinite(value)

