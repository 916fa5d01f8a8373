"""A peer's reply, from the form to the carrier (shell).

Three short steps so a slow carrier never holds a database transaction open: (1) check the
rules and write the outbound Message as "sending" together with its audit row and the ticket's
first response; (2) send; (3) record the provider's id and status, or the error. If the process
dies between 1 and 3, the thread shows the message stuck at "sending", never silently sent.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import contacts, tickets
from bot.channels.registry import sender_for
from bot.channels.sender import SendError
from core.sms import count_segments
from db.models import Contact, Message, Participant
from db.session import Database
from web import audit
from core import reply_policy
from core.reply_policy import ContactState


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


def send_reply(db: Database, sender, person_id: int, contact_id: int | None, user_id: int, body: str,
               quiet_confirmed: bool, now: datetime, quiet=reply_policy.DEFAULT_QUIET) -> Sent:
    body = body.replace("\r\n", "\n").strip()
    with db.session() as s:
        person = s.get(Participant, person_id)
        contact = reply_contact(s, person_id, contact_id)
        verdict = reply_policy.check(body, person.opted_out, contact_state(contact), person.timezone,
                                     person.last_inbound_at, now, quiet)
        if verdict.refusal:
            audit.record(s, user_id, "reply_refused", now, person_id, reason=verdict.refusal[:120])
            return Sent(False, verdict.refusal)
        if verdict.quiet and not quiet_confirmed:
            return Sent(False, reply_policy.quiet_note(person.timezone, quiet) +
                        " Tick “send anyway” to send now.", needs_quiet_confirm=True)
        msg = Message(participant_id=person_id, contact_id=contact.id, direction="out", channel=contact.channel,
                      kind="peer", body=body, status="sending", author_id=user_id, created_at=now, updated_at=now)
        s.add(msg)
        s.flush()
        ticket = tickets.responded(s, person_id, user_id, now)
        segments = count_segments(body)
        route = contacts.outbound_route(contact, body, now, sender)   # WhatsApp's 24-hour window
        audit.record(s, user_id, "reply", now, person_id, message_id=msg.id, segments=segments.segments,
                     ticket_id=ticket.id if ticket else None, quiet_hours=verdict.quiet,
                     **({"whatsapp": route.action} if route.action != "send" else {}))
        if route.action == "hold":
            contacts.hold_peer_reply(s, msg, now)
            return Sent(False, "Held: outside WhatsApp's 24-hour window, and no approved template is "
                               "configured. It will be sent when they next write.", msg.id)
        msg_id, address, channel = msg.id, contact.address, contact.channel
    if sender_for(channel, sender) is None:
        return _record(db, msg_id, now, "sent", None, None, f"Posted to the web chat ({segments.describe()}).")
    try:
        result = (sender.send(address, body, template=route.template) if route.template
                  else sender.send(address, body))
    except SendError as exc:
        code = exc.code or (str(exc.http_status) if exc.http_status else None)
        return _record(db, msg_id, now, "failed", None, code, f"Not sent: {exc.detail}." + (" It may work if you try again." if exc.temporary else ""))
    except Exception as exc:  # a bug or an outage in the sender must still leave a clear record
        return _record(db, msg_id, now, "failed", None, None, f"Not sent: {type(exc).__name__}.")
    how = " as the approved WhatsApp template (outside the 24-hour window)" if route.template else ""
    return _record(db, msg_id, now, result.status, result.sid, None,
                   f"Sent{how} ({segments.describe()}); carrier status: {result.status}.")


def _record(db: Database, msg_id: int, now: datetime, status: str, sid: str | None, code: str | None,
            text: str) -> Sent:
    with db.session() as s:
        msg = s.get(Message, msg_id)
        msg.status, msg.provider_sid, msg.error_code, msg.updated_at = status, sid, code, now
    return Sent(status != "failed", text, msg_id)
