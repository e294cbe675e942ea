"""One JSON object per log line, for CloudWatch Logs Insights."""

from __future__ import annotations

import json
import logging
from datetime import datetime, timezone


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update(getattr(record, "fields", {}))
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def logging_config(level: str) -> dict:
    """A dictConfig for the sidecar's own logger and the server's (waitress), all as JSON on stdout."""
    handler = {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stdout"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": JsonFormatter}},
        "handlers": {"stdout": handler},
        "root": {"level": "WARNING", "handlers": ["stdout"]},
        "loggers": {
            "auth_sidecar": {"level": level, "handlers": ["stdout"], "propagate": False},
            "waitress": {"level": "WARNING", "handlers": ["stdout"], "propagate": False},
        },
    }
