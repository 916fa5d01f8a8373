"""Turn a person's plan into outbox rows (shell). Idempotent: the (participant, dedupe_key)
unique constraint means replanning never adds a nudge twice; a changed release date cancels the
old plan's pending rows and writes the new one."""
from __future__ import annotations

from datetime import datetime, time

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from db.models import Participant, ScheduledMessage
from core import policy


def _checkin(p: Participant) -> time | None:
    if not p.checkin_time:
        return None
    hh, mm = p.checkin_time.split(":")
    return time(int(hh), int(mm))


def schedule_nudges(s: Session, person: Participant, schedule: policy.Schedule, now: datetime,
                    enrolled_at: datetime | None = None) -> int:
    """Write the pending plan for `person`; returns how many rows were added."""
    if person.release_date is None or person.opted_out or person.status not in ("active",):
        return 0
    planned = policy.plan(person.release_date, schedule, person.timezone, _checkin(person),
                          str(person.id), enrolled_at or person.consent_at or person.created_at or now, now)
    keys = {p.dedupe_key for p in planned}
    # A plan for another release date (the date was corrected) is withdrawn.
    s.execute(update(ScheduledMessage)
              .where(ScheduledMessage.participant_id == person.id, ScheduledMessage.state == "pending",
                     ScheduledMessage.kind.in_(("nudge", "welcome", "closing")),
                     ScheduledMessage.dedupe_key.not_in(keys) if keys else True)
              .values(state="cancelled", last_error="replanned", updated_at=now))
    existing = {row.dedupe_key: row for row in s.scalars(
        select(ScheduledMessage).where(ScheduledMessage.participant_id == person.id))}
    added = 0
    for p in planned:
        row = existing.get(p.dedupe_key)
        if row is not None:
            if row.state == "cancelled" and row.last_error == "replanned":  # the date came back
                row.state, row.due_at, row.last_error, row.updated_at = "pending", p.due_at, None, now
            continue
        s.add(ScheduledMessage(participant_id=person.id, kind=p.kind, dedupe_key=p.dedupe_key,
                               template_key=p.template_key, due_at=p.due_at, state="pending",
                               created_at=now, updated_at=now))
        added += 1
    s.flush()
    return added
