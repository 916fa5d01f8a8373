"""Two records, one person: someone comes back on a new number and texts in as a stranger.

merge(keep, other) moves everything that makes up the person's story (numbers, the whole thread,
notes, tickets, report events) onto `keep` and leaves `other` as a tombstone pointing at it, so
old links and the audit trail still lead somewhere. Called by bot/participants.py's merge(),
which replans the person that remains. Opt-out is kept conservative: if either
record opted out, the merged person is opted out until they text START themselves.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from core import lifecycle
from db.checkins import recount_answered
from db.queries import cancel_pending
from db.models import Contact, Conversation, Escalation, Event, Message, Note, Participant

FILL_IN = ("first_name", "release_date", "checkin_time", "risk_tier", "assigned_peer_id",
           "consent_at", "consent_channel")


class MergeError(ValueError):
    pass


def merge(s: Session, keep: Participant, other: Participant, now: datetime) -> dict[str, int]:
    """Returns counts of what moved, for the audit trail.

    Both records are locked first, in id order, and their statuses read again under the lock:
    a text being processed for either finishes before anything moves (it holds the person's row),
    and two merges of the same pair in opposite directions cannot both pass the check below and
    leave a cycle. (On SQLite the caller's write session serialises merges.)"""
    if keep.id == other.id:
        raise MergeError("That is the same record.")
    for pid in sorted((keep.id, other.id)):
        s.execute(select(Participant.id).where(Participant.id == pid).with_for_update())
    s.refresh(keep)
    s.refresh(other)
    if "merged" in (keep.status, other.status):
        raise MergeError("One of these records was already merged into another.")
    moved = {}
    for model in (Contact, Message, Note, Event):
        moved[model.__tablename__] = _move(s, model, other.id, keep.id)
    recount_answered(s.connection(), [keep.id])     # one thread now: each check-in's next one may differ
    moved["tickets_closed"] = _one_open_ticket(s, keep.id, other.id, now)
    moved["escalations"] = _move(s, Escalation, other.id, keep.id)
    s.execute(update(Conversation).where(Conversation.participant_id == other.id,
                                         Conversation.status == "active")
              .values(status="ended", outcome="merged", timeout_at=None)
              .execution_options(synchronize_session=False))
    moved["scheduled_cancelled"] = cancel_pending(s, other.id, now, f"merged into #{keep.id}")
    external_id, other.external_id = other.external_id, None
    s.flush()  # the unique external id must leave `other` before `keep` may take it
    _combine(keep, other)
    keep.external_id = keep.external_id or external_id
    other.status, other.merged_into_id = "merged", keep.id
    s.flush()
    return moved


def _move(s: Session, model, from_id: int, to_id: int) -> int:
    return s.execute(update(model).where(model.participant_id == from_id).values(participant_id=to_id)
                     .execution_options(synchronize_session=False)).rowcount or 0


def _one_open_ticket(s: Session, keep_id: int, other_id: int, now: datetime) -> int:
    """Keep the more urgent open ticket; fold the other's note into it and close it as merged."""
    tickets = list(s.scalars(select(Escalation).where(Escalation.participant_id.in_((keep_id, other_id)),
                                                      Escalation.status == "open")
                             .order_by(Escalation.priority_rank, Escalation.sla_due_at)))
    for extra in tickets[1:]:
        tickets[0].note = "\n".join(x for x in (tickets[0].note, f"(merged) {extra.reason}: {extra.note}") if x)
        extra.status, extra.outcome, extra.resolved_at = "resolved", "merged", now
    return len(tickets[1:])


def _combine(keep: Participant, other: Participant) -> None:
    for name in FILL_IN:
        if getattr(keep, name) is None and getattr(other, name) is not None:
            setattr(keep, name, getattr(other, name))
    keep.fields = {**(other.fields or {}), **(keep.fields or {})}
    keep.status = lifecycle.merged_status(keep.status, other.status)
    if other.opted_out_at and not keep.opted_out_at:
        keep.opted_out_at = other.opted_out_at
    if other.last_inbound_at and (keep.last_inbound_at is None or other.last_inbound_at > keep.last_inbound_at):
        keep.last_inbound_at = other.last_inbound_at
