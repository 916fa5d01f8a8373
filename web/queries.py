"""The reads behind the inbox pages, as small named statements.

The queue is paginated in the database (ORDER BY priority, SLA; LIMIT/OFFSET over the
ix_escalations_queue_order index), so 10,000 open tickets cost the same page render as 50.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from sqlalchemy import Select, and_, bindparam, func, or_, select, union
from sqlalchemy.orm import Session

from bot.escalations import PRIORITY_RANK
from core import channels
from db.models import Contact, Escalation, Event, Message, Note, Participant, ScheduledMessage, User
from db.types import UTCDateTime

VIEWS = ("all", "mine", "unassigned")
PER_PAGE = 50


def primary_address(participant_id_col):
    """The address the person last wrote from (or their newest), as a correlated subquery."""
    return (select(Contact.address).where(Contact.participant_id == participant_id_col)
            .order_by(Contact.last_inbound_at.desc().nulls_last(), Contact.id.desc())
            .limit(1).scalar_subquery())


@dataclass(frozen=True)
class Filters:
    """The queue's filters; empty strings mean "any"."""
    reason: str = ""
    priority: str = ""
    language: str = ""

    def args(self) -> dict[str, str]:
        return {k: v for k, v in (("reason", self.reason), ("priority", self.priority),
                                  ("language", self.language)) if v}


def _waiting(stmt: Select, now) -> Select:
    """Open and not snoozed: a snoozed ticket is out of the queue until its time comes."""
    return stmt.where(Escalation.status == "open",
                      or_(Escalation.snoozed_until.is_(None), Escalation.snoozed_until <= now))


def _view(stmt: Select, view: str, user_id, off_shift) -> Select:
    """"Unassigned" is the on-shift queue: nobody's, or given to someone off shift who has not
    answered yet."""
    if view == "mine":
        return stmt.where(Escalation.assignee_id == user_id)
    if view == "unassigned":
        return stmt.where(_on_shift_queue(off_shift))
    return stmt


def _on_shift_queue(off_shift):
    nobody = Escalation.assignee_id.is_(None)
    if off_shift is None:
        return nobody
    return or_(nobody, Escalation.assignee_id.in_(off_shift) & Escalation.first_response_at.is_(None))


def _filter(stmt: Select, reason: bool, priority: bool, language: bool, *, walking: bool = False) -> Select:
    """The filters that are set, as bind parameters (values from `_values`): which filters are
    set decides the statement, not their values, so each combination is built once.

    The language is the person's. `walking`: the page's pick walks the queue's index in order
    and stops at the page's end, so each ticket's person is checked by primary key (EXISTS);
    the counts visit every match, so they start from that language's people
    (ix_participants_language). Each form is the other's slow case on SQLite (2-3x)."""
    if reason:
        stmt = stmt.where(Escalation.reason == bindparam("reason"))
    if priority:    # the rank, which the queue's index holds, rather than the word
        stmt = stmt.where(Escalation.priority_rank == bindparam("rank"))
    if language and walking:
        stmt = stmt.where(select(Participant.id).where(Participant.id == Escalation.participant_id,
                                                       Participant.language == bindparam("language")).exists())
    elif language:
        stmt = stmt.where(Escalation.participant_id.in_(
            select(Participant.id).where(Participant.language == bindparam("language"))))
    return stmt


def _values(f: Filters) -> dict:
    return {"reason": f.reason, "rank": PRIORITY_RANK.get(f.priority), "language": f.language}


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
    language: str
    release_date: object
    timezone: str
    last_text: str | None
    last_text_at: datetime | None


PREVIEW_CHARS = 200  # the row shows one line; more would only be hidden by the browser


def _last_inbound(column, participant_id_col):
    """The person's newest inbound text (or its time), over ix_messages_person_direction."""
    return (select(column).where(Message.participant_id == participant_id_col, Message.direction == "in")
            .order_by(Message.id.desc()).limit(1).scalar_subquery())


@lru_cache(maxsize=64)
def _queue_page_stmt(view: str, off_shift: bool, reason: bool, priority: bool, language: bool) -> Select:
    """The page's statement for one combination of view and filters, built once: building it is
    most of its Python cost (values go in as bind parameters: now, user, off_shift, limit, offset)."""
    order = (Escalation.priority_rank, Escalation.sla_due_at, Escalation.id)
    base = _filter(_view(_waiting(select(Escalation.id), bindparam("now", type_=UTCDateTime())), view,
                         bindparam("user_id"), bindparam("off_shift", expanding=True) if off_shift else None),
                   reason, priority, language, walking=True)
    ids = base.order_by(*order).limit(bindparam("limit")).offset(bindparam("offset")).subquery()
    trigger = Message.__table__.alias("trigger")
    return (select(Escalation.id, Escalation.participant_id, Participant.first_name,
                   primary_address(Escalation.participant_id), Escalation.reason, Escalation.priority,
                   func.coalesce(trigger.c.created_at, Escalation.created_at), Escalation.sla_due_at,
                   Escalation.first_response_at, Escalation.assignee_id, User.name, Escalation.reopened_count,
                   Participant.language, Participant.release_date, Participant.timezone,
                   _last_inbound(func.substr(Message.body, 1, PREVIEW_CHARS), Escalation.participant_id),
                   _last_inbound(Message.created_at, Escalation.participant_id))
            .join(ids, ids.c.id == Escalation.id)
            .join(Participant, Participant.id == Escalation.participant_id)
            .outerjoin(User, User.id == Escalation.assignee_id)
            .outerjoin(trigger, trigger.c.id == Escalation.message_id)
            .order_by(*order))


def queue_page(s: Session, view: str, user_id: int, page: int, per_page: int = PER_PAGE, *,
               now: datetime, filters: Filters = Filters(), off_shift: list[int] = ()) -> list[QueueRow]:
    """One page of the queue. The page's ids are picked first from the index alone, then only
    those rows are joined to names, numbers and last texts, so a deep page costs what page 1 costs."""
    stmt = _queue_page_stmt(view, bool(off_shift), bool(filters.reason), bool(filters.priority), bool(filters.language))
    params = {"now": now, "user_id": user_id, "off_shift": list(off_shift), "limit": per_page,
              "offset": (page - 1) * per_page, **_values(filters)}
    return [QueueRow(*row) for row in s.execute(stmt, params).all()]


@lru_cache(maxsize=16)
def _counts_stmt(reason: bool, priority: bool, language: bool) -> Select:
    """Per assignee: waiting, waiting and unanswered, snoozed. One pass over the open tickets
    (ix_escalations_waiting covers it and gives the grouping's order), one round trip."""
    now = bindparam("now", type_=UTCDateTime())
    awake = or_(Escalation.snoozed_until.is_(None), Escalation.snoozed_until <= now)
    return _filter(select(Escalation.assignee_id, func.count().filter(awake),
                          func.count().filter(and_(awake, Escalation.first_response_at.is_(None))),
                          func.count().filter(Escalation.snoozed_until > now))
                   .where(Escalation.status == "open"), reason, priority, language).group_by(Escalation.assignee_id)


def queue_counts(s: Session, user_id: int, *, now: datetime, filters: Filters = Filters(),
                 off_shift: list[int] = ()) -> dict[str, int]:
    """The tabs' counts, added up from a few rows (one per assignee) rather than counted by a
    statement each: each statement costs its building, a round trip on PostgreSQL, and a pass
    over the index; this is one of each."""
    stmt = _counts_stmt(bool(filters.reason), bool(filters.priority), bool(filters.language))
    away = set(off_shift)
    total = mine = free = later = 0
    for assignee, waiting, unanswered, snoozed_n in s.execute(stmt, {"now": now, **_values(filters)}):
        total += waiting
        later += snoozed_n
        if assignee is None:
            free += waiting
        elif assignee in away:
            free += unanswered
        if assignee == user_id:
            mine += waiting
    return {"all": total, "mine": mine, "unassigned": free, "snoozed": later}


@lru_cache(maxsize=1)
def _snoozed_stmt() -> Select:
    """Built once: on a queue page with nothing snoozed, building it cost more than running it."""
    return (select(Escalation.id, Escalation.participant_id, Participant.first_name, Escalation.reason,
                   Escalation.snoozed_until)
            .join(Participant, Participant.id == Escalation.participant_id)
            .where(Escalation.status == "open", Escalation.snoozed_until > bindparam("now", type_=UTCDateTime()))
            .order_by(Escalation.snoozed_until).limit(PER_PAGE))


def snoozed(s: Session, now: datetime) -> list[tuple[int, int, str | None, str, datetime]]:
    """Tickets waiting for their follow-up time, soonest first (id, person, name, reason, until)."""
    return s.execute(_snoozed_stmt(), {"now": now}).all()


@dataclass(frozen=True)
class Alert:
    id: int
    participant_id: int
    reason: str
    sla_due_at: datetime


@lru_cache(maxsize=1)
def _urgent_stmt() -> Select:
    """The newest few, each row carrying the count of all of them: an uncorrelated subquery,
    counted once from ix_escalations_alerts (a window over the matches read and sorted all of
    them: 4x slower on both databases)."""
    def urgent(stmt: Select) -> Select:
        return (_waiting(stmt, bindparam("now", type_=UTCDateTime()))
                .where(Escalation.priority_rank == 0, Escalation.first_response_at.is_(None)))
    return (urgent(select(Escalation.id, Escalation.participant_id, Escalation.reason, Escalation.sla_due_at,
                          urgent(select(func.count())).scalar_subquery()))
            .order_by(Escalation.id.desc()).limit(bindparam("limit")))


def urgent_waiting(s, now: datetime, limit: int = 10) -> tuple[int, list[Alert]]:
    """Urgent tickets nobody has answered yet (count, newest few): the whole app's alarm, polled
    by every open staff page, so one statement built once (it was two, built each time)."""
    rows = s.execute(_urgent_stmt(), {"now": now, "limit": limit}).all()
    return (rows[0][4] if rows else 0), [Alert(*r[:4]) for r in rows]


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



def _name_starts(s: Session, prefix: str):
    """lower(first_name) starts with `prefix`, in a form ix_participants_first_name_lower can
    serve: PostgreSQL reads LIKE 'abc%' from its text_pattern_ops index; SQLite's LIKE cannot use
    an expression index, so a range on the lowered name narrows it first (in its binary order
    every name starting with "abc" lies in ["abc", "abd")), and the LIKE keeps the match exact."""
    lowered = func.lower(Participant.first_name)
    like = lowered.startswith(prefix, autoescape=True)
    if s.get_bind().dialect.name != "sqlite":
        return like
    bounded = [lowered >= prefix]
    if ord(prefix[-1]) < 0x10FFFF:
        bounded.append(lowered < prefix[:-1] + chr(ord(prefix[-1]) + 1))
    return and_(*bounded, like)


def find_people(s: Session, text: str, limit: int = 20) -> list[tuple]:
    """The inbox's search box: a first name (its start), the last 4 digits of a number, an
    external id or #id. Rows: (id, first name, address, status, open ticket's reason, priority)."""
    text = " ".join(text.split())[:80]
    bare = text.lstrip("#")
    if not bare:
        return []
    pg = s.get_bind().dialect.name == "postgresql"
    match, numbers = [Participant.external_id == text], None
    if bare.isdigit():
        if len(bare) < 10:   # an id, not a number someone pasted whole
            match.append(Participant.id == int(bare))
        if len(bare) == 4:   # PostgreSQL: from ix_contacts_address_reversed; SQLite reads the contacts
            numbers = select(Contact.participant_id).where(
                func.reverse(Contact.address).startswith(bare[::-1]) if pg
                else Contact.address.endswith(bare, autoescape=True))
    else:
        match.append(_name_starts(s, bare.lower()))
    # An OR across indexed columns reads each index (BitmapOr, MULTI-INDEX OR); an OR with the
    # numbers' subquery would read every person on PostgreSQL, so the numbers join by a union.
    where = or_(*match) if numbers is None else Participant.id.in_(
        union(select(Participant.id).where(or_(*match)), numbers))
    ticket = (select(Escalation.reason, Escalation.priority)
              .where(Escalation.participant_id == Participant.id, Escalation.status == "open")
              .order_by(Escalation.priority_rank).limit(1))
    stmt = (select(Participant.id, Participant.first_name, primary_address(Participant.id), Participant.status,
                   ticket.with_only_columns(Escalation.reason).scalar_subquery(),
                   ticket.with_only_columns(Escalation.priority).scalar_subquery())
            .where(where, Participant.status != "merged")
            .order_by(Participant.first_name, Participant.id).limit(limit))
    return s.execute(stmt).all()


@dataclass(frozen=True)
class LiveNews:
    """What an open person page's poll needs to know first: is anything new (a message, a note,
    an event past the ids it has), and the open ticket with its assignee's name."""
    message: bool
    note: bool
    event: bool
    ticket_id: int | None
    assignee: str | None


@lru_cache(maxsize=1)
def _live_news_stmt() -> Select:
    pid = bindparam("pid")

    def newer(model, after: str):
        return select(model.id).where(model.participant_id == pid, model.id > bindparam(after)).exists()
    ticket = (select(Escalation.id).where(Escalation.participant_id == pid, Escalation.status == "open")
              .order_by(Escalation.priority_rank, Escalation.id).limit(1))
    assignee = select(User.name).where(User.id == ticket.with_only_columns(Escalation.assignee_id).scalar_subquery())
    return select(newer(Message, "message"), newer(Note, "note"), newer(Event, "event"), ticket.scalar_subquery(),
                  assignee.scalar_subquery()).where(Participant.id == pid)


def live_news(s: Session, participant_id: int, after: dict[str, int]) -> LiveNews | None:
    """One statement for the poll's usual answer, "nothing new" (it was five: the person, each
    kind of item, the ticket and its assignee); None when there is no such person."""
    row = s.execute(_live_news_stmt(), {"pid": participant_id, **after}).first()
    return None if row is None else LiveNews(bool(row[0]), bool(row[1]), bool(row[2]), row[3], row[4])


def events(s: Session, participant_id: int, after_id: int = 0, limit: int = 200) -> list:
    """The person's recorded events (check-ins, locator questions, safety), oldest first."""
    rows = list(s.scalars(select(Event).where(Event.participant_id == participant_id, Event.id > after_id)
                          .order_by(Event.id.desc()).limit(limit)))
    return rows[::-1]


def ticket_history(s: Session, participant_id: int) -> list[tuple]:
    """Every ticket the person has had, newest first, with its notes: (ticket, assignee name, notes)."""
    tickets = list(s.scalars(select(Escalation).where(Escalation.participant_id == participant_id)
                             .order_by(Escalation.created_at.desc(), Escalation.id.desc())))
    notes: dict[int, list[Note]] = {}
    if tickets:
        for n in s.scalars(select(Note).where(Note.escalation_id.in_([t.id for t in tickets])).order_by(Note.id)):
            notes.setdefault(n.escalation_id, []).append(n)
    names = dict(s.execute(select(User.id, User.name)).all())
    return [(t, names.get(t.assignee_id), notes.get(t.id, [])) for t in tickets]
