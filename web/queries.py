"""The reads behind the inbox pages, as small named statements.

The queue is paginated in the database (ORDER BY priority, SLA; LIMIT/OFFSET over the
ix_escalations_queue index), so 10,000 open tickets cost the same page render as 50.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, case, func, or_, select
from sqlalchemy.orm import Session

from core import channels
from db.models import Contact, Escalation, Message, Note, Participant, ScheduledMessage, User

VIEWS = ("all", "mine", "unassigned")
PER_PAGE = 50


def primary_address(participant_id_col):
    """The address the person last wrote from (or their newest), as a correlated subquery."""
    return (select(Contact.address).where(Contact.participant_id == participant_id_col)
            .order_by(Contact.last_inbound_at.desc().nulls_last(), Contact.id.desc())
            .limit(1).scalar_subquery())


def _view(stmt: Select, view: str, user_id: int) -> Select:
    if view == "mine":
        return stmt.where(Escalation.assignee_id == user_id)
    if view == "unassigned":
        return stmt.where(Escalation.assignee_id.is_(None))
    return stmt


@dataclass(frozen=True)
class QueueRow:
    id: int
    participant_id: int
    name: str | None
    address: str | None
    reason: str
    priority: str
    waiting_since: datetime
    sla_due_at: datetime
    first_response_at: datetime | None
    assignee_id: int | None
    assignee_name: str | None
    reopened_count: int


def queue_page(s: Session, view: str, user_id: int, page: int, per_page: int = PER_PAGE) -> list[QueueRow]:
    """One page of the queue. The page's ids are picked first from the index alone, then only
    those rows are joined to names and numbers, so a deep page costs what page 1 costs."""
    order = (Escalation.priority_rank, Escalation.sla_due_at, Escalation.id)
    ids = (_view(select(Escalation.id).where(Escalation.status == "open"), view, user_id)
           .order_by(*order).limit(per_page).offset((page - 1) * per_page).subquery())
    trigger = Message.__table__.alias("trigger")
    stmt = (select(Escalation.id, Escalation.participant_id, Participant.first_name,
                   primary_address(Escalation.participant_id), Escalation.reason, Escalation.priority,
                   func.coalesce(trigger.c.created_at, Escalation.created_at), Escalation.sla_due_at,
                   Escalation.first_response_at, Escalation.assignee_id, User.name, Escalation.reopened_count)
            .join(ids, ids.c.id == Escalation.id)
            .join(Participant, Participant.id == Escalation.participant_id)
            .outerjoin(User, User.id == Escalation.assignee_id)
            .outerjoin(trigger, trigger.c.id == Escalation.message_id)
            .order_by(*order))
    return [QueueRow(*row) for row in s.execute(stmt).all()]


def queue_counts(s: Session, user_id: int) -> dict[str, int]:
    total, mine, unassigned = s.execute(
        select(func.count(), func.sum(case((Escalation.assignee_id == user_id, 1), else_=0)),
               func.sum(case((Escalation.assignee_id.is_(None), 1), else_=0)))
        .where(Escalation.status == "open")).one()
    return {"all": total or 0, "mine": mine or 0, "unassigned": unassigned or 0}


def thread(s: Session, participant_id: int, limit: int | None) -> tuple[list, bool]:
    """Messages and private notes, oldest first, as ("message"|"note", obj) pairs. With a
    limit, only the newest `limit` of each; returns (items, truncated)."""
    msgs = select(Message).where(Message.participant_id == participant_id).order_by(Message.id.desc())
    notes = select(Note).where(Note.participant_id == participant_id).order_by(Note.id.desc())
    if limit:
        msgs, notes = msgs.limit(limit + 1), notes.limit(limit)
    messages = list(s.scalars(msgs))
    truncated = bool(limit) and len(messages) > limit
    items = [("message", m) for m in messages[:limit]] + [("note", n) for n in s.scalars(notes)]
    items.sort(key=lambda pair: (pair[1].created_at, pair[0] == "note", pair[1].id))
    return items, truncated


@dataclass(frozen=True)
class CaseRow:
    id: int
    name: str | None
    address: str | None
    status: str
    release_date: object
    timezone: str
    opted_out: bool
    last_contact: datetime | None
    next_nudge: datetime | None
    open_ticket: str | None


def caseload(s: Session, peer_id: int) -> list[CaseRow]:
    last = (select(Message.participant_id, func.max(Message.created_at).label("at"))
            .where(Message.kind.in_(("person", "peer", "nudge"))).group_by(Message.participant_id).subquery())
    nxt = (select(ScheduledMessage.participant_id, func.min(ScheduledMessage.due_at).label("at"))
           .where(ScheduledMessage.state == "pending").group_by(ScheduledMessage.participant_id).subquery())
    ticket = (select(Escalation.priority).where(Escalation.participant_id == Participant.id,
                                                Escalation.status == "open")
              .order_by(Escalation.priority_rank).limit(1).scalar_subquery())
    stmt = (select(Participant.id, Participant.first_name, primary_address(Participant.id), Participant.status,
                   Participant.release_date, Participant.timezone, Participant.opted_out_at.is_not(None),
                   last.c.at, nxt.c.at, ticket)
            .outerjoin(last, last.c.participant_id == Participant.id)
            .outerjoin(nxt, nxt.c.participant_id == Participant.id)
            .where(Participant.assigned_peer_id == peer_id, Participant.status != "merged")
            .order_by(Participant.release_date.desc().nulls_last(), Participant.id))
    return [CaseRow(*row) for row in s.execute(stmt).all()]


def staff_who_carry_a_caseload(s: Session) -> list[User]:
    return list(s.scalars(select(User).where(User.active.is_(True), User.role.in_(("peer", "supervisor")))
                          .order_by(User.name)))


def search_people(s: Session, text: str, status: str | None, page: int, per_page: int = PER_PAGE):
    stmt = select(Participant.id, Participant.first_name, primary_address(Participant.id), Participant.status,
                  Participant.release_date, Participant.timezone, User.name).outerjoin(
        User, User.id == Participant.assigned_peer_id)
    text = text.strip().lstrip("#")
    if text.isdigit():
        stmt = stmt.where(or_(Participant.id == int(text), Participant.external_id == text))
    elif text:
        stmt = stmt.where(or_(func.lower(Participant.first_name).contains(text.lower()),
                              Participant.external_id == text))
    stmt = stmt.where(Participant.status == status) if status else stmt.where(Participant.status != "merged")
    return s.execute(stmt.order_by(Participant.id.desc()).limit(per_page).offset((page - 1) * per_page)).all()


def person_by_phone(s: Session, address_digits: str) -> int | None:
    """Find a person from any of their numbers (the E.164 part, whatever the channel)."""
    return s.scalar(select(Contact.participant_id)
                    .where(Contact.address.in_(channels.phone_addresses(address_digits)))
                    .limit(1))

