"""Named statements shared by the runtime, the worker and the web pages."""
from __future__ import annotations

import hashlib
from datetime import datetime

from sqlalchemy import Table, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from db.models import ScheduledMessage


def cancel_pending(s: Session, participant_id: int, now: datetime, why: str) -> int:
    """Withdraw everything not yet sent to a person (opt-out, unsubscribed number, stop)."""
    result = s.execute(update(ScheduledMessage)
                       .where(ScheduledMessage.participant_id == participant_id,
                              ScheduledMessage.state.in_(("pending", "held")))
                       .values(state="cancelled", last_error=why, updated_at=now))
    return result.rowcount or 0


def mark_unsubscribed(s: Session, participant_id: int, contact_id: int | None, now: datetime, why: str) -> None:
    """The carrier or Twilio says this person opted out (21610): never text them again."""
    from db.models import Contact, Participant
    if contact_id is not None:
        contact = s.get(Contact, contact_id)
        contact.opted_out_at = contact.opted_out_at or now
    person = s.get(Participant, participant_id)
    person.opted_out_at = person.opted_out_at or now
    cancel_pending(s, participant_id, now, why)


def insert_unless_exists(dialect: str, table: Table, unique: str | tuple[str, ...], returning):
    """INSERT ... ON CONFLICT (unique) DO NOTHING RETURNING, values given when executed: one
    statement that is both the existence check and the write (no row back means it was already
    there). `unique`: the column, or the columns of a unique constraint. Both databases speak it;
    SQLAlchemy spells it per dialect."""
    make = postgresql.insert if dialect == "postgresql" else sqlite.insert
    columns = [unique] if isinstance(unique, str) else list(unique)
    return make(table).on_conflict_do_nothing(index_elements=columns).returning(returning)


def serialise(s: Session, *keys: str) -> None:
    """Make check-then-write on these names atomic until the transaction ends. PostgreSQL: one
    transaction-level advisory lock per name, taken in sorted order (no deadlock between two
    callers). SQLite: nothing to take, provided the caller's session is `write=True`, where
    writers already take turns (BEGIN IMMEDIATE)."""
    if s.get_bind().dialect.name != "postgresql":
        return
    for key in sorted(set(keys)):
        lock_id = int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big", signed=True)
        s.execute(select(func.pg_advisory_xact_lock(lock_id)))
