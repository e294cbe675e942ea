"""Lambda entry point of the Firehose record transform (``handler.handler``).

Settings come from the environment once, at start: a bad one stops the function before it answers anything,
so Firehose retries the batch and then writes it to the error prefix, and the errors alarm fires. Logs carry
counts and failure reasons, never record data.
"""
from __future__ import annotations

import logging
import os
from typing import Any

if __package__:
    from . import contract, transform
else:  # in the Lambda package this directory's files are at the root
    import contract
    import transform

logger = logging.getLogger()
logger.setLevel(logging.INFO)
SETTINGS = contract.Settings.from_env(os.environ)


def handler(event: dict[str, Any], context: Any = None) -> dict[str, list[dict[str, str]]]:
    outcome = transform.transform(event.get("records") or [], SETTINGS)
    logger.info("transformed batch", extra={"delivery_stream": event.get("deliveryStreamArn", ""),
                                            "records": len(outcome.records), **dict(outcome.counts),
                                            "failure_reasons": dict(outcome.reasons)})
    return outcome.response()
