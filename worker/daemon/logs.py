"""Structured logs: every record is an event name plus fields, written as one JSON object per line to
the worker's log file (and to stderr as JSON with --json-logs, or as short human lines otherwise)."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

LOGGER = "openledger.worker"


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": round(record.created, 3),
            "level": record.levelname.lower(),
            "event": record.getMessage(),
            **getattr(record, "fields", {}),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, sort_keys=False)


class HumanFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        fields = " ".join(f"{k}={v}" for k, v in getattr(record, "fields", {}).items())
        stamp = time.strftime("%H:%M:%S", time.localtime(record.created))
        return f"{stamp} {record.levelname.lower():7s} {record.getMessage()} {fields}".rstrip()


def configure_logging(log_path: Path | None, json_stderr: bool = False, level: int = logging.INFO) -> None:
    logger = logging.getLogger(LOGGER)
    logger.setLevel(level)
    logger.propagate = False
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
        handler.close()
    console = logging.StreamHandler()
    console.setFormatter(JsonFormatter() if json_stderr else HumanFormatter())
    logger.addHandler(console)
    if log_path is not None:
        log_path.parent.mkdir(parents=True, exist_ok=True)
        file_handler = logging.FileHandler(log_path)
        file_handler.setFormatter(JsonFormatter())
        logger.addHandler(file_handler)


def event(level: int, name: str, **fields: Any) -> None:
    logging.getLogger(LOGGER).log(level, name, extra={"fields": fields})
