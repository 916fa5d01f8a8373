"""Program settings supervisors edit, kept in the `settings` key/value table.

One place names every key and its default, so the pages that write a setting and the code that
reads it (bot/escalations.py `sla_minutes`, cli/worker.py's sender pacing, the runtime's program
name and coverage hours) agree. A key that was never saved reads as its default.

| key | value |
| --- | --- |
| `sla_minutes` | {"urgent": 5, "high": 30, "normal": 240} minutes to a first peer response |
| `sender_rate_per_second` | float: texts a second the worker sends at most |
| `sender_daily_cap` | int or null: texts a day at most (null: no cap) |
| `program_name` | str: the name texts sign with ({program}) |
| `contact_line` | {"en": str, "es": str}: how to reach the program by phone |
| `coverage_hours` | {"en": str, "es": str}: when peers answer ({coverage} in flows) |
| `nudges_yaml` | str: the nudge schedule and texts (see scheduler/nudge_settings.py) |
| `flow_draft:<name>` | {"source", "user_id", "at", "base"}: a flow being edited, not published |
"""
from __future__ import annotations

from typing import Any

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.escalations import DEFAULT_SLA_MINUTES, sla_minutes  # noqa: F401  (re-exported)
from core import hours
from core.services import Context
from db.models import Setting, User

DEFAULT_COVERAGE = dict(Context().coverage)


def get(s: Session, key: str, default: Any = None) -> Any:
    row = s.get(Setting, key)
    return row.value if row is not None else default


def put(s: Session, key: str, value: Any) -> None:
    row = s.get(Setting, key)
    if row is None:
        s.add(Setting(key=key, value=value))
    else:
        row.value = value


def delete(s: Session, key: str) -> bool:
    row = s.get(Setting, key)
    if row is not None:
        s.delete(row)
    return row is not None


def with_prefix(s: Session, prefix: str) -> dict[str, Any]:
    return {row.key: row.value for row in s.scalars(select(Setting).where(Setting.key.startswith(prefix)))}


def program_name(s: Session) -> str:
    return get(s, "program_name") or current_app.config.get("PROGRAM_NAME", "Homeward")


def coverage_hours(s: Session) -> dict[str, str]:
    """When peers answer, as people are told: from the active peers' shifts when any has one
    (the same rule as the runtime's), else the supervisors' setting."""
    shifts = s.scalars(select(User.shift).where(User.active.is_(True), User.role == "peer"))
    from_shifts = hours.coverage(shifts)
    if from_shifts:
        return from_shifts
    return {**DEFAULT_COVERAGE, **{k: v for k, v in (get(s, "coverage_hours") or {}).items() if v}}


def contact_line(s: Session) -> dict[str, str]:
    return {"en": "", "es": "", **(get(s, "contact_line") or {})}


def sender_rate(s: Session) -> float:
    return float(get(s, "sender_rate_per_second", current_app.config.get("SENDER_RATE_PER_SECOND", 1.0)))


def sender_daily_cap(s: Session) -> int | None:
    return get(s, "sender_daily_cap", None)
