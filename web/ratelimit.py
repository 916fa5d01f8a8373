"""Sliding-window rate limits kept in the database, so every web process counts the same hits.

`hit(s, key, limit, now)` counts one request under `key` if the last `limit.window` holds fewer
than `limit.count` of them, and returns None; otherwise it returns the whole seconds to wait.
`take(s, checks, now)` does the same for several limits at once (all counted, or none). The
check and the count are one atomic step: PostgreSQL serialises hits on a key with an advisory
lock held to the end of the transaction; on SQLite the caller's session must be
`db.session(write=True)`, where writers take turns. Parallel requests can therefore never pass
more than the limit.
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

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from db.models import RateHit
from db.queries import serialise

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
    return take(s, [(key, limit)], now, count=count)


def take(s: Session, checks: list[tuple[str, Limit]], now: datetime, count: bool = True,
         force: bool = False) -> int | None:
    """Check every (key, limit); when all allow, count one hit under each and return None, else
    return the longest wait and count nothing. `force`: count even when over (a message the
    safety check flags is never turned away), still returning the wait."""
    serialise(s, *(key for key, _ in checks))
    waits = [_wait(s, key, limit, now) for key, limit in checks]
    wait = max((w for w in waits if w), default=None)
    if count and (wait is None or force):
        for key, limit in checks:
            record(s, key, now, limit.window)
    return wait


def _wait(s: Session, key: str, limit: Limit, now: datetime) -> int | None:
    n, oldest = s.execute(select(func.count(), func.min(RateHit.at))
                          .where(RateHit.key == key, RateHit.at > now - limit.window)).one()
    if n >= limit.count:
        return max(1, math.ceil((oldest + limit.window - now).total_seconds()))
    return None


def record(s: Session, key: str, now: datetime, window: timedelta) -> None:
    """Count one hit without checking (a failed sign-in attempt, a message let through for safety)."""
    s.execute(insert(RateHit).values(key=key, at=now))
    s.execute(delete(RateHit).where(RateHit.key == key, RateHit.at <= now - window)
              .execution_options(synchronize_session=False))
    if secrets.randbelow(100) == 0:
        s.execute(delete(RateHit).where(RateHit.at < now - LONGEST_WINDOW)
                  .execution_options(synchronize_session=False))


def client_key(secret: str, address: str | None) -> str:
    """A stable, non-reversible name for a client address (never stored in the clear)."""
    digest = hmac.new(secret.encode(), (address or "?").encode(), hashlib.sha256).hexdigest()
    return digest[:24]
