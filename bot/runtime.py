"""The shell around one inbound message: store it, decide, apply the effects.

Persist first (a person's words are never lost), then lock the person, call the pure core and
apply what it returned in one transaction. If anything in processing fails the message stays
stored, is marked failed and escalated, and the person still gets a short answer.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

import logs
from bot import conversation, messages, tickets
from bot.effects import (CancelTimeout, EndConversation, Escalate, OptIn, OptOut, Outcome,
                         RecordEvent, Reply, ScheduleTimeout, SetField, SetLanguage, StartFlow)
from bot.contacts import link_contact, release_held
from bot.escalations import on_shift, open_escalation
from bot.services import BoundServices, Context
from db.models import (Contact, Conversation, Event, Message, Participant,
                       ScheduledMessage, Setting, User)
from db.queries import cancel_pending
from db.session import Database
from scheduler.planning import schedule_nudges

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
    effects: tuple = ()     # what the core decided (the simulator shows them)


@dataclass(frozen=True)
class Program:
    name: str = "Homeward"
    timezone: str = "America/New_York"


class Runtime:
    def __init__(self, db: Database, program: Program, flow_store=None, locator=None, schedule=None):
        self.db, self.program, self.flow_store, self.locator = db, program, flow_store, locator
        self.schedule = schedule   # () -> Schedule in force: replan nudges when the person changes them
        self._facts: tuple[float, dict, bool] | None = None

    # -- persistence first -------------------------------------------------------------
    def store(self, inbound: Inbound, now: datetime) -> tuple[int, int, bool, bool]:
        """Write the inbound message (creating the person on first contact), in one transaction
        with the redelivery check. Returns (message_id, participant_id, duplicate, first_contact).
        A NUL character, which PostgreSQL text cannot hold (the insert would fail and the words be
        lost), is stored as U+FFFD on both databases."""
        try:
            with self.db.session() as s:
                if inbound.provider_sid:
                    seen = s.scalar(select(Message).where(Message.provider_sid == inbound.provider_sid))
                    if seen:
                        return seen.id, seen.participant_id, True, False
                contact, created = self._contact_for(s, inbound, now)
                msg = Message(participant_id=contact.participant_id, contact_id=contact.id,
                              direction="in", channel=inbound.channel, kind="person",
                              body=inbound.body.replace("\x00", "\ufffd"), num_media=inbound.num_media,
                              provider_sid=inbound.provider_sid, status="received",
                              created_at=now, updated_at=now)
                s.add(msg)
                s.flush()
                return msg.id, msg.participant_id, False, created
        except IntegrityError:
            # A concurrent delivery of the same MessageSid (or first contact) won the race.
            seen = self._find_by_sid(inbound.provider_sid) if inbound.provider_sid else None
            if seen:
                return seen.id, seen.participant_id, True, False
            return self.store(inbound, now)

    def _find_by_sid(self, sid: str) -> Message | None:
        with self.db.session() as s:
            return s.scalar(select(Message).where(Message.provider_sid == sid))

    def _contact_for(self, s: Session, inbound: Inbound, now: datetime) -> tuple[Contact, bool]:
        """The sender's contact, and whether this is a new person."""
        contact = s.scalar(select(Contact).where(Contact.address == inbound.address))
        if contact is None:
            contact = link_contact(s, inbound.channel, inbound.address, now)   # same number, other channel
        created = contact is None
        if contact is None:
            person = Participant(status="prospect", timezone=self.program.timezone, created_at=now, fields={})
            s.add(person)
            s.flush()
            contact = Contact(participant_id=person.id, channel=inbound.channel,
                              address=inbound.address, created_at=now)
            s.add(contact)
            s.flush()
        contact.last_inbound_at = now
        return contact, created

    # -- the whole path ------------------------------------------------------------------
    def handle(self, inbound: Inbound, now: datetime) -> InboundResult:
        message_id, participant_id, duplicate, first = self.store(inbound, now)
        if duplicate:
            return InboundResult(self.replies_to(message_id), message_id, participant_id, duplicate=True)
        try:
            replies, effects = self.process(message_id, now, first)
            return InboundResult(replies, message_id, participant_id, effects=effects)
        except Exception:
            logs.event(log, "processing failed", logging.ERROR, message_id=message_id,
                       participant_id=participant_id, exc_info=True)
            return InboundResult(self.mark_failed(message_id, now), message_id, participant_id, failed=True)

    def replies_to(self, message_id: int) -> list[str]:
        with self.db.session() as s:
            return list(s.scalars(select(Message.body).where(Message.reply_to_id == message_id,
                                                             Message.kind == "bot").order_by(Message.id)))

    def process(self, message_id: int, now: datetime, first: bool = False) -> tuple[list[str], tuple]:
        with self.db.session() as s:
            msg = s.get(Message, message_id)
            person = self._lock_person(s, msg.participant_id)
            contact = s.get(Contact, msg.contact_id) if msg.contact_id else None
            person.last_inbound_at = now
            if msg.channel == "whatsapp":
                release_held(s, person.id, now)   # their message reopens WhatsApp's 24-hour window
            tickets.reopen_on_inbound(s, person, now, msg.id)
            convo = self._active_conversation(s, person.id)
            services = self.services_for(s, person, now)
            outcome = conversation.decide(
                msg.body, msg.num_media,
                conversation.Person(opted_out=person.opted_out, lang=person.language, new=first),
                convo.state if convo else None, now, services, flows=self.flows_for(s, convo))
            replies = self.apply(s, person, contact, convo, outcome, now, reply_to=msg)
            msg.status, msg.updated_at = "processed", now
            logs.event(log, "inbound processed", message_id=msg.id, participant_id=person.id,
                       replies=len(replies), effects=[type(e).__name__ for e in outcome.effects])
            return replies, outcome.effects

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

    def flows_for(self, s: Session, convo: Conversation | None) -> conversation.Flows | None:
        if self.flow_store is None:
            return None
        current = self.flow_store.definition(s, convo.flow, convo.flow_version) if convo else None
        return conversation.Flows(self.flow_store.registry(s), current)

    FACTS_SECONDS = 5.0

    def _program_facts(self, s: Session, now: datetime) -> tuple[dict, bool]:
        """Supervisors' settings (program name, coverage hours) and whether any peer is on shift,
        read at most every few seconds: they change rarely and this is on every message's path."""
        cached = self._facts
        if cached is not None and time.monotonic() - cached[0] < self.FACTS_SECONDS:
            return cached[1], cached[2]
        settings = dict(s.execute(select(Setting.key, Setting.value)
                                  .where(Setting.key.in_(("program_name", "coverage_hours")))).all())
        peers = s.scalars(select(User).where(User.active.is_(True), User.role == "peer"))
        on_duty = any(on_shift(u, now, self.program.timezone) for u in peers)
        self._facts = (time.monotonic(), settings, on_duty)
        return settings, on_duty

    def services_for(self, s: Session, person: Participant, now: datetime) -> BoundServices:
        peer = person.assigned_peer
        settings, on_duty = self._program_facts(s, now)
        ctx = Context(lang=person.language, fields=dict(person.fields or {}, first_name=person.first_name),
                      program_name=settings.get("program_name") or self.program.name,
                      coverage={**Context().coverage, **(settings.get("coverage_hours") or {})},
                      peer_name=peer.name.split()[0] if peer else None,
                      peer_on_duty=on_duty,
                      timezone=person.timezone or self.program.timezone)
        return BoundServices(ctx, self.locator, now)

    def apply(self, s: Session, person: Participant, contact: Contact | None, convo: Conversation | None,
              outcome: Outcome, now: datetime, reply_to: Message | None = None) -> list[str]:
        """Carry out the core's effects. Replies to an inbound message are returned (TwiML, the
        chat page) and stored so the thread shows them; replies with no inbound message (a
        timed-out wait) go to the outbox, where quiet hours and opt-out are checked again."""
        replies: list[str] = []
        channel = reply_to.channel if reply_to else (contact.channel if contact else "sms")
        ended = replan = False
        for effect in outcome.effects:
            match effect:
                case Reply(text=text) if reply_to is None:
                    s.add(ScheduledMessage(participant_id=person.id, kind="reply", body=text, due_at=now,
                                           dedupe_key=f"reply:{now.isoformat()}:{len(replies)}",
                                           created_at=now, updated_at=now))
                    replies.append(text)
                case Reply(text=text):
                    replies.append(text)
                    s.add(Message(participant_id=person.id, contact_id=contact.id if contact else None,
                                  direction="out", channel=channel, kind="bot", body=text, status="replied",
                                  reply_to_id=reply_to.id, created_at=now, updated_at=now))
                case Escalate(reason=reason, priority=priority, note=note):
                    open_escalation(s, person, reason, priority, note, now, reply_to.id if reply_to else None)
                case SetField(name="consent", value=value):
                    person.fields = {**(person.fields or {}), "consent": value}
                    if value is True and person.consent_at is None:
                        person.consent_at, person.consent_channel = now, channel
                        if person.status == "prospect":
                            person.status = "active"
                case SetField(name="release_date", value=value):
                    person.release_date = date.fromisoformat(value) if value else None
                    replan = True
                case SetField(name=name, value=value):
                    if name in PARTICIPANT_COLUMNS:
                        setattr(person, name, value)
                    person.fields = {**(person.fields or {}), name: value}
                    replan = replan or name == "checkin_time"
                case SetLanguage(language=language):
                    person.language = language
                case OptOut():
                    if convo is not None and convo.status == "active":
                        convo.outcome = "opted_out"
                    person.opted_out_at = now
                    if contact is not None:
                        contact.opted_out_at = now
                    cancel_pending(s, person.id, now, "opted out")
                case OptIn():
                    person.opted_out_at = None
                    if contact is not None:
                        contact.opted_out_at = None
                case EndConversation(outcome=result):
                    if convo is not None and not ended:
                        convo.status, convo.outcome, convo.timeout_at, convo.updated_at = "ended", result, None, now
                    ended = True
                case RecordEvent(name=name, data=data):
                    s.add(Event(participant_id=person.id, name=name, data=data, created_at=now))
                case ScheduleTimeout() | CancelTimeout() | StartFlow():
                    pass  # the state carries the timer; StartFlow was followed by the core
                case _:
                    raise ValueError(f"unknown effect {type(effect).__name__}")
        self.save_state(s, person, convo, outcome.state, now)
        if replan and self.schedule is not None:
            schedule_nudges(s, person, self.schedule(), now)
        return replies

    def save_state(self, s: Session, person: Participant, convo: Conversation | None,
                   state: dict | None, now: datetime) -> None:
        """The state the core returned is the truth: update the running conversation, or close
        it and open the one the core started."""
        same = (convo is not None and state is not None and convo.status == "active"
                and convo.flow == state.get("flow") and convo.state.get("started_at") == state.get("started_at"))
        if convo is not None and convo.status == "active" and not same:
            convo.status, convo.outcome = "ended", convo.outcome or ("completed" if state is None else "interrupted")
            convo.timeout_at, convo.updated_at = None, now
        if state is None:
            return
        timeout_at = datetime.fromisoformat(state["timeout_at"]) if state.get("timeout_at") else None
        expires_at = datetime.fromisoformat(state["expires_at"]) if state.get("expires_at") else None
        if same:
            convo.state, convo.timeout_at, convo.expires_at, convo.updated_at = state, timeout_at, expires_at, now
        else:
            s.add(Conversation(participant_id=person.id, flow=state["flow"], flow_version=state["version"],
                               state=state, status="active", timeout_at=timeout_at, expires_at=expires_at,
                               started_at=now, updated_at=now))

    def await_checkin(self, s: Session, person: Participant, now: datetime, flow: str = "checkin") -> None:
        """A nudge just asked "how are you, 1-5": the person's answer belongs to the check-in
        flow. Start it silently at its first question (the nudge was the question), without a
        reminder timer: silence after nudges is the no-contact sweep's business. A conversation
        already running is left alone."""
        from bot import engine
        if self.flow_store is None or self._active_conversation(s, person.id) is not None:
            return
        definition = self.flow_store.registry(s).get(flow)
        if definition is None:
            return
        state = engine.start(definition, now, self.services_for(s, person, now)).state
        if state and state.get("waiting"):
            self.save_state(s, person, None, {**state, "timeout_at": None}, now)

    # -- timers ------------------------------------------------------------------------------
    def run_timeouts(self, now: datetime, limit: int = 200) -> int:
        """Resume conversations whose wait timed out (remind once, then end)."""
        from bot import engine
        with self.db.session() as s:
            due = list(s.scalars(select(Conversation.id).where(
                Conversation.status == "active", Conversation.timeout_at <= now).limit(limit)))
        for convo_id in due:
            with self.db.session() as s:
                convo = s.get(Conversation, convo_id)
                person = self._lock_person(s, convo.participant_id)
                if convo.status != "active" or convo.timeout_at is None or convo.timeout_at > now:
                    continue
                flows = self.flows_for(s, convo)
                services = self.services_for(s, person, now)
                outcome = engine.follow(engine.timeout(flows.current, convo.state, now, services),
                                        flows.registry.get, now, services)
                self.apply(s, person, None, convo, outcome, now)
        return len(due)
