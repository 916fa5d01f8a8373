"""Periodic sweeps (shell): people who went quiet come back to their peer; conversations whose
wait timed out are resumed; conversations past their expiry are closed; messages stored but
never processed (the web process died in between) are processed late; urgent tickets past their
SLA with nobody on them are texted to the supervisors on shift."""
from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import select

import logs
from bot import escalations
from bot.escalations import open_escalation
from db.models import Conversation, Escalation, Message, Participant, StaffText
from db.queries import insert_unless_exists
from db.session import Database
from core import policy

log = logging.getLogger("homeward.sweeps")
NUDGE_KINDS = ("nudge", "welcome")


def nudge_history(s, person: Participant) -> list[tuple[datetime, bool]]:
    """(sent_at, answered) for each nudge sent: answered when the person wrote before the next one."""
    sent = list(s.scalars(select(Message.created_at).where(
        Message.participant_id == person.id, Message.direction == "out", Message.kind.in_(NUDGE_KINDS),
        Message.provider_sid.is_not(None)).order_by(Message.created_at)))
    inbound = list(s.scalars(select(Message.created_at).where(
        Message.participant_id == person.id, Message.direction == "in").order_by(Message.created_at)))
    history = []
    for i, at in enumerate(sent):
        until = sent[i + 1] if i + 1 < len(sent) else None
        history.append((at, any(t > at and (until is None or t < until) for t in inbound)))
    return history


def no_contact(db: Database, schedule: policy.Schedule, now: datetime, tz: str) -> int:
    """`tz`: the program's time zone, in which peers' shifts are written (for auto-assignment)."""
    """Open one "no contact" ticket per release for someone who answered none of their recent nudges."""
    rule, opened = schedule.no_contact, 0
    horizon = (now - timedelta(days=rule.within_days + 7)).date()
    with db.session() as s:
        people = list(s.scalars(select(Participant).where(
            Participant.status == "active", Participant.opted_out_at.is_(None),
            Participant.release_date.is_not(None), Participant.release_date >= horizon)))
        for person in people:
            already = s.scalar(select(Escalation.id).where(
                Escalation.participant_id == person.id, Escalation.reason == rule.reason,
                Escalation.created_at >= datetime.combine(person.release_date, datetime.min.time(), now.tzinfo)
                - timedelta(days=1)).limit(1))
            if already:
                continue
            if policy.no_contact_due(nudge_history(s, person), person.release_date, now, rule, person.timezone):
                open_escalation(s, person, rule.reason, rule.priority,
                                f"No reply to {rule.unanswered_in_a_row} check-ins in a row.", now, tz=tz)
                opened += 1
    if opened:
        logs.event(log, "no-contact tickets opened", count=opened)
    return opened


UNPROCESSED_LOOKBACK = timedelta(days=1)     # the created_at index bounds the scan


def unprocessed(db: Database, runtime, now: datetime, older_than: timedelta, limit: int = 200) -> int:
    """Process inbound messages still `received` after `older_than` (a web worker killed between
    storing and processing; Twilio may never redeliver). The runtime's claim on the message makes
    this safe beside a concurrent redelivery; the age leaves a live webhook its own message.
    Messages older than a day are left to the peers (the sweep would answer them too late)."""
    with db.session() as s:
        ids = list(s.scalars(select(Message.id).where(
            Message.created_at < now - older_than, Message.created_at > now - UNPROCESSED_LOOKBACK,
            Message.direction == "in", Message.status == "received")
            .order_by(Message.id).limit(limit)))
    done = 0
    for message_id in ids:
        result = runtime.process_stored(message_id, now)
        done += not result.duplicate
    if ids:
        logs.event(log, "unprocessed messages swept", logging.WARNING, found=len(ids), processed=done)
    return done


def expire_conversations(db: Database, now: datetime) -> int:
    with db.session() as s:
        stale = list(s.scalars(select(Conversation).where(
            Conversation.status == "active", Conversation.expires_at.is_not(None), Conversation.expires_at < now)))
        for convo in stale:
            convo.status, convo.outcome, convo.timeout_at, convo.updated_at = "expired", "expired", None, now
    return len(stale)


def sla_breaches(db: Database, now: datetime, tz: str) -> int:
    """Queue one text per urgent ticket past its SLA with nobody on it, for each supervisor on
    shift (`tz`: the program's, in which shifts are written) who has a phone number set. The
    dispatcher sends them. The key is the ticket and how often it was reopened, unique per
    supervisor: a second sweep, or one after the process was killed anywhere, queues nothing
    new, and a ticket reopened and overdue again is a new alert. A supervisor coming on shift
    while a ticket is still overdue is told then. Returns how many texts were queued."""
    with db.session(write=True) as s:
        to = [u.id for u in escalations.supervisors_on_shift(s, now, tz) if u.phone]
        if not to:
            return 0
        late = escalations.overdue_unclaimed(s, now, escalations.off_shift_ids(s, now, tz), limit=None)
        rows = [{"user_id": user_id, "escalation_id": t.id, "kind": "sla_breach",
                 "dedupe_key": f"sla:{t.id}:{t.reopened_count}", "due_at": now, "state": "pending",
                 "attempts": 0, "created_at": now, "updated_at": now} for t in late for user_id in to]
        if not rows:
            return 0
        stmt = insert_unless_exists(db.engine.dialect.name, StaffText.__table__, ("user_id", "dedupe_key"),
                                    StaffText.id)
        queued = len(s.execute(stmt, rows).all())
    if queued:
        logs.event(log, "supervisors texted about urgent tickets past their SLA", texts=queued)
    return queued
