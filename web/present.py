"""How times and numbers read on a staff page. Pure: `now` is always an argument."""
from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import logs


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


def local_time(at: datetime | None, tz: str) -> str:
    return at.astimezone(ZoneInfo(tz)).strftime("%a %b %-d, %H:%M") if at else ""
