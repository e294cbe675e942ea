"""Stack ``<env>-image-workflow``: uploads under ``raw/`` run the image processor on Step Functions; the reference
patterns (Map, Retry/Catch, a human review by callback) run as a second workflow over the same bucket.

Config objects: ``image_workflow`` (bucket, functions, the processor's sizes and Retry), ``image_processor`` and
``workflow_patterns`` (each state machine's type, logging, tracing, timeout; the patterns' own parameters).
Alarms go to the ``alerts`` upstream stack's topic. Review with ``python -m runtime.image_workflow.review``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import pulumi

from components.args import Args, InvalidArgument, Maybe, Number, OneOf, Text, Whole, setting
from components.dashboard import OUTPUT, widgets
from components.lambda_function import ARCHITECTURES, LambdaFunctionArgs
from components.state_machine import StateMachineArgs
from components.upload_workflows import Step, UploadWorkflows, UploadWorkflowsArgs
from programs.common import Section, environment, upstream
from runtime.image_workflow import contract
from runtime.image_workflow import contract_definitions as asl
from service_limits import LAMBDA_MEMORY_MB


@dataclass(frozen=True)
class ImageWorkflowSettings(Args):
    width: int = setting(contract.WIDTH, Whole(16, 8192), "ResizeImage's width (pixels)…")
    height: int = setting(contract.HEIGHT, Whole(16, 8192), "…and height; the image is cropped to fill it.")
    max_image_mb: int = setting(25, Whole(1, 200), "Larger uploads are refused as invalid.")
    memory_mb: int = setting(1024, Whole(*LAMBDA_MEMORY_MB), "Memory of the functions that decode images (MiB).")
    timeout_seconds: int = setting(30, Whole(3, 900), "How long one step may run.")
    architecture: str = setting("arm64", OneOf(*ARCHITECTURES), "The functions' (and Pillow layer's) platform.")
    retry_interval_seconds: int = setting(3, Whole(1, 3600), "Retry of a failed step: first wait…")
    retry_max_attempts: int = setting(2, Whole(0, 10), "…attempts after the first…")
    retry_backoff_rate: float = setting(1.5, Number(1, 10), "…and the factor each wait grows by.")


@dataclass(frozen=True)
class PatternSettings(Args):
    max_concurrency: int = setting(asl.SEED_MAX_CONCURRENCY, Whole(1, 40), "Images ProcessImages handles at once.")
    review_timeout_seconds: int = setting(asl.SEED_REVIEW_TIMEOUT_SECONDS, Whole(2, 604800),
                                          "How long WaitForCallback waits for a decision.")
    review_heartbeat_seconds: int = setting(900, Whole(1, 604799), "A review not held (`review hold`) for this "
                                            "long times out as abandoned; below review_timeout_seconds.")
    retry_interval_seconds: int = setting(2, Whole(1, 3600), "Retry of ProcessSingleImage and of "
                                          "CallExternalService's ServiceException: first wait…")
    retry_max_attempts: int = setting(3, Whole(0, 10), "…attempts after the first…")
    retry_backoff_rate: float = setting(2.0, Number(1, 10), "…and the factor each wait grows by.")
    external_service_url: Optional[str] = setting(None, Maybe(Text(contract.HTTPS_URL.pattern, "an https:// URL")),
                                                  "Where CallExternalService POSTs each batch's summary; null: skip.")

    def check(self) -> None:
        if self.review_heartbeat_seconds >= self.review_timeout_seconds:
            raise InvalidArgument("review_heartbeat_seconds", self.review_heartbeat_seconds,
                                  f"less than review_timeout_seconds ({self.review_timeout_seconds})")


APP = Section("image_workflow", UploadWorkflowsArgs, fixed=("trigger_prefix",), own=ImageWorkflowSettings)
PROCESSOR = Section("image_processor", StateMachineArgs, fixed=("log_retention_days",))
PATTERNS = Section("workflow_patterns", StateMachineArgs, fixed=("log_retention_days", "execution_timeout_seconds"),
                   own=PatternSettings)
REST_OF_A_BATCH_SECONDS = 3600
"""The patterns' execution timeout is the review's plus this, for the Map, the retries and ProcessResult."""


def steps(app: ImageWorkflowSettings) -> dict[str, Step]:
    return {key: Step(LambdaFunctionArgs(
        source_dir=contract.SOURCE_DIR, handler=f.handler, description=f.description,
        architecture=app.architecture, memory_mb=app.memory_mb if f.pillow else 256,
        timeout_seconds=app.timeout_seconds), f.reads, f.writes, f.deletes, f.publishes, shared_layer=f.pillow)
        for key, f in {**contract.PROCESSOR_FUNCTIONS, **contract.PATTERN_FUNCTIONS}.items()}


def main() -> None:
    app, own = APP.own_settings(), PATTERNS.own_settings()
    retry = asl.Retry(app.retry_interval_seconds, app.retry_max_attempts, app.retry_backoff_rate)
    processor = PROCESSOR.load(definition=lambda arns: asl.image_processor(arns, asl.ProcessorParameters(retry)),
                               functions=tuple(contract.PROCESSOR_FUNCTIONS),
                               topics=(contract.TOPIC_PROCESSED, contract.TOPIC_ERRORS))
    parameters = asl.PatternParameters(asl.Retry(own.retry_interval_seconds, own.retry_max_attempts,
                                                 own.retry_backoff_rate), asl.SEED_TIMEOUT_RETRY, own.max_concurrency,
                                       own.review_timeout_seconds, own.review_heartbeat_seconds)
    patterns = PATTERNS.load(definition=lambda arns: asl.reference_patterns(arns, parameters),
                             functions=tuple(contract.PATTERN_FUNCTIONS),
                             execution_timeout_seconds=own.review_timeout_seconds + REST_OF_A_BATCH_SECONDS)
    args = APP.load(
        trigger_prefix=contract.RAW_PREFIX, steps=steps(app), workflows={"processor": processor, "patterns": patterns},
        topics=(contract.TOPIC_PROCESSED, contract.TOPIC_ERRORS, contract.TOPIC_REVIEWS), triggered="processor",
        requirements_file=contract.REQUIREMENTS_FILE, alarm_topic_arn=upstream("alerts").require_output("topic_arn"),
        environment=lambda bucket, topics: contract.Settings(
            bucket, app.width, app.height, app.max_image_mb * 1024 * 1024,
            review_topic_arn=topics[contract.TOPIC_REVIEWS],
            external_service_url=own.external_service_url or "").environment())
    workflows = UploadWorkflows(f"{environment()}-image-workflow", args)
    pulumi.export("bucket", workflows.bucket.bucket)
    pulumi.export("upload_prefix", contract.RAW_PREFIX)
    pulumi.export("processor_state_machine_arn", workflows.workflows["processor"].state_machine.arn)
    pulumi.export("patterns_state_machine_arn", workflows.workflows["patterns"].state_machine.arn)
    pulumi.export("topics", {key: topic.arn for key, topic in workflows.topics.items()})
    pulumi.export("trigger_rule", workflows.rule.name)
    pulumi.export("alarms", len(workflows.alarms))
    pulumi.export(OUTPUT, widgets(workflows.alarms, rules=[(workflows.rule, f"uploads under {contract.RAW_PREFIX}")]))
