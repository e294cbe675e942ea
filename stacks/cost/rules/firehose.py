"""Kinesis Data Firehose delivery streams: ingestion, record-format conversion and the transform Lambda, all
per GB ingested (usage key ``firehose_gb``).

Firehose bills ingestion per GB with each record rounded up to 5 KB, and conversion per GB converted. Its
processor Lambda is invoked once per processor buffer (``BufferSizeInMBs``, 1 MB unless set), so the
transform's price is stated per GB too, at full buffers: under light traffic the buffer interval fires first,
with more, smaller invocations. The function itself is then free in the Lambda rule, so it is not counted twice.
"""
from __future__ import annotations

from planning.offline import PlannedResource
from stacks.cost.formatting import _rate
from stacks.cost.model import Line, StackContext, rule

DELIVERY_STREAM = "aws:kinesis/firehoseDeliveryStream:FirehoseDeliveryStream"
DEFAULT_PROCESSOR_BUFFER_MB = 1.0


def _processors(stream: PlannedResource) -> list[tuple[str, float]]:
    """(function ARN, processor buffer MB) of each Lambda processor of the stream."""
    found = []
    configuration = (stream.inputs.get("extendedS3Configuration") or {}).get("processingConfiguration") or {}
    for processor in configuration.get("processors") or [] if configuration.get("enabled", True) else []:
        if processor.get("type") != "Lambda":
            continue
        parameters = {p.get("parameterName"): p.get("parameterValue") for p in processor.get("parameters") or []}
        if parameters.get("LambdaArn"):
            found.append((str(parameters["LambdaArn"]), float(parameters.get("BufferSizeInMBs",
                                                                             DEFAULT_PROCESSOR_BUFFER_MB))))
    return found


def _function_for(arn: str, ctx: StackContext) -> PlannedResource | None:
    """The stack's function an ARN names: its name, or the provider's auto-name ``<logical name>-<suffix>``."""
    name = arn.split(":function:", 1)[-1].split(":", 1)[0]
    candidates = [f for f in ctx.plan.of_type("aws:lambda/function:Function")
                  if name == f.inputs.get("name") or name == f.name or name.startswith(f"{f.name}-")]
    return max(candidates, key=lambda f: len(f.name), default=None)


def streams_processed_by(function: PlannedResource, ctx: StackContext) -> list[str]:
    return [stream.name for stream in ctx.plan.of_type(DELIVERY_STREAM)
            if any(_function_for(arn, ctx) is function for arn, _ in _processors(stream))]


@rule(DELIVERY_STREAM)
def _delivery_stream(stream: PlannedResource, ctx: StackContext) -> list[Line]:
    from stacks.cost.rules.compute import _lambda_invocation

    p = ctx.prices
    lines: list[Line] = [ctx.usage_line(stream, "ingestion", p["firehose_ingestion_gb"], "GB", "firehose_gb",
                                        f"{_rate(p['firehose_ingestion_gb'])}/GB ingested, each record rounded "
                                        "up to 5 KB")]
    conversion = (stream.inputs.get("extendedS3Configuration") or {}).get("dataFormatConversionConfiguration")
    if conversion and conversion.get("enabled", True):
        lines.append(ctx.usage_line(stream, "record format conversion", p["firehose_conversion_gb"], "GB",
                                    "firehose_gb", f"{_rate(p['firehose_conversion_gb'])}/GB converted"))
    for arn, buffer_mb in _processors(stream):
        function = _function_for(arn, ctx)
        if function is None:
            continue  # a function of another stack is priced there, per invocation
        invocations = 1024 / buffer_mb
        price, how = _lambda_invocation(function, ctx)
        lines.append(ctx.usage_line(stream, f"transform by {function.name}", invocations * price, "GB",
                                    "firehose_gb", f"{invocations:g} invocations/GB at {buffer_mb:g} MB buffers × "
                                    f"({how})"))
    return lines
