"""Sliding-window rate limits kept in the database, so every web process counts the same hits.

`hit(s, key, limit, now)` counts one request under `key` if the last `limit.window` holds fewer
than `limit.count` of them, and returns None; otherwise it returns the whole seconds to wait.
Keys name what is limited ("chat:session:12", "chat:ip:<hmac>", "api:token:3"); a client address
is never stored as is, only as a keyed hash. Each hit prunes its own key's expired rows, and
about one hit in a hundred prunes everything older than a day.
"""
from __future__ import annotations

import hashlib
import hmac
import math
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from db.models import RateHit

LONGEST_WINDOW = timedelta(days=1)


@dataclass(frozen=True)
class Limit:
    count: int
    window: timedelta

    @classmethod
    def per_minute(cls, n: int) -> "Limit":
        return cls(n, timedelta(minutes=1))


def hit(s: Session, key: str, limit: Limit, now: datetime, count: bool = True) -> int | None:
    """None when allowed (and, with count=True, counted); else seconds until the next slot."""
    since = now - limit.window
    n, oldest = s.execute(select(func.count(), func.min(RateHit.at))
                          .where(RateHit.key == key, RateHit.at > since)).one()
    if n >= limit.count:
        return max(1, math.ceil((oldest + limit.window - now).total_seconds()))
    if count:
        record(s, key, now, limit.window)
    return None


def record(s: Session, key: str, now: datetime, window: timedelta) -> None:
    """Count one hit without checking (a failed sign-in attempt, a message let through for safety)."""
    s.add(RateHit(key=key, at=now))
    s.execute(delete(RateHit).where(RateHit.key == key, RateHit.at <= now - window)
              .execution_options(synchronize_session=False))
    if secrets.randbelow(100) == 0:
        s.execute(delete(RateHit).where(RateHit.at < now - LONGEST_WINDOW)
                  .execution_options(synchronize_session=False))


def client_key(secret: str, address: str | None) -> str:
    """A stable, non-reversible name for a client address (never stored in the clear)."""
    digest = hmac.new(secret.encode(), (address or "?").encode(), hashlib.sha256).hexdigest()
    return digest[:24]
