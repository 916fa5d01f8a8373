"""Named statements shared by the runtime, the worker and the web pages."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Table, update
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


def insert_unless_exists(dialect: str, table: Table, unique: str, returning):
    """INSERT ... ON CONFLICT (unique) DO NOTHING RETURNING, values given when executed: one
    statement that is both the existence check and the write (no row back means it was already
    there). Both databases speak it; SQLAlchemy spells it per dialect."""
    make = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return make(table).on_conflict_do_nothing(index_elements=[unique]).returning(returning)
