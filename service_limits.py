"""What the cloud services themselves allow: facts, not choices.

Both the components (which refuse a setting the service would refuse, before anything is registered) and the
guardrails in ``policies`` (which judge a plan) rely on these numbers. Keeping them here, in a module that
imports nothing of the project, means the guardrails never import the code they judge. Standard library only.
"""
from __future__ import annotations

import re

# CloudWatch Logs accepts only these retention periods (days).
LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192,
                      2557, 2922, 3288, 3653)

# Fargate's task sizes: cpu units -> allowed memory (MiB).
FARGATE_SIZES: dict[int, tuple[int, ...]] = {
    256: (512, 1024, 2048),
    512: tuple(range(1024, 4096 + 1, 1024)),
    1024: tuple(range(2048, 8192 + 1, 1024)),
    2048: tuple(range(4096, 16384 + 1, 1024)),
    4096: tuple(range(8192, 30720 + 1, 1024)),
    8192: tuple(range(16384, 61440 + 1, 4096)),
    16384: tuple(range(32768, 122880 + 1, 8192)),
}

# SQS keeps a message at most this long.
SQS_MAX_RETENTION_DAYS = 14

# API Gateway stops waiting for any integration after this long.
API_GATEWAY_MAX_SECONDS = 30

# Lambda: memory and timeout bounds.
LAMBDA_MEMORY_MB = (128, 10240)
LAMBDA_MAX_TIMEOUT_SECONDS = 900

# Alexa waits this long for a skill's answer, then tells the user the skill did not respond.
ALEXA_RESPONSE_SECONDS = 8
# EventBridge Scheduler's rate expressions: rate(1 day), rate(3 days) (singular for 1, plural otherwise).
SCHEDULE_RATE = re.compile(r"rate\((?P<value>[1-9]\d*) (?P<unit>minute|minutes|hour|hours|day|days)\)")
SCHEDULE_RATE_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}


def schedule_rate_seconds(expression: object) -> int | None:
    """Seconds between two runs of a rate expression the scheduler accepts; None for anything else."""
    match = SCHEDULE_RATE.fullmatch(expression) if isinstance(expression, str) else None
    if match is None or (match["value"] == "1") != (not match["unit"].endswith("s")):
        return None
    return int(match["value"]) * SCHEDULE_RATE_UNIT_SECONDS[match["unit"].rstrip("s")]
