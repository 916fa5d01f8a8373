"""What a URL or a form may carry: ids and page numbers the database's INTEGER can hold, dates
within a sane range, and a `next=` that stays on this site. One place, so every route answers
an overflowing id with a 404 (or its default) instead of a database OverflowError (issue 16)."""
from __future__ import annotations

from datetime import date, datetime
from urllib.parse import urlsplit

from werkzeug.routing import IntegerConverter

DB_INT_MAX = 2**31 - 1            # ids are INTEGER on PostgreSQL; SQLite's are wider
FIRST_DAY, LAST_DAY = date(1900, 1, 1), date(2199, 12, 31)


class DbIdConverter(IntegerConverter):
    """`<int:…>` and `<dbid:…>` in every rule: a number past DB_INT_MAX matches no route (404)."""

    def __init__(self, map, fixed_digits: int = 0, min: int | None = None, max: int | None = DB_INT_MAX,
                 signed: bool = False) -> None:
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


def register(app) -> None:
    """Before any blueprint: the converter is looked up when each rule is added."""
    app.url_map.converters["int"] = DbIdConverter
    app.url_map.converters["dbid"] = DbIdConverter


def db_int(raw) -> int:
    """`request.args.get(name, default, type=db_int)`: a value outside 0…DB_INT_MAX is the default."""
    value = int(raw)
    if not 0 <= value <= DB_INT_MAX:
        raise ValueError(f"{raw!r} is out of range")
    return value


def day(raw: str) -> date:
    """An ISO date between FIRST_DAY and LAST_DAY; ValueError (with the reason) otherwise."""
    value = date.fromisoformat(raw)
    if not FIRST_DAY <= value <= LAST_DAY:
        raise ValueError(f"{raw} is outside {FIRST_DAY.year}–{LAST_DAY.year}")
    return value


def local_datetime(raw: str) -> datetime:
    """An ISO date and time (naive, a wall clock) in the same range as `day`."""
    value = datetime.fromisoformat(raw)
    if not FIRST_DAY <= value.date() <= LAST_DAY:
        raise ValueError(f"{raw} is outside {FIRST_DAY.year}–{LAST_DAY.year}")
    return value


def safe_next(target: str | None) -> str | None:
    """A path on this site (with its query) or None: nothing with a scheme, a host, a backslash
    or a control character (a CR/LF in a Location header would be a 500 or a split header)."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return None
    if any(ch < " " or ch == "\x7f" or ch == "\\" for ch in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target
