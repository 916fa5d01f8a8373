"""The shell around one inbound message: store it, decide, apply the effects.

Persist first (a person's words are never lost), then lock the person, call the pure core and
apply what it returned in one transaction. If anything in processing fails the message stays
stored, is marked failed and escalated, and the person still gets a short answer.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

import logs
from bot import conversation, messages
from bot.effects import (CancelTimeout, EndConversation, Escalate, OptIn, OptOut, Outcome,
                         RecordEvent, Reply, ScheduleTimeout, SetField, SetLanguage)
from bot.escalations import open_escalation
from bot.services import Context, LocateResult
from db.models import (Contact, Conversation, Escalation, Event, Message, Participant,
                       ScheduledMessage)
from db.queries import cancel_pending
from db.session import Database

log = logging.getLogger("homeward.runtime")

PARTICIPANT_COLUMNS = {"first_name", "checkin_time", "risk_tier", "discreet"}


@dataclass(frozen=True)
class Inbound:
    channel: str          # sms | whatsapp | webchat
    address: str          # channel-qualified: "sms:+1...", "whatsapp:+1...", "webchat:<id>"
    body: str
    provider_sid: str | None = None
    num_media: int = 0


@dataclass
class InboundResult:
    replies: list[str]
    message_id: int | None
    participant_id: int | None
    duplicate: bool = False
    failed: bool = False


@dataclass(frozen=True)
class Program:
    name: str = "Homeward"
    timezone: str = "America/New_York"


@dataclass
class RuntimeServices:
    """The real Services port: facts from the database, the locator against the sites table."""
    context: Context
    locator: object | None = None

    def locate(self, need, place_text, lang, last_place=None) -> LocateResult:
        if self.locator is None:
            return LocateResult("not_found")
        return self.locator(need, place_text, lang, last_place)


class Runtime:
    def __init__(self, db: Database, program: Program, flows=None, locator=None):
        self.db, self.program, self.flows, self.locator = db, program, flows, locator

    # -- persistence first -------------------------------------------------------------
    def store(self, inbound: Inbound, now: datetime) -> tuple[int, int, bool]:
        """Write the inbound message (creating the person on first contact).
        Returns (message_id, participant_id, duplicate)."""
        if inbound.provider_sid:
            seen = self._find_by_sid(inbound.provider_sid)
            if seen:
                return seen.id, seen.participant_id, True
        try:
            with self.db.session() as s:
                contact = self._contact_for(s, inbound, now)
                msg = Message(participant_id=contact.participant_id, contact_id=contact.id,
                              direction="in", channel=inbound.channel, kind="person",
                              body=inbound.body, num_media=inbound.num_media,
                              provider_sid=inbound.provider_sid, status="received",
                              created_at=now, updated_at=now)
                s.add(msg)
                s.flush()
                return msg.id, msg.participant_id, False
        except IntegrityError:
            # A concurrent delivery of the same MessageSid (or first contact) won the race.
            seen = self._find_by_sid(inbound.provider_sid) if inbound.provider_sid else None
            if seen:
                return seen.id, seen.participant_id, True
            return self.store(inbound, now)

    def _find_by_sid(self, sid: str) -> Message | None:
        with self.db.session() as s:
            return s.scalar(select(Message).where(Message.provider_sid == sid))

    def _contact_for(self, s: Session, inbound: Inbound, now: datetime) -> Contact:
        contact = s.scalar(select(Contact).where(Contact.address == inbound.address))
        if contact is None:
            person = Participant(status="prospect", timezone=self.program.timezone, created_at=now, fields={})
            s.add(person)
            s.flush()
            contact = Contact(participant_id=person.id, channel=inbound.channel,
                              address=inbound.address, created_at=now)
            s.add(contact)
            s.flush()
        contact.last_inbound_at = now
        return contact

    # -- the whole path ------------------------------------------------------------------
    def handle(self, inbound: Inbound, now: datetime) -> InboundResult:
        message_id, participant_id, duplicate = self.store(inbound, now)
        if duplicate:
            return InboundResult(self.replies_to(message_id), message_id, participant_id, duplicate=True)
        try:
            replies = self.process(message_id, now)
            return InboundResult(replies, message_id, participant_id)
        except Exception:
            logs.event(log, "processing failed", logging.ERROR, message_id=message_id,
                       participant_id=participant_id, exc_info=True)
            return InboundResult(self.mark_failed(message_id, now), message_id, participant_id, failed=True)

    def replies_to(self, message_id: int) -> list[str]:
        with self.db.session() as s:
            return list(s.scalars(select(Message.body).where(Message.reply_to_id == message_id,
                                                             Message.kind == "bot").order_by(Message.id)))

    def process(self, message_id: int, now: datetime) -> list[str]:
        with self.db.session() as s:
            msg = s.get(Message, message_id)
            person = self._lock_person(s, msg.participant_id)
            contact = s.get(Contact, msg.contact_id) if msg.contact_id else None
            person.last_inbound_at = now
            convo = self._active_conversation(s, person.id)
            services = self.services_for(s, person)
            outcome = conversation.decide(
                msg.body, msg.num_media,
                conversation.Person(opted_out=person.opted_out, lang=person.language),
                convo.state if convo else None, now, services,
                flows=self.flows.handler(s, person, convo) if self.flows else None)
            replies = self.apply(s, person, contact, convo, outcome, now, reply_to=msg)
            msg.status, msg.updated_at = "processed", now
            logs.event(log, "inbound processed", message_id=msg.id, participant_id=person.id,
                       replies=len(replies), effects=[type(e).__name__ for e in outcome.effects])
            return replies

    def mark_failed(self, message_id: int, now: datetime) -> list[str]:
        with self.db.session() as s:
            msg = s.get(Message, message_id)
            msg.status, msg.updated_at = "failed", now
            person = s.get(Participant, msg.participant_id)
            open_escalation(s, person, "processing_failed", "high",
                            "A message could not be processed automatically; please read it.", now, msg.id)
            text = messages.text("fallback", person.language, program=self.program.name)
            s.add(Message(participant_id=person.id, contact_id=msg.contact_id, direction="out",
                          channel=msg.channel, kind="bot", body=text, status="replied",
                          reply_to_id=msg.id, created_at=now, updated_at=now))
            return [text]

    # -- helpers ---------------------------------------------------------------------------
    def _lock_person(self, s: Session, participant_id: int) -> Participant:
        """Serialise messages from one person (PostgreSQL row lock; SQLite serialises writers)."""
        stmt = select(Participant).where(Participant.id == participant_id)
        if not self.db.is_sqlite:
            stmt = stmt.with_for_update()
        return s.scalar(stmt)

    def _active_conversation(self, s: Session, participant_id: int) -> Conversation | None:
        return s.scalar(select(Conversation).where(Conversation.participant_id == participant_id,
                                                   Conversation.status == "active")
                        .order_by(Conversation.id.desc()).limit(1))

    def services_for(self, s: Session, person: Participant) -> RuntimeServices:
        peer = person.assigned_peer
        ctx = Context(lang=person.language, fields=dict(person.fields or {}, first_name=person.first_name),
                      program_name=self.program.name,
                      peer_name=peer.name.split()[0] if peer else None,
                      timezone=person.timezone or self.program.timezone)
        return RuntimeServices(ctx, self.locator)

    def apply(self, s: Session, person: Participant, contact: Contact | None, convo: Conversation | None,
              outcome: Outcome, now: datetime, reply_to: Message | None = None) -> list[str]:
        """Carry out the core's effects. Immediate replies are returned (TwiML / the chat page)
        and stored as outbound messages so the thread shows them."""
        replies: list[str] = []
        channel = reply_to.channel if reply_to else (contact.channel if contact else "sms")
        for effect in outcome.effects:
            match effect:
                case Reply(text=text):
                    replies.append(text)
                    s.add(Message(participant_id=person.id, contact_id=contact.id if contact else None,
                                  direction="out", channel=channel, kind="bot", body=text, status="replied",
                                  reply_to_id=reply_to.id if reply_to else None, created_at=now, updated_at=now))
                case Escalate(reason=reason, priority=priority, note=note):
                    open_escalation(s, person, reason, priority, note, now, reply_to.id if reply_to else None)
                case SetField(name=name, value=value):
                    if name in PARTICIPANT_COLUMNS:
                        setattr(person, name, value)
                    person.fields = {**(person.fields or {}), name: value}
                case SetLanguage(language=language):
                    person.language = language
                case OptOut():
                    person.opted_out_at = now
                    if contact is not None:
                        contact.opted_out_at = now
                    cancel_pending(s, person.id, now, "opted out")
                    if convo is not None:
                        convo.status, convo.outcome, convo.timeout_at = "ended", "opted_out", None
                        convo = None
                case OptIn():
                    person.opted_out_at = None
                    if contact is not None:
                        contact.opted_out_at = None
                case ScheduleTimeout(at=at):
                    if convo is not None:
                        convo.timeout_at = at
                case CancelTimeout():
                    if convo is not None:
                        convo.timeout_at = None
                case EndConversation(outcome=result):
                    if convo is not None:
                        convo.status, convo.outcome, convo.timeout_at = "ended", result, None
                case RecordEvent(name=name, data=data):
                    s.add(Event(participant_id=person.id, name=name, data=data, created_at=now))
                case _:
                    if self.flows is None or not self.flows.apply_extra(s, person, effect, now):
                        raise ValueError(f"unknown effect {type(effect).__name__}")
        if self.flows is not None:
            self.flows.save_state(s, person, convo, outcome.state, now)
        return replies

