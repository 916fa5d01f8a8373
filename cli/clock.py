"""`--now ISO-TIME` for operator commands: every command that reads the clock can be told the
time instead, so a test (or an operator replaying a day) pins it; without it, the real clock."""
from __future__ import annotations

from datetime import datetime, timezone

import click


def parse_now(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        now = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter("use ISO 8601, e.g. 2026-12-01T15:00:00-05:00", param_hint="--now") from None
    return now if now.tzinfo else now.replace(tzinfo=timezone.utc)


def now_option(fn):
    """Adds `--now` and passes `now` (a datetime: the given time, else the real clock)."""
    def resolve(ctx, param, value):
        return parse_now(value) or datetime.now(timezone.utc)
    return click.option("--now", "now", default=None, callback=resolve, expose_value=True,
                        help="Pretend it is this time (ISO 8601); default: the real clock.")(fn)
