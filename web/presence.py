"""Who else has a person open: "Luis is viewing", "Luis is replying".

Each open person page says so on every live poll; a mark older than FRESH is gone (the tab was
closed, the laptop slept). Kept in the database, not in memory, because the web app runs as
several processes.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from db.models import StaffPresence, User

FRESH = timedelta(seconds=30)


def touch(s: Session, user_id: int, person_id: int, replying: bool, now: datetime) -> None:
    """One statement: insert or refresh this peer's mark (two tabs cannot collide on the key)."""
    insert = sqlite_insert if _dialect(s) == "sqlite" else pg_insert
    stmt = insert(StaffPresence).values(user_id=user_id, participant_id=person_id, replying=replying, seen_at=now)
    s.execute(stmt.on_conflict_do_update(index_elements=["user_id", "participant_id"],
                                         set_={"replying": replying, "seen_at": now}))


def _dialect(s) -> str:
    """Of a Session or of a bare Connection (the live poll's)."""
    return (s.get_bind() if isinstance(s, Session) else s).dialect.name


def leave(s: Session, user_id: int, person_id: int) -> None:
    s.execute(delete(StaffPresence).where(StaffPresence.user_id == user_id,
                                          StaffPresence.participant_id == person_id))


def others(s: Session, person_id: int, user_id: int, now: datetime) -> list[str]:
    """Plain sentences about the other staff on this person now, replying first."""
    rows = s.execute(select(User.name, StaffPresence.replying)
                     .join(User, User.id == StaffPresence.user_id)
                     .where(StaffPresence.participant_id == person_id, StaffPresence.user_id != user_id,
                            StaffPresence.seen_at >= now - FRESH)
                     .order_by(StaffPresence.replying.desc(), User.name)).all()
    return [f"{name.split(' ')[0]} is {'replying' if replying else 'viewing'}" for name, replying in rows]


def stop_replying(s: Session, user_id: int, person_id: int) -> None:
    s.execute(update(StaffPresence).where(StaffPresence.user_id == user_id,
                                          StaffPresence.participant_id == person_id).values(replying=False))
