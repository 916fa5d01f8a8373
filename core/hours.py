"""Weekly hours, one parser and one clock for every place that has them: sites (open now,
today's hours, in the site's own zone) and peers' shifts (on shift now, in the program's zone).

Hours are {"mon": [["09:00", "17:00"]], ...}: a day missing or empty is closed, 24:00 ends a
day, a span that closes before it opens runs past midnight. Pure: `now` is an argument.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Mapping
from zoneinfo import ZoneInfo

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_NAMES = {"en": ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"),
             "es": ("lun", "mar", "mié", "jue", "vie", "sáb", "dom")}

# -- parsing what a person types ("9am-5pm, 6-8:30pm", "closed", "24h") -----------------------

_CLOSED = frozenset({"closed", "cerrado", "none", "no", "-", "x"})
_ALL_DAY = frozenset({"24h", "24 h", "24hr", "24hrs", "24 hr", "24 hrs", "24 hours", "open 24 hours",
                      "24/7", "all day", "00:00-24:00", "0:00-24:00"})
_TIME = re.compile(r"(\d{1,2})(?::?([0-5]\d))?\s*(?:([ap])\.?\s*m?\.?)?", re.I)
_SPAN_SPLIT = re.compile(r"(.+?)\s*(?:-|–|—|\bto\b|\buntil\b|\btill\b)\s*(.+)", re.I)


def hhmm(minutes: int) -> str:
    """Minutes after midnight as "HH:MM" (1440 is "24:00")."""
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def minutes(value: str) -> int:
    h, m = value.split(":")
    return int(h) * 60 + int(m)


def parse_time(token: str, end: bool) -> int:
    """'09:00', '9am', '9:30 pm', '1730', 'noon', 'midnight' -> minutes after midnight.
    An end at midnight is 1440 (24:00); a bare hour ('9') is refused: 9 what?"""
    t = token.strip().lower()
    if t == "noon":
        return 720
    if t == "midnight":
        return 1440 if end else 0
    m = _TIME.fullmatch(t)
    if not m:
        raise ValueError(f"'{token.strip()}' is not a time like 09:00 or 9am")
    h, mins, half = int(m[1]), int(m[2] or 0), (m[3] or "").lower()
    if half:
        if not 1 <= h <= 12:
            raise ValueError(f"'{token.strip()}': with am/pm the hour is 1 to 12")
        h = h % 12 + (12 if half == "p" else 0)
    elif m[2] is None:
        raise ValueError(f"'{token.strip()}' needs minutes or am/pm: write {h:02d}:00 or {h}am")
    elif h > 24 or (h == 24 and mins):
        raise ValueError(f"'{token.strip()}' is not a time of day")
    value = h * 60 + mins
    if end and value == 0:
        return 1440
    if not end and value == 1440:
        raise ValueError("nothing opens at 24:00: write 00:00")
    return value


def parse_day(text: str | None, overnight: bool = True) -> list[list[str]] | None:
    """One weekday's line -> [["09:00","17:00"], ...]; 'closed' -> []; '24h' -> the whole day;
    blank -> None. With `overnight` a span that closes before it opens runs past midnight
    (20:00-02:00); without it (peer shifts) such a span is refused with what to write instead."""
    low = " ".join((text or "").lower().split())
    if not low:
        return None
    if low in _CLOSED:
        return []
    if low in _ALL_DAY:
        return [["00:00", "24:00"]]
    spans = []
    for part in filter(None, (p.strip() for p in re.split(r"\s*(?:,|;|&|\band\b)\s*", low))):
        m = _SPAN_SPLIT.fullmatch(part)
        if not m:
            raise ValueError(f"'{part}' is not a span like 09:00-17:00 (or write closed or 24h)")
        a, b = parse_time(m[1], end=False), parse_time(m[2], end=True)
        if a == b:
            raise ValueError(f"'{part}' starts and ends at the same time: for all day write 24h")
        if b < a and not overnight:
            raise ValueError(f"'{part}' ends before it starts: split a night shift into "
                             "22:00-24:00 and the next day's 00:00-06:00")
        spans.append((a, b if b > a else b + 1440, part))
    spans.sort()
    for (_, end, first), (start, _, second) in zip(spans, spans[1:]):
        if start < end:
            raise ValueError(f"'{first}' and '{second}' overlap")
    return [[hhmm(a), hhmm(b if b <= 1440 else b - 1440)] for a, b, _ in spans]


def format_day(spans) -> str:
    """The inverse of parse_day: '09:00-17:00, 18:00-20:00', 'closed', '24h' or ''."""
    if spans is None:
        return ""
    if not spans:
        return "closed"
    if [list(x) for x in spans] == [["00:00", "24:00"]]:
        return "24h"
    return ", ".join(f"{a}-{b}" for a, b in spans)


def spill_past_midnight(spans) -> int:
    """Minutes into the next day that an overnight span (20:00-02:00) reaches; 0 if none."""
    out = 0
    for a, b in spans or ():
        if minutes(b) <= minutes(a):
            out = max(out, minutes(b))
    return out


def valid(hours: Any) -> bool:
    """Structured hours: day keys mon..sun, each a list of ["HH:MM", "HH:MM"]."""
    if not isinstance(hours, Mapping) or not hours or set(hours) - set(DAYS):
        return False
    try:
        return all(0 <= minutes(o) < 1440 and 0 < minutes(c) <= 1440 and minutes(o) != minutes(c)
                   for spans in hours.values() for o, c in spans)
    except (TypeError, ValueError):
        return False


# -- the clock ---------------------------------------------------------------------------------

def _spans(hours: Mapping[str, Any], day: int) -> list[tuple[int, int]]:
    """Minute spans for a day index, overnight spans extended past 1440."""
    out = []
    for o, c in hours.get(DAYS[day % 7], ()) or ():
        a, b = minutes(o), minutes(c)
        out.append((a, b if b > a else b + 1440))
    return out


def always(hours: Mapping[str, Any]) -> bool:
    return all(_spans(hours, d) == [(0, 1440)] for d in range(7))


def clock(mins: int) -> str:
    """'9am', '5:30pm', '12am' for a minute of the day."""
    h, m = divmod(mins % 1440, 60)
    suffix = "am" if h < 12 else "pm"
    h12 = h % 12 or 12
    return f"{h12}{suffix}" if m == 0 else f"{h12}:{m:02d}{suffix}"


def local(now: datetime, tz: str) -> datetime:
    """`now` (aware; naive is taken as UTC) in zone `tz`."""
    return (now if now.tzinfo else now.replace(tzinfo=timezone.utc)).astimezone(ZoneInfo(tz))


@dataclass(frozen=True)
class OpenNow:
    """Open now, judged in the place's own zone. is_open None: no structured hours (or zone)."""
    is_open: bool | None
    until: str | None = None           # "5pm", or "24/7"
    next_day: int | None = None        # when closed: weekday index (0 = Monday) ...
    next_time: str | None = None       # ... and time of the next opening, "9am"
    today: tuple[tuple[str, str], ...] = ()   # today's spans as ("9am", "5pm")
    opens_today: bool = False          # closed now, but opens later today


def status(hours: Mapping[str, Any] | None, tz: str | None, now: datetime) -> OpenNow:
    """Whether hours in zone `tz` are open at `now`, when they close or next open, and today's."""
    if not hours or not valid(hours) or not tz:
        return OpenNow(None)
    t = local(now, tz)
    wd, minute = t.weekday(), t.hour * 60 + t.minute
    today = tuple((clock(a), clock(b)) for a, b in sorted(_spans(hours, wd)))
    for back in (0, 1):                              # today's spans, then yesterday's overnight
        for a, b in _spans(hours, wd - back):
            if a <= minute + back * 1440 < b:
                return OpenNow(True, "24/7" if always(hours) else clock(b), today=today)
    for ahead in range(0, 8):
        for a, _ in sorted(_spans(hours, wd + ahead)):
            if ahead or a > minute:
                return OpenNow(False, None, (wd + ahead) % 7, clock(a), today, ahead == 0)
    return OpenNow(False, today=today)


def is_open(hours: Mapping[str, Any] | None, now: datetime, tz: str) -> bool:
    """Open (on shift) at `now` in zone `tz`. For peers' shifts: no hours set means always."""
    if not hours:
        return True
    return bool(status(hours, tz, now).is_open)


def week_text(hours: Mapping[str, Any] | None, lang: str) -> str:
    """'Mon-Fri 9am-5pm; Sat 10am-2pm': days with identical hours grouped."""
    if not hours or not valid(hours):
        return ""
    if always(hours):
        return "24/7"
    names = DAY_NAMES["es" if lang == "es" else "en"]
    groups: list[list[Any]] = []
    for d in range(7):
        spans = tuple(tuple(s) for s in hours.get(DAYS[d], ()) or ())
        if groups and groups[-1][1] == spans and groups[-1][0][-1] == d - 1:
            groups[-1][0].append(d)
        else:
            groups.append([[d], spans])
    parts = []
    for ds, spans in groups:
        if not spans:
            continue
        label = names[ds[0]] if len(ds) == 1 else f"{names[ds[0]]}-{names[ds[-1]]}"
        times = ", ".join(f"{clock(minutes(o))}-{clock(minutes(c))}" for o, c in spans)
        parts.append(f"{label} {times}")
    return "; ".join(parts)


def union(weeks) -> dict[str, list[list[str]]]:
    """Several weekly hours as one (the peers' shifts as the program's coverage): on each day,
    overlapping or touching spans joined."""
    out: dict[str, list[list[str]]] = {}
    for day in DAYS:
        spans = sorted((minutes(a), minutes(b)) for week in weeks if week for a, b in (week.get(day) or []))
        joined: list[list[int]] = []
        for a, b in spans:
            if b <= a:                      # past midnight: kept as it is
                joined.append([a, b])
            elif joined and joined[-1][0] < joined[-1][1] and a <= joined[-1][1]:
                joined[-1][1] = max(joined[-1][1], b)
            else:
                joined.append([a, b])
        if joined:
            out[day] = [[hhmm(a), hhmm(b)] for a, b in joined]
    return out


def coverage(shifts) -> dict[str, str] | None:
    """The coverage hours told to people ({coverage} in flows), from the peers' shifts; None
    when no peer has a shift (the supervisors' coverage setting stands)."""
    week = union(shifts)
    return {lang: week_text(week, lang) for lang in ("en", "es")} if week else None
