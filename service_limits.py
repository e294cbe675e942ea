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


# EC2 instance recovery (the CloudWatch alarm action arn:aws:automate:<region>:ec2:recover), by instance family.
# From the Amazon EC2 User Guide, "Recover your instance" (awsdocs/amazon-ec2-user-guide,
# doc_source/ec2-instance-recover.md at d376af5, the guide's last public source): the families simplified automatic
# recovery supports, all of which CloudWatch action based recovery supports too, plus the families with instance
# store volumes that CloudWatch action based recovery still recovers (their instance store data is lost). Other
# families with instance store volumes (m5d, c6gd, i3, ...), metal sizes and Dedicated Hosts are not supported. A
# family AWS added since is refused until it is added here: `aws ec2 describe-instance-types --filters
# Name=auto-recovery-supported,Values=true` lists what the account's region supports today.
EC2_RECOVERY_FAMILIES = (
    "a1", "m4", "m5", "m5a", "m5n", "m5zn", "m6a", "m6g", "m6i", "t1", "t2", "t3", "t3a", "t4g",  # general purpose
    "c4", "c5", "c5a", "c5n", "c6a", "c6g", "c6gn", "c6i", "hpc6a", "c7g",  # compute optimized
    "r4", "r5", "r5a", "r5b", "r5n", "r6g", "r6i",  # memory optimized (and high memory u-*, virtualized only)
    "g3", "g5g", "inf1", "p2", "p3", "vt1",  # accelerated computing
)
EC2_RECOVERY_FAMILIES_WITH_INSTANCE_STORE = ("m3", "c3", "r3", "x1", "x1e", "x2idn", "x2iedn")
EC2_HIGH_MEMORY_PREFIX = "u-"
EC2_INSTANCE_TYPE = r"(?P<family>[a-z][a-z0-9-]*[a-z0-9])\.(?P<size>[a-z0-9-]+)"


def ec2_recovery_problem(instance_type: str) -> str | None:
    """Why CloudWatch cannot recover an instance of this type (None: it can)."""
    match = re.fullmatch(EC2_INSTANCE_TYPE, instance_type)
    if match is None:
        return f"{instance_type!r} is not an instance type (family.size, e.g. t4g.nano)"
    family, size = match["family"], match["size"]
    if size.startswith("metal"):
        return "metal instances cannot be recovered"
    if family in EC2_RECOVERY_FAMILIES or family in EC2_RECOVERY_FAMILIES_WITH_INSTANCE_STORE \
            or family.startswith(EC2_HIGH_MEMORY_PREFIX):
        return None
    return (f"the {family} family is not among those the EC2 User Guide lists as recoverable (families with "
            f"instance store volumes, such as the *d variants, are not; a newer family is not listed here yet)")


# CloudWatch metric alarms: a standard-resolution period is a multiple of 60 s, and the periods an alarm evaluates
# span at most a day.
ALARM_PERIOD_STEP_SECONDS = 60
ALARM_MAX_EVALUATION_SECONDS = 86_400
