"""Opening and reopening tickets in the peer inbox (shell: touches the database).

One open ticket per person: a new reason on an open ticket raises its priority and adds to the
note instead of cluttering the queue, the way Chatwoot keeps one conversation per contact.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, func, insert, or_, select, update
from sqlalchemy.orm import Session

from core import hours
from db.models import Escalation, Participant, RateHit, Setting, User
from db.queries import serialise
from db.raw import Raw

PRIORITY_RANK = {"urgent": 0, "high": 1, "normal": 2}
DEFAULT_SLA_MINUTES = {"urgent": 5, "high": 30, "normal": 240}


def sla_minutes(s: Session) -> dict[str, int]:
    row = s.get(Setting, "sla_minutes")
    return {**DEFAULT_SLA_MINUTES, **(row.value if row else {})}


def open_escalation(s: Session, participant: Participant, reason: str, priority: str, note: str,
                    now: datetime, message_id: int | None = None, *, tz: str) -> Escalation:
    """Open a ticket, or raise the person's open one. `tz` is the program's time zone, the one
    peers' shifts are written in, for choosing who is on shift now."""
    priority = priority if priority in PRIORITY_RANK else "normal"
    sla = timedelta(minutes=sla_minutes(s)[priority])
    existing = s.scalar(select(Escalation).where(Escalation.participant_id == participant.id,
                                                 Escalation.status == "open").limit(1))
    if existing is not None:
        if PRIORITY_RANK[priority] < existing.priority_rank:
            existing.priority, existing.priority_rank = priority, PRIORITY_RANK[priority]
            existing.reason = reason
            existing.sla_due_at = min(existing.sla_due_at, now + sla)
        existing.note = "\n".join(x for x in (existing.note, f"{reason}: {note}".strip(": ")) if x)
        return existing
    ticket = Escalation(participant_id=participant.id, reason=reason, priority=priority,
                        priority_rank=PRIORITY_RANK[priority], note=note, message_id=message_id,
                        created_at=now, sla_due_at=now + sla,
                        assignee_id=auto_assignee(s, participant, now, tz))
    s.add(ticket)
    s.flush()
    return ticket


@dataclass(frozen=True)
class Staffing:
    """What opening a ticket reads about staff and settings, read by the runtime every few
    seconds (bot/runtime.py `_program_facts`) instead of on every ticket: the SLA minutes and
    the active peers as (id, capacity, shift), by id. Open-ticket counts are always read live."""
    sla: dict[str, int]
    peers: tuple[tuple[int, int, dict | None], ...]


_E = Escalation.__table__
# The hot path's ticket statements (an inbound text's Escalate effect), straight to the driver.
OPEN_TICKET_OF = Raw(select(_E.c.id, _E.c.priority_rank, _E.c.note, _E.c.sla_due_at)
                     .where(_E.c.participant_id == bindparam("pid"), _E.c.status == "open").limit(1))
OPEN_LOADS = Raw(select(_E.c.assignee_id, func.count().label("n"))
                 .where(_E.c.status == "open", _E.c.assignee_id.is_not(None)).group_by(_E.c.assignee_id))
RAISE_TICKET = Raw(update(_E).where(_E.c.id == bindparam("tid"))
                   .values(priority=bindparam("v_priority"), priority_rank=bindparam("v_rank"),
                           reason=bindparam("v_reason"), sla_due_at=bindparam("v_due"), note=bindparam("v_note")))
NOTE_TICKET = Raw(update(_E).where(_E.c.id == bindparam("tid")).values(note=bindparam("v_note")))
NEW_TICKET = Raw(insert(_E).returning(_E.c.id),
                 keys=("participant_id", "reason", "priority", "priority_rank", "status", "note", "message_id",
                       "created_at", "sla_due_at", "assignee_id", "reopened_count"))


def open_escalation_now(conn, staffing: Staffing, participant, reason: str, priority: str, note: str,
                        now: datetime, message_id: int | None = None, *, tz: str) -> int | None:
    """`open_escalation` for an inbound text, on the connection with the runtime's cached
    `staffing`: the same ticket, raised or opened the same way and given to the same peer, in two
    or three statements and no ORM flush. Returns the ticket's id, or None with nothing written
    when the person's own peer is not an active peer (then `open_escalation` decides)."""
    priority = priority if priority in PRIORITY_RANK else "normal"
    rank, sla = PRIORITY_RANK[priority], timedelta(minutes=staffing.sla[priority])
    line = f"{reason}: {note}".strip(": ")
    existing = OPEN_TICKET_OF.first(conn, pid=participant.id)
    if existing is not None:
        text = "\n".join(x for x in (existing["note"], line) if x)
        if rank < existing["priority_rank"]:
            RAISE_TICKET.execute(conn, tid=existing["id"], v_priority=priority, v_rank=rank, v_reason=reason,
                                 v_due=min(existing["sla_due_at"], now + sla), v_note=text)
        else:
            NOTE_TICKET.execute(conn, tid=existing["id"], v_note=text)
        return existing["id"]
    own = participant.assigned_peer_id
    if own is not None and all(peer[0] != own for peer in staffing.peers):
        return None
    loads = {row["assignee_id"]: row["n"] for row in OPEN_LOADS.rows(conn)}
    assignee = None
    # The person's own peer first, then the least loaded (auto_assignee's order), on shift with room.
    for peer_id, capacity, shift in sorted(staffing.peers, key=lambda p: (p[0] != own, loads.get(p[0], 0), p[0])):
        if loads.get(peer_id, 0) < capacity and shift and hours.is_open(shift, now, tz):
            assignee = peer_id
            break
    return NEW_TICKET.first(conn, participant_id=participant.id, reason=reason, priority=priority, priority_rank=rank,
                            status="open", note=note, message_id=message_id, created_at=now, sla_due_at=now + sla,
                            assignee_id=assignee, reopened_count=0)["id"]


FLOOD_WINDOW = timedelta(minutes=10)
FLOOD_FLAG = "Possible flooding: {n} more safety message(s) from one web chat address or chat joined this ticket."
_FLOOD = re.compile(r"^Possible flooding: (\d+) more", re.M)
FOLD_NOTE_CHARS = 4000      # past this the count still rises, but no more lines are added


def fold_escalation(s: Session, sources: tuple[str, ...], participant: Participant, reason: str,
                    priority: str, note: str, now: datetime, message_id: int | None = None, *,
                    tz: str) -> Escalation:
    """A web chat safety hit from `sources` (the client address, the chat): the first in a
    FLOOD_WINDOW opens (or raises) a ticket as usual; the rest from any of those sources join
    that ticket, flagged as possible flooding, so the urgent queue cannot be flooded. Each person
    still got the 911 or 988 answer. Serialised per source, so parallel hits agree on one ticket.
    A ticket resolved meanwhile is not reopened: the next hit starts a new window."""
    serialise(s, *(f"fold:{src}" for src in sources))
    markers = [f"fold:{src}:" for src in sources]
    found = s.execute(select(RateHit.key).where(or_(*(RateHit.key.startswith(m) for m in markers)),
                                                RateHit.at > now - FLOOD_WINDOW)
                      .order_by(RateHit.at.desc(), RateHit.id.desc())).scalars().all()
    ticket = None
    for key in found:
        ticket = s.scalar(select(Escalation).where(Escalation.id == int(key.rsplit(":", 1)[1]),
                                                   Escalation.status == "open").with_for_update())
        if ticket is not None:
            break
    if ticket is None:
        ticket = open_escalation(s, participant, reason, priority, note, now, message_id, tz=tz)
        s.execute(insert(RateHit), [{"key": f"{m}{ticket.id}", "at": now} for m in markers])
        return ticket
    priority = priority if priority in PRIORITY_RANK else "normal"
    if PRIORITY_RANK[priority] < ticket.priority_rank:
        ticket.priority, ticket.priority_rank, ticket.reason = priority, PRIORITY_RANK[priority], reason
        ticket.sla_due_at = min(ticket.sla_due_at, now + timedelta(minutes=sla_minutes(s)[priority]))
    text = ticket.note or ""
    seen = _FLOOD.search(text)
    if seen:
        text = _FLOOD.sub(f"Possible flooding: {int(seen.group(1)) + 1} more", text, count=1)
    else:
        text = "\n".join(x for x in (FLOOD_FLAG.format(n=1), text) if x)
    if len(text) < FOLD_NOTE_CHARS:
        who = f"person #{participant.id}" + (f", message #{message_id}" if message_id else "")
        text += f"\n{now:%Y-%m-%d %H:%M} UTC {reason} ({who})"
    ticket.note = text
    return ticket


def on_shift(user: User, now: datetime, tz: str) -> bool:
    """On shift now, in program time (core/hours.py reads the shift, overnight spans included).
    No shift set means never on shift: a peer nobody scheduled is not "working now" at 3 a.m."""
    return bool(user.shift) and hours.is_open(user.shift, now, tz)


def open_load(s: Session, user_id: int) -> int:
    return s.scalar(select(func.count()).select_from(Escalation)
                    .where(Escalation.status == "open", Escalation.assignee_id == user_id)) or 0


def can_take(s: Session, user: User | None, now: datetime, tz: str) -> bool:
    """Active, on shift and under capacity: a ticket given to anyone else would sit unseen."""
    return (user is not None and user.active and on_shift(user, now, tz)
            and open_load(s, user.id) < user.capacity)


_STAFF_SHIFTS = select(User.id, User.active, User.shift).where(User.role.in_(("peer", "supervisor")))


def off_shift_ids(s: Session, now: datetime, tz: str) -> list[int]:
    """Staff who are not on duty now: their unanswered tickets belong to the on-shift queue.
    Reads only the columns it needs, from a statement built once (every queue page asks)."""
    return [u.id for u in s.execute(_STAFF_SHIFTS) if not (u.active and on_shift(u, now, tz))]


def supervisors_on_shift(s: Session, now: datetime, tz: str) -> list[User]:
    return [u for u in s.scalars(select(User).where(User.active.is_(True), User.role.in_(("supervisor", "admin"))))
            if on_shift(u, now, tz)]


def overdue_unclaimed(s: Session, now: datetime, off_shift: list[int], limit: int | None = 10,
                      ticket_id: int | None = None) -> list[Escalation]:
    """Urgent, past its SLA, not snoozed, unanswered and with nobody on it (no one assigned, or
    given to someone off shift): what the supervisors on shift must hear about, in the app and by
    text. The longest overdue first; `ticket_id`: is this one of them."""
    nobody = Escalation.assignee_id.is_(None)
    if off_shift:
        nobody = or_(nobody, Escalation.assignee_id.in_(off_shift))
    stmt = (select(Escalation)
            .where(Escalation.status == "open", Escalation.priority_rank == 0,
                   or_(Escalation.snoozed_until.is_(None), Escalation.snoozed_until <= now),
                   Escalation.first_response_at.is_(None), Escalation.sla_due_at < now, nobody)
            .order_by(Escalation.sla_due_at, Escalation.id))
    if ticket_id is not None:
        stmt = stmt.where(Escalation.id == ticket_id)
    return list(s.scalars(stmt.limit(limit) if limit else stmt))


def auto_assignee(s: Session, participant: Participant, now: datetime, tz: str) -> int | None:
    """The person's own peer when on shift with room; else the least-loaded active peer on shift
    with room left; else nobody (the on-shift queue)."""
    if participant.assigned_peer_id:
        peer = s.get(User, participant.assigned_peer_id)
        if can_take(s, peer, now, tz):
            return peer.id
    load = (select(Escalation.assignee_id, func.count().label("n"))
            .where(Escalation.status == "open", Escalation.assignee_id.is_not(None))
            .group_by(Escalation.assignee_id).subquery())
    rows = s.execute(select(User, func.coalesce(load.c.n, 0))
                     .outerjoin(load, load.c.assignee_id == User.id)
                     .where(User.active.is_(True), User.role == "peer")
                     .order_by(func.coalesce(load.c.n, 0), User.id)).all()
    for user, n in rows:
        if n < user.capacity and on_shift(user, now, tz):
            return user.id
    return None
