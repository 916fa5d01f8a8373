"""What staff do to a ticket: claim, release, respond, resolve, reopen, hand a caseload over.

Shell (touches the database) but free of Flask, so the inbox, the API and the runtime share it.
Claims are conditional updates: two peers pressing "claim" at once cannot both win, and the loser
is told who did. A resolved ticket comes back when the person writes again, because a reply to a
closed conversation is exactly the message that must not sit unread.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import and_, bindparam, case, or_, select, update
from sqlalchemy.orm import Session

from bot.escalations import PRIORITY_RANK, auto_assignee, can_take, sla_minutes
from db.models import Escalation, Note, Participant, User

OUTCOMES = {
    "reached": "Reached",
    "referred_treatment": "Referred to treatment",
    "naloxone_provided": "Naloxone provided",
    "no_answer": "No answer",
    "overdose_reported": "Overdose reported",
    "reversal_reported": "Reversal reported",
    "other": "Other",
}
REOPEN_WINDOW_DAYS = 30  # older tickets stay closed; a new reason opens a fresh one instead


class TicketConflict(Exception):
    """The ticket changed under the caller (claimed by someone else, already resolved)."""


def claim(s: Session, ticket_id: int, user_id: int, expected_assignee: int | None,
          now: datetime | None = None) -> None:
    """Take the ticket if its assignee is still what the caller saw (None = unassigned).
    `now` records when, for the ticket's history."""
    same = (Escalation.assignee_id.is_(None) if expected_assignee is None
            else Escalation.assignee_id == expected_assignee)
    done = s.execute(update(Escalation)
                     .where(Escalation.id == ticket_id, Escalation.status == "open", same)
                     .values(assignee_id=user_id, claimed_at=now)
                     .execution_options(synchronize_session=False)).rowcount
    if not done:
        raise TicketConflict(_why(s, ticket_id))


def release(s: Session, ticket_id: int, user_id: int, may_release_others: bool) -> None:
    ticket = s.get(Escalation, ticket_id)
    if ticket is None or ticket.status != "open":
        raise TicketConflict("This ticket is no longer open.")
    if ticket.assignee_id != user_id and not may_release_others:
        raise TicketConflict("Only the assignee or a supervisor can release this ticket.")
    ticket.assignee_id = None


def _why(s: Session, ticket_id: int) -> str:
    s.expire_all()
    ticket = s.get(Escalation, ticket_id)
    if ticket is None or ticket.status != "open":
        return "This ticket is no longer open."
    who = s.get(User, ticket.assignee_id) if ticket.assignee_id else None
    return f"{who.name} claimed it first." if who else "Someone changed it first; look again."


_T = Escalation.__table__
# On every inbound message, so built once: an open ticket if there is one (then nothing to do),
# else the most recently resolved one inside the reopen window.
OPEN_OR_REOPENABLE = (select(_T.c.id, _T.c.status, _T.c.snoozed_until)
                      .where(_T.c.participant_id == bindparam("pid"),
                             or_(_T.c.status == "open",
                                 and_(_T.c.status == "resolved", _T.c.resolved_at >= bindparam("since"))))
                      .order_by(case((_T.c.status == "open", 0), else_=1), _T.c.resolved_at.desc(), _T.c.id.desc())
                      .limit(1))


WAKE = (update(_T).where(_T.c.id == bindparam("tid"), _T.c.snoozed_until.is_not(None))
        .values(snoozed_until=None))


def open_ticket(s: Session, participant_id: int) -> Escalation | None:
    return s.scalar(select(Escalation).where(Escalation.participant_id == participant_id,
                                             Escalation.status == "open")
                    .order_by(Escalation.priority_rank, Escalation.id).limit(1))


def responded(s: Session, participant_id: int, user_id: int, now: datetime) -> Escalation | None:
    """A peer texted the person: the open ticket has its first response (and an owner)."""
    ticket = open_ticket(s, participant_id)
    if ticket is not None:
        ticket.first_response_at = ticket.first_response_at or now
        ticket.assignee_id = ticket.assignee_id or user_id
    return ticket


def resolve(s: Session, ticket_id: int, user_id: int, outcome: str, note: str, now: datetime) -> Escalation:
    if outcome not in OUTCOMES:
        raise ValueError(f"unknown outcome {outcome!r}")
    ticket = s.get(Escalation, ticket_id)
    if ticket is None or ticket.status != "open":
        raise TicketConflict("This ticket is no longer open.")
    ticket.status, ticket.outcome, ticket.resolved_at = "resolved", outcome, now
    ticket.assignee_id = ticket.assignee_id or user_id
    if note.strip():
        s.add(Note(participant_id=ticket.participant_id, escalation_id=ticket.id, author_id=user_id,
                   body=note.strip(), created_at=now))
    return ticket


def reopen_since(now: datetime) -> datetime:
    """OPEN_OR_REOPENABLE's :since, for a text at `now`."""
    return now - timedelta(days=REOPEN_WINDOW_DAYS)


UNREAD = object()   # reopen_on_inbound's `found` when the caller has not read OPEN_OR_REOPENABLE


def reopen_on_inbound(s: Session, person: Participant, now: datetime,
                      message_id: int | None = None, *, tz: str, found=UNREAD) -> Escalation | None:
    """Call for every new inbound message, before the core's effects are applied.

    With no open ticket, the person's most recent resolved one (within REOPEN_WINDOW_DAYS) is
    reopened at normal priority with a fresh SLA and no first response; an emergency in the same
    message then raises it through open_escalation(). Returns the reopened ticket or None.
    `found`: OPEN_OR_REOPENABLE's row (id, status, snoozed_until) or None, when the caller read
    it already with the person locked (the runtime reads it with the conversation)."""
    if found is UNREAD:
        found = s.connection().execute(OPEN_OR_REOPENABLE, {"pid": person.id, "since": reopen_since(now)}).first()
    if found is not None and found.status == "open":
        if found.snoozed_until is not None:   # a snoozed ticket comes back when the person writes
            s.connection().execute(WAKE, {"tid": found.id})
        return None
    if found is None:
        return None
    last = s.get(Escalation, found.id)
    keeper = s.get(User, last.assignee_id) if last.assignee_id else None
    last.status, last.resolved_at, last.first_response_at, last.snoozed_until = "open", None, None, None
    last.note = "\n".join(x for x in (last.note, f"reopened: new message (was {last.outcome})") if x)
    last.outcome, last.reopened_count = None, last.reopened_count + 1
    last.priority, last.priority_rank = "normal", PRIORITY_RANK["normal"]
    last.sla_due_at = now + timedelta(minutes=sla_minutes(s)["normal"])
    last.message_id = message_id or last.message_id
    last.assignee_id = keeper.id if can_take(s, keeper, now, tz) else auto_assignee(s, person, now, tz)
    s.flush()
    return last


def snooze(s: Session, ticket_id: int, until: datetime, now: datetime) -> Escalation:
    """Out of the queue until `until`; reopen_on_inbound() brings it back sooner."""
    if until <= now:
        raise ValueError("A follow-up time must be in the future.")
    ticket = s.get(Escalation, ticket_id)
    if ticket is None or ticket.status != "open":
        raise TicketConflict("This ticket is no longer open.")
    ticket.snoozed_until = until
    return ticket


def hand_off(s: Session, from_id: int, to_id: int, include_tickets: bool) -> list[int]:
    """Move a peer's people (and, by default, their open tickets) to another peer.
    Returns the ids of the people moved so the caller can audit each one."""
    moved = list(s.scalars(select(Participant.id).where(Participant.assigned_peer_id == from_id,
                                                        Participant.status != "merged")))
    if moved:
        s.execute(update(Participant).where(Participant.id.in_(moved))
                  .values(assigned_peer_id=to_id).execution_options(synchronize_session=False))
    if include_tickets:
        s.execute(update(Escalation).where(Escalation.assignee_id == from_id, Escalation.status == "open")
                  .values(assignee_id=to_id).execution_options(synchronize_session=False))
    return moved
