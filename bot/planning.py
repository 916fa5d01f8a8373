"""Turn a person's plan into outbox rows (shell). Replanning reconciles: rows still to come are
moved to where the current facts put them (release date, time zone, preferred time, status),
rows the plan no longer has are withdrawn (or skipped, when already due: never a late burst),
and a slot that was already sent is never planned again. Idempotent, so every lifecycle
operation can simply replan."""
from __future__ import annotations

from datetime import datetime, time

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import lifecycle, policy
from db.models import ScheduledMessage

PLANNED_KINDS = ("nudge", "welcome", "closing")
_UNSENT = ("pending", "held")
_REVIVABLE = ("pending", "held", "cancelled", "skipped")


def _checkin(p) -> time | None:
    if not p.checkin_time:
        return None
    hh, mm = p.checkin_time.split(":")
    return time(int(hh), int(mm))


def schedule_nudges(s: Session, person, schedule: policy.Schedule, now: datetime,
                    enrolled_at: datetime | None = None) -> int:
    """Make `person`'s outbox rows match the plan they should have now; returns how many texts
    are planned ahead. `person` is a Participant or the runtime's record of one."""
    state = lifecycle.plannable(person.status, person.opted_out, person.release_date is not None)
    rows = list(s.scalars(select(ScheduledMessage).where(ScheduledMessage.participant_id == person.id,
                                                         ScheduledMessage.kind.in_(PLANNED_KINDS))))
    planned = []
    if state is not None:
        planned = policy.plan(person.release_date, schedule, person.timezone, _checkin(person), str(person.id),
                              min(enrolled_at or person.consent_at or person.created_at or now, now), now)
        if (person.fields or {}).get("consent") is True:
            # They said yes to the welcome conversation by text: it was their welcome.
            planned = [p for p in planned if p.kind != "welcome"]
    wanted, ahead = {p.dedupe_key: p for p in planned}, 0
    for row in rows:
        p = wanted.pop(row.dedupe_key, None)
        if p is not None and row.state in _REVIVABLE:
            ahead += 1
            row.state, row.due_at, row.template_key, row.last_error = state, p.due_at, p.template_key, None
            row.attempts, row.updated_at = 0, now
        elif p is None and row.state in _UNSENT:
            row.state = "skipped" if row.due_at <= now else "cancelled"
            row.last_error, row.updated_at = "replanned", now
        # anything else (claimed, sent, failed) is history: that slot is never planned twice
    for p in wanted.values():
        s.add(ScheduledMessage(participant_id=person.id, kind=p.kind, dedupe_key=p.dedupe_key,
                               template_key=p.template_key, due_at=p.due_at, state=state,
                               created_at=now, updated_at=now))
    s.flush()
    return ahead + len(wanted)
