"""A peer's reply, from the form to the outbox (shell).

The reply is an outbox row like every other text, so scheduler/dispatch.py stays the only code
that calls a sender: (1) check the rules and write, in one transaction, the outbound Message as
"sending", its audit row, the ticket's first response and the outbox row, born claimed by this
process with a lease; (2) work that row at once with the worker's own dispatcher (the same
re-checks: opt-out, the chosen address, the channel's window), so the peer sees the carrier's
answer. A process that dies between 1 and 2 leaves a claimed row whose lease runs out: the
worker sends it then, once. A slow carrier never holds the first transaction open.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import tickets
from core import reply_policy
from core.policy import in_quiet_hours
from core.reply_policy import ContactState
from core.sms import count_segments
from db.models import Contact, Message, Participant, ScheduledMessage
from db.session import Database
from scheduler.dispatch import Attempt, DispatchConfig, Dispatcher, worker_id
from scheduler.nudge_settings import current_schedule
from web import audit


@dataclass(frozen=True)
class Sent:
    ok: bool
    text: str               # what to tell the peer
    message_id: int | None = None
    needs_quiet_confirm: bool = False


def reply_contact(s: Session, person_id: int, contact_id: int | None) -> Contact | None:
    """The chosen contact, else the one the person last wrote from among those still usable,
    else their newest (so the refusal can say why it is unusable)."""
    if contact_id:
        contact = s.get(Contact, contact_id)
        return contact if contact is not None and contact.participant_id == person_id else None
    ordered = (select(Contact).where(Contact.participant_id == person_id)
               .order_by(Contact.last_inbound_at.desc().nulls_last(), Contact.id.desc()))
    contacts = list(s.scalars(ordered))
    usable = [c for c in contacts if c.opted_out_at is None and c.invalid_reason is None]
    return (usable or contacts or [None])[0]


def contact_state(contact: Contact | None) -> ContactState | None:
    if contact is None:
        return None
    return ContactState(contact.channel, contact.opted_out_at is not None, contact.invalid_reason)


@dataclass(frozen=True)
class Queued:
    """Step 1's answer: the outbox row to work now, or what to tell the peer instead."""
    row_id: int | None
    message_id: int | None = None
    refused: Sent | None = None


def queue_reply(db: Database, dispatcher: Dispatcher, person_id: int, contact_id: int | None, user_id: int,
                body: str, quiet_confirmed: bool, now: datetime, quiet=reply_policy.DEFAULT_QUIET) -> Queued:
    with db.session() as s:
        person = s.get(Participant, person_id)
        contact = reply_contact(s, person_id, contact_id)
        verdict = reply_policy.check(body, person.opted_out, contact_state(contact), person.timezone,
                                     person.last_inbound_at, now, quiet)
        if verdict.refusal:
            audit.record(s, user_id, "reply_refused", now, person_id, reason=verdict.refusal[:120])
            return Queued(None, refused=Sent(False, verdict.refusal))
        if verdict.quiet and not quiet_confirmed:
            return Queued(None, refused=Sent(False, reply_policy.quiet_note(person.timezone, quiet) +
                                             " Tick “send anyway” to send now.", needs_quiet_confirm=True))
        msg = Message(participant_id=person_id, contact_id=contact.id, direction="out", channel=contact.channel,
                      kind="peer", body=body, status="sending", author_id=user_id, created_at=now, updated_at=now)
        s.add(msg)
        s.flush()
        ticket = tickets.responded(s, person_id, user_id, now)
        audit.record(s, user_id, "reply", now, person_id, message_id=msg.id, segments=count_segments(body).segments,
                     ticket_id=ticket.id if ticket else None, quiet_hours=verdict.quiet)
        # Past the quiet-hours check: at this hour only because the peer confirmed or the person
        # just wrote. Sent later (this process died), it may then cross quiet hours too.
        row = ScheduledMessage(participant_id=person_id, kind="peer", dedupe_key=f"inbox:{msg.id}", body=body,
                               due_at=now, author_id=user_id, message_id=msg.id,
                               quiet_ok=in_quiet_hours(now, person.timezone, quiet),
                               state="claimed", claimed_by=dispatcher.cfg.worker_id,
                               claimed_until=now + dispatcher.cfg.lease, created_at=now, updated_at=now)
        s.add(row)
        s.flush()
        return Queued(row.id, msg.id)


def web_dispatcher(db: Database, sender, schedule=None) -> Dispatcher:
    """The worker's dispatcher, working the rows this web process queues (its own worker id)."""
    return Dispatcher(db, sender, schedule or (lambda: current_schedule(db)),
                      DispatchConfig(worker_id=f"web:{worker_id()}"))


def send_reply(db: Database, sender, person_id: int, contact_id: int | None, user_id: int, body: str,
               quiet_confirmed: bool, now: datetime, quiet=reply_policy.DEFAULT_QUIET, schedule=None) -> Sent:
    body = body.replace("\r\n", "\n").strip()
    dispatcher = web_dispatcher(db, sender, schedule)
    queued = queue_reply(db, dispatcher, person_id, contact_id, user_id, body, quiet_confirmed, now, quiet)
    if queued.refused is not None:
        return queued.refused
    return told(db, dispatcher.work(queued.row_id, now), queued, count_segments(body))


def told(db: Database, attempt: Attempt, queued: Queued, segments) -> Sent:
    """The dispatcher's answer in the peer's words."""
    with db.session() as s:
        row = s.get(ScheduledMessage, queued.row_id)
        msg = s.get(Message, queued.message_id)
        state, reason, status = row.state, row.last_error or "", msg.status
    if attempt.outcome == "sent" and attempt.posted:
        return Sent(True, f"Posted to the web chat ({segments.describe()}).", queued.message_id)
    if attempt.outcome == "sent":
        how = " as the approved WhatsApp template (outside the 24-hour window)" if attempt.template else ""
        return Sent(True, f"Sent{how} ({segments.describe()}); carrier status: {attempt.status}.", queued.message_id)
    if state == "held" and status == "held":
        return Sent(False, "Held: outside WhatsApp's 24-hour window, and no approved template is "
                           "configured. It will be sent when they next write.", queued.message_id)
    if attempt.outcome == "failed" and attempt.error is not None:
        return Sent(False, f"Not sent: {attempt.error.detail}.", queued.message_id)
    if state == "pending":
        detail = f"{attempt.error.detail}; " if attempt.error is not None else ""
        return Sent(False, f"Not sent yet: {detail}it will be tried again automatically "
                           "(no need to send it again).", queued.message_id)
    if attempt.outcome == "lost_lease":
        return Sent(True, "Queued: the worker sends it in a moment.", queued.message_id)
    return Sent(False, f"Not sent: {reason or state}.", queued.message_id)
