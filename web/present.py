"""How times and numbers read on a staff page. Pure: `now` is always an argument."""
from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta, timezone
from typing import NamedTuple
from zoneinfo import ZoneInfo

import logs
from web import words


def duration(td: timedelta) -> str:
    """A short human span: '<1 min', '12 min', '3 h 05 min', '2 d 4 h'. Minutes are the finest
    grain on purpose: the polled queue then changes (and is redrawn) at most once a minute."""
    secs = int(abs(td.total_seconds()))
    if secs < 60:
        return "<1 min"
    mins = secs // 60
    if mins < 60:
        return f"{mins} min"
    hours, mins = divmod(mins, 60)
    if hours < 24:
        return f"{hours} h {mins:02d} min"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h"


def sla_text(due: datetime, responded: datetime | None, now: datetime) -> tuple[str, str]:
    """(text, css class) for the SLA column."""
    if responded is not None:
        return "answered", "muted"
    left = due - now
    if left.total_seconds() < 0:
        return f"overdue {duration(left)}", "overdue"
    return f"{duration(left)} left", "soon" if left < timedelta(minutes=5) else ""


def day_since_release(release: date | None, tz: str, now: datetime) -> int | None:
    """Day 0 is the release day, counted on the person's own calendar."""
    if release is None:
        return None
    return (now.astimezone(ZoneInfo(tz)).date() - release).days


def release_label(days: int | None) -> str:
    if days is None:
        return "no release date"
    if days < 0:
        return f"released in {-days} day{'s' if days != -1 else ''}"
    return f"day {days}"


def masked(address: str | None) -> str:
    """Lists show '+1******2671'; the full number appears only on the person's own page."""
    if not address:
        return "no number"
    return logs.mask_address(address.removeprefix("sms:"))


class QueueCells(NamedTuple):
    """A queue row's text, ready for the template (which only escapes it)."""
    name: str
    address: str
    language: str
    day: str
    reason: str
    title: str | None      # the preview's tooltip, longer; None when they have not written
    preview: str | None
    waiting: str
    sla: str
    sla_class: str


def queue_cells(rows, now: datetime) -> list[tuple]:
    """Each queue row with its cells, worked out here in one call a row rather than by a dozen
    helper calls a row from the template, which were most of the page's Python."""
    out = []
    for r in rows:
        sla, sla_class = sla_text(r.sla_due_at, r.first_response_at, now)
        text = r.last_text
        out.append((r, QueueCells(
            r.name or f"Person #{r.participant_id}", masked(r.address), words.LANGUAGES.get(r.language, r.language),
            release_label(day_since_release(r.release_date, r.timezone, now)),
            words.reason(r.reason, r.last_text_at, now),
            None if text is None else words.preview(text, 200), None if text is None else words.preview(text),
            duration(now - r.waiting_since), sla, sla_class)))
    return out


def local_time(at: datetime | None, tz: str) -> str:
    return at.astimezone(ZoneInfo(tz)).strftime("%a %b %-d, %H:%M") if at else ""


PRESETS = {"1h": timedelta(hours=1), "3h": timedelta(hours=3)}


def snooze_time(text: str, preset: str, at: datetime, tz: str) -> datetime:
    """The follow-up moment as UTC, or ValueError with what to type instead."""
    if preset in PRESETS:
        return at + PRESETS[preset]
    zone = ZoneInfo(tz)
    local = at.astimezone(zone)
    if preset == "tomorrow":
        return datetime.combine(local.date() + timedelta(days=1), time(9, 0), zone).astimezone(timezone.utc)
    clock = parse_clock(text)
    if clock is None:
        raise ValueError("Give a time like 15:00 or 3pm.")
    day = local.date() if clock > local.time() else local.date() + timedelta(days=1)
    return datetime.combine(day, clock, zone).astimezone(timezone.utc)


def parse_clock(text: str) -> time | None:
    """'15:00', '3pm', '3:30 pm', '9' -> a time of day; anything else -> None."""
    m = re.fullmatch(r"\s*(\d{1,2})(?:[:.](\d{2}))?\s*(?:([ap])\.?\s*m?\.?)?\s*", text.lower())
    if not m:
        return None
    hour, minute, half = int(m.group(1)), int(m.group(2) or 0), m.group(3)
    if half:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if half == "p" else 0)
    if hour > 23 or minute > 59:
        return None
    return time(hour, minute)
