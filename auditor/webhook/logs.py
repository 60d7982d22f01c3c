"""Structured JSON logs, one object per line on stderr.

A request's log line carries its uid, operation, kind, namespace and name, the decision,
the ids of the rules involved and the time taken: never the object, a finding's message
(which may quote the object), a certificate, a key or a token.
"""

from __future__ import annotations

import datetime as dt
import logging
import sys
from typing import Any

import orjson

LOGGER_NAME = "kube_auditor.webhook"
#: ``extra=`` keys copied into the JSON line (anything else passed is ignored).
FIELDS = (
    "event", "uid", "endpoint", "operation", "kind", "namespace", "objectName", "user", "dryRun",
    "allowed", "reason", "rules", "patched", "status", "durationMs", "error", "path", "port",
    "mode", "threshold", "rulesLoaded", "rulesSkipped", "notAfter", "client",
)


_second: tuple[int, str] = (-1, "")


def _timestamp(created: float) -> str:
    """ISO 8601 in UTC with milliseconds (the date part formatted once per second)."""
    global _second
    whole = int(created)
    if _second[0] != whole:
        _second = (whole, dt.datetime.fromtimestamp(whole, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S"))
    return f"{_second[1]}.{int((created - whole) * 1000):03d}+00:00"


class JSONFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": _timestamp(record.created),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key in FIELDS:
            value = record.__dict__.get(key)
            if value is not None:
                line[key] = value
        if record.exc_info and record.exc_info[0] is not None:
            # the exception type only: a traceback's locals or message may quote the object
            line["exception"] = record.exc_info[0].__name__
        return orjson.dumps(line, default=str).decode()


def configure(level: str = "info", stream: Any = None) -> logging.Logger:
    """Send the webhook's and uvicorn's logs to ``stream`` (stderr) as JSON lines."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JSONFormatter())
    for name in (LOGGER_NAME, "uvicorn", "uvicorn.error"):
        logger = logging.getLogger(name)
        logger.handlers[:] = [handler]
        logger.setLevel(level.upper())
        logger.propagate = False
    # Access lines would duplicate the request log; uvicorn's is turned off.
    logging.getLogger("uvicorn.access").disabled = True
    return logging.getLogger(LOGGER_NAME)


def get_logger() -> logging.Logger:
    return logging.getLogger(LOGGER_NAME)
