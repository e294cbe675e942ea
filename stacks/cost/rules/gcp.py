"""Google Cloud: Cloud Run functions, enabled APIs (Cloud Vision) and Cloud Storage buckets."""
from __future__ import annotations

import math

from planning.offline import PlannedResource
from stacks.cost.formatting import _count, _plural, _rate
from stacks.cost.model import FixedCost, Line, StackContext, rule

# Cloud Run functions (2nd gen) give a function this many vCPU for its memory unless availableCpu is set.
GCP_DEFAULT_CPU_BY_MEMORY_MIB = ((128, 0.083), (256, 0.167), (512, 0.333), (1024, 0.583), (2048, 1.0),
                                 (4096, 2.0), (8192, 2.0), (16384, 4.0), (32768, 8.0))


@rule("gcp:cloudfunctionsv2/function:Function")
def _gcp_function(function: PlannedResource, ctx: StackContext) -> list[Line]:
    p = ctx.prices
    service = function.inputs.get("serviceConfig") or {}
    memory_gib = _memory_gib(str(service.get("availableMemory", "256M")))
    vcpu = float(service["availableCpu"]) if service.get("availableCpu") else _default_gcp_cpu(memory_gib)
    assumed = ctx.usage.assumption(ctx.plan, "function_duration_ms", function.name)
    seconds = math.ceil(assumed / 100) / 10  # billed in 100 ms steps
    per_second = vcpu * p["gcp_vcpu_second"] + memory_gib * p["gcp_gib_second"]
    price = p["gcp_function_million_invocations"] + 1e6 * seconds * per_second
    lines: list[Line] = [ctx.usage_line(
        function, "invocations", price, "1M invocations", "function_invocations",
        f"{_rate(p['gcp_function_million_invocations'])}/1M + 1M × {seconds:g} s ({assumed:g} ms assumed) × "
        f"({vcpu:g} vCPU × {_rate(p['gcp_vcpu_second'])} + {memory_gib:g} GiB × {_rate(p['gcp_gib_second'])})/s",
        unit_size=1e6)]
    minimum = int(service.get("minInstanceCount") or 0)
    if minimum:
        idle = vcpu * p["gcp_idle_vcpu_second"] + memory_gib * p["gcp_idle_gib_second"]
        lines.append(FixedCost(
            function.name, function.type, f"{_plural(minimum, 'minimum instance')} kept warm (idle rate)",
            minimum * idle * 3600 * ctx.hours,
            f"{_count(minimum)}{ctx.hours:g} h × 3600 s × ({vcpu:g} vCPU × {_rate(p['gcp_idle_vcpu_second'])} + "
            f"{memory_gib:g} GiB × {_rate(p['gcp_idle_gib_second'])})/s"))
    return lines


def _memory_gib(quantity: str) -> float:
    units = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "k": 1e3, "M": 1e6, "G": 1e9}
    for suffix in ("Ki", "Mi", "Gi", "k", "M", "G"):
        if quantity.endswith(suffix):
            return float(quantity[:-len(suffix)]) * units[suffix] / 2**30
    return float(quantity) / 2**30


def _default_gcp_cpu(memory_gib: float) -> float:
    mib = memory_gib * 1024
    return next((cpu for limit, cpu in GCP_DEFAULT_CPU_BY_MEMORY_MIB if mib <= limit + 1e-9),
                GCP_DEFAULT_CPU_BY_MEMORY_MIB[-1][1])


@rule("gcp:projects/service:Service")
def _gcp_api(api: PlannedResource, ctx: StackContext) -> list[Line] | None:
    if api.inputs.get("service") != "vision.googleapis.com":
        return None
    p = ctx.prices
    free = p["vision_free_units"]
    return [ctx.usage_line(api, f"Cloud Vision label detection (first {free:,.0f} units a month free)",
                           p["vision_thousand_units"], "1k units", "vision_units",
                           f"per 1,000 units above {free:,.0f}", unit_size=1000, free_quantity=free)]


@rule("gcp:storage/bucket:Bucket")
def _gcs_bucket(bucket: PlannedResource, ctx: StackContext) -> list[Line]:
    return [ctx.usage_line(bucket, "Cloud Storage Standard storage", ctx.prices["gcs_gb_month"], "GB-month",
                           "gcs_storage_gb", "per GB-month")]
