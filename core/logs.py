"""Log lines on stdout, JSON or text, each carrying the request id or job id it was written under."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

# The request (web) or job (worker) a log line belongs to; set by whoever starts the work.
request_id: ContextVar[str | None] = ContextVar("request_id", default=None)
# Finds the job id in a process where rq runs jobs; the worker installs rq's get_current_job.
job_id_source: Callable[[], str | None] = lambda: None  # noqa: E731 - replaced by the worker

# gunicorn's access log passes its atoms (a dict) as the record's args; these are the ones kept.
# The raw path and query are left out on purpose: tracking, media and sign links carry tokens.
ACCESS_FIELDS = {
    "m": "method",
    "s": "status",
    "B": "bytes",
    "{gongzhi.route}e": "route",
    "{gongzhi.request_id}e": "request_id",
}
ACCESS_FORMAT = '%({gongzhi.request_id}e)s "%(m)s %({gongzhi.route}e)s" %(s)s %(B)s %(M)sms'
TEXT_FORMAT = "%(asctime)s %(processName)s %(name)s %(levelname)s [%(ids)s] %(message)s"


class ContextFilter(logging.Filter):
    """Stamps each record with the request id and job id current where it was written."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = request_id.get()
        if not hasattr(record, "job_id"):
            try:
                record.job_id = job_id_source()
            except Exception:  # a log line must never fail because its job cannot be found
                record.job_id = None
        ids = (getattr(record, "request_id", None), getattr(record, "job_id", None))
        record.ids = " ".join(str(v) for v in ids if v) or "-"
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, ids, and the exception if any."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "pid": record.process,
        }
        if record.name == "gunicorn.access" and isinstance(record.args, dict):
            atoms = record.args
            line["message"] = "request"
            line.update({name: atoms.get(atom) for atom, name in ACCESS_FIELDS.items()})
            line["status"] = int(atoms.get("s") or 0)
            line["duration_ms"] = round(int(atoms.get("D") or 0) / 1000, 1)
        else:
            line["message"] = record.getMessage()  # redacted by wxclient.redact's record factory
        for key in ("request_id", "job_id"):
            value = getattr(record, key, None)
            if value and value != "-":
                line[key] = value
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line["exception"] = record.exc_text
        return json.dumps(line, ensure_ascii=False, default=str)


def handler(as_json: bool) -> logging.Handler:
    """A stdout handler with the chosen format and the ids filter."""
    out = logging.StreamHandler(sys.stdout)
    out.setFormatter(JsonFormatter() if as_json else logging.Formatter(TEXT_FORMAT))
    out.addFilter(ContextFilter())
    return out


def configure(as_json: bool, level: int = logging.INFO) -> None:
    """Send this process's log lines (every logger's) to stdout, in JSON or text."""
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler(as_json))
    root.setLevel(level)


def gunicorn_logconfig(as_json: bool, level: str = "INFO") -> dict[str, Any]:
    """gunicorn's `logconfig_dict`: its error and access logs and the app's, all on stdout alike."""
    formatter = {"()": JsonFormatter} if as_json else {"format": TEXT_FORMAT}
    handler_conf = {
        "class": "logging.StreamHandler",
        "stream": "ext://sys.stdout",
        "formatter": "main",
        "filters": ["ids"],
    }
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"ids": {"()": ContextFilter}},
        "formatters": {"main": formatter},
        "handlers": {"stdout": handler_conf},
        "root": {"level": level, "handlers": ["stdout"]},
        "loggers": {
            # Reading the migration heads (/readyz) would otherwise log alembic's plugin set-up.
            "alembic": {"level": "WARNING"},
            "gunicorn.error": {"level": level, "handlers": ["stdout"], "propagate": False},
            "gunicorn.access": {"level": "INFO", "handlers": ["stdout"], "propagate": False},
        },
    }
