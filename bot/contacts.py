"""A person's addresses across channels (shell: touches the database, not Flask).

`link_contact()` is what makes WhatsApp and SMS one person: a first message from
"whatsapp:+13125552671" when "sms:+13125552671" already belongs to someone adds the WhatsApp
address to that someone instead of creating a stranger (and the reverse). Web chat addresses are
random and never linked.

The WhatsApp 24-hour window (core/whatsapp.py, the WhatsApp entry of core/channels.py) is applied to every outbound text through
`outbound_route()`; a text that may not go out now is marked held with `hold()` and released by
`release_held()` when the person writes again, because their message reopens the window.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, text, update
from sqlalchemy.orm import Session

from core import channels, whatsapp
from db.models import Contact, Message, Participant, ScheduledMessage
from db.types import utcnow

PHONE_CHANNELS = channels.PHONE


def link_contact(s: Session, channel: str, address: str, now: datetime | None = None) -> Contact | None:
    """First message from `address` (no Contact has it yet): if the same E.164 number is another
    phone channel of an existing person, add this address to that person and return the new
    Contact (flushed). Otherwise None: the caller creates a new person as before."""
    if channel not in PHONE_CHANNELS or ":" not in address:
        return None
    number = address.split(":", 1)[1]
    if s.get_bind().dialect.name == "postgresql":
        # Two first texts from one number on SMS and WhatsApp at the same moment: the second
        # waits here until the first has made the person, then joins them (SQLite writers are
        # already one at a time).
        s.execute(text("SELECT pg_advisory_xact_lock(hashtext(:n))"), {"n": number})
    siblings = [a for a in channels.phone_addresses(number) if a != address]
    sibling = s.scalar(select(Contact).where(Contact.address.in_(siblings)).order_by(Contact.id).limit(1))
    if sibling is None:
        return None
    person = s.get(Participant, sibling.participant_id)
    owner = person.merged_into_id if person.status == "merged" and person.merged_into_id else person.id
    # Opt-out belongs to the number: a STOP on SMS holds for its WhatsApp too, until START.
    contact = Contact(participant_id=owner, channel=channel, address=address, created_at=now or utcnow(),
                      opted_out_at=sibling.opted_out_at)
    s.add(contact)
    s.flush()
    return contact


def outbound_route(contact: Contact, body: str, now: datetime, sender) -> whatsapp.Route:
    """send | template | hold for one text to `contact`, by its channel's window rule."""
    return channels.route(contact.channel, contact.last_inbound_at, now,
                          getattr(sender, "whatsapp_template_sid", ""), body)


def hold(msg: Message, now: datetime) -> None:
    """Mark an outbound message held outside the WhatsApp window (the inbox shows why)."""
    msg.status, msg.error_code, msg.updated_at = "held", whatsapp.HELD_CODE, now


def release_held(s: Session, participant_id: int, now: datetime) -> int:
    """The person wrote: what was held outside the WhatsApp window goes back to the outbox, due
    now (the dispatcher re-checks everything: opt-out, staleness of nudges, the window)."""
    result = s.execute(update(ScheduledMessage)
                       .where(ScheduledMessage.participant_id == participant_id,
                              ScheduledMessage.state == "held",
                              ScheduledMessage.last_error == whatsapp.HELD_REASON)
                       .values(state="pending", due_at=now, quiet_ok=True, last_error=None, updated_at=now)
                       .execution_options(synchronize_session=False))
    return result.rowcount or 0
