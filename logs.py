"""Structured logs that never hold a phone number or a message body.

Every line is one JSON object with the request id. Callers log ids and masked addresses only;
as a second line of defence a filter masks anything that still looks like a phone number.
"""
from __future__ import annotations

import json
import logging
import re
import sys
from contextvars import ContextVar

request_id: ContextVar[str] = ContextVar("request_id", default="-")

_PHONE = re.compile(r"(?<![A-Za-z0-9])\+?\d[\d\s().-]{8,}\d(?![A-Za-z0-9])")


def mask_address(address: str | None) -> str:
    """'+13125552671' → '+1******2671'; 'whatsapp:+1312...' keeps its channel prefix."""
    if not address:
        return ""
    prefix, _, rest = address.rpartition(":")
    digits = re.sub(r"\D", "", rest)
    if len(digits) < 7:
        return (prefix + ":" if prefix else "") + "***"
    masked = f"+{digits[0]}{'*' * (len(digits) - 5)}{digits[-4:]}"
    return (prefix + ":" if prefix else "") + masked


def _scrub(text: str) -> str:
    return _PHONE.sub(lambda m: mask_address(m.group(0)), text)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "logger": record.name,
            "request_id": request_id.get(),
            "msg": _scrub(record.getMessage()),
        }
        for key, value in getattr(record, "fields", {}).items():
            out[key] = _scrub(value) if isinstance(value, str) else value
        if record.exc_info:
            # Exception text can quote SQL parameters (bodies, numbers): keep the type and where.
            etype, evalue, tb = record.exc_info
            frames = []
            while tb is not None:
                frames.append(f"{tb.tb_frame.f_code.co_filename.rsplit('/', 1)[-1]}:{tb.tb_lineno}")
                tb = tb.tb_next
            out["exc_type"] = etype.__name__ if etype else None
            out["exc_where"] = frames[-6:]
        return json.dumps(out, ensure_ascii=False, default=str)


def setup(level: str = "INFO") -> None:
    root = logging.getLogger()
    if any(isinstance(h.formatter, JsonFormatter) for h in root.handlers):
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root.addHandler(handler)
    root.setLevel(level)
    for noisy in ("twilio.http_client", "sqlalchemy.engine", "werkzeug", "apscheduler", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def event(logger: logging.Logger, msg: str, level: int = logging.INFO, exc_info: bool = False, **fields) -> None:
    logger.log(level, msg, exc_info=exc_info, extra={"fields": fields})
