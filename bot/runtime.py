"""The shell around one inbound message: store it, decide, apply the effects.

Persist first (a person's words are never lost), then lock the person, call the pure core and
apply what it returned in one transaction. If anything in processing fails the message stays
stored, is marked failed and escalated, and the person still gets a short answer.

This is every text's path, so it speaks Core, not the ORM: about nine statements built once,
two transactions on one pooled connection (docs/architecture.md, docs/benchmarks.md).
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

import logs
from bot import tickets
from core import conversation, messages
from core.effects import (CancelTimeout, EndConversation, Escalate, OptIn, OptOut, Outcome,
                         RecordEvent, Reply, ScheduleTimeout, SetField, SetLanguage, StartFlow)
from bot.contacts import link_contact, release_held
from bot.escalations import on_shift, open_escalation
from core.services import BoundServices, Context
from db.models import (Contact, Conversation, Event, Message, Participant,
                       ScheduledMessage, Setting, User)
from db import records
from db.queries import cancel_pending, insert_unless_exists
from db.records import Record
from db.session import Database
from scheduler.planning import schedule_nudges

log = logging.getLogger("homeward.runtime")

PARTICIPANT_COLUMNS = {"first_name", "checkin_time", "risk_tier", "discreet"}
# The hot path reads and writes these tables with Core statements, built once: no ORM unit of
# work and no statement construction per message.
MESSAGES, CONTACTS, PARTICIPANTS = Message.__table__, Contact.__table__, Participant.__table__
CONVERSATIONS, EVENTS = Conversation.__table__, Event.__table__
LOCK_PERSON = records.by_id(PARTICIPANTS, lock=True)
CONVERSATION_BY_ID = records.by_id(CONVERSATIONS)
ACTIVE_CONVERSATION = (select(CONVERSATIONS).where(CONVERSATIONS.c.participant_id == bindparam("pid"),
                                                   CONVERSATIONS.c.status == "active")
                       .order_by(CONVERSATIONS.c.id.desc()).limit(1))
TOUCH_CONTACT = (update(CONTACTS).where(CONTACTS.c.address == bindparam("b_address"))
                 .values(last_inbound_at=bindparam("at")).returning(CONTACTS.c.id, CONTACTS.c.participant_id))
MARK_PROCESSED = (update(MESSAGES).where(MESSAGES.c.id == bindparam("b_id"))
                  .values(status="processed", updated_at=bindparam("at")))


def _first_word(name: str | None) -> str | None:
    words = (name or "").split()
    return words[0] if words else None


class PersonRecord(Record):
    """The participants row on the hot path (what `Participant` offers that the core reads)."""
    __slots__ = ()

    @property
    def opted_out(self) -> bool:
        return self.opted_out_at is not None


@dataclass(frozen=True)
class Inbound:
    channel: str          # sms | whatsapp | webchat
    address: str          # channel-qualified: "sms:+1...", "whatsapp:+1...", "webchat:<id>"
    body: str
    provider_sid: str | None = None
    num_media: int = 0

    def __post_init__(self):
        # A NUL character, which PostgreSQL text cannot hold (the insert would fail and the words
        # be lost), is kept as U+FFFD on both databases.
        object.__setattr__(self, "body", self.body.replace("\x00", "\ufffd"))


@dataclass(frozen=True)
class Stored:
    """Where an inbound message was written, and what the store learned on the way."""
    message_id: int
    participant_id: int
    contact_id: int | None
    channel: str
    first_contact: bool
    duplicate: bool = False


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
        self._facts: tuple[float, dict, bool, dict[int, str]] | None = None
        self._insert_inbound = insert_unless_exists(db.engine.dialect.name, MESSAGES, "provider_sid", MESSAGES.c.id)

    # -- persistence first -------------------------------------------------------------
    def store(self, inbound: Inbound, now: datetime) -> Stored:
        """Write the inbound message (creating the person on first contact) in one transaction
        that is also the redelivery check: the insert does nothing when the MessageSid is already
        stored (on PostgreSQL it waits for a concurrent delivery of the same sid to commit)."""
        try:
            with self.db.session(write=True) as s:
                conn = s.connection()
                known = conn.execute(TOUCH_CONTACT, {"b_address": inbound.address, "at": now}).first()
                if known is not None:
                    contact_id, participant_id, first = known.id, known.participant_id, False
                else:
                    contact, first = self._new_contact(s, inbound, now)
                    contact_id, participant_id = contact.id, contact.participant_id
                message_id = conn.execute(self._insert_inbound, dict(
                    participant_id=participant_id, contact_id=contact_id, direction="in",
                    channel=inbound.channel, kind="person", body=inbound.body,
                    num_media=inbound.num_media, provider_sid=inbound.provider_sid, status="received",
                    error_code=None, reply_to_id=None, author_id=None, created_at=now, updated_at=now)).scalar()
                if message_id is None:
                    s.rollback()    # a redelivery: leave the contact as it was
                    return self._stored_as(inbound)
                return Stored(message_id, participant_id, contact_id, inbound.channel, first)
        except IntegrityError:
            # A concurrent first message from the same new address created the contact first.
            if inbound.provider_sid and (seen := self._stored_as(inbound)) is not None:
                return seen
            return self.store(inbound, now)

    def _stored_as(self, inbound: Inbound) -> Stored | None:
        with self.db.session() as s:
            row = s.connection().execute(
                select(MESSAGES.c.id, MESSAGES.c.participant_id, MESSAGES.c.contact_id, MESSAGES.c.channel)
                .where(MESSAGES.c.provider_sid == inbound.provider_sid)).first()
        return Stored(row.id, row.participant_id, row.contact_id, row.channel, False, duplicate=True) if row else None

    def _new_contact(self, s: Session, inbound: Inbound, now: datetime) -> tuple[Contact, bool]:
        """First message from this address: the same number on another channel is the same
        person (link_contact); otherwise a new person. Returns (contact, new_person)."""
        contact = link_contact(s, inbound.channel, inbound.address, now)
        created = contact is None
        if contact is None:
            person = Participant(status="prospect", timezone=self.program.timezone, created_at=now, fields={})
            s.add(person)
            s.flush()
            contact = Contact(participant_id=person.id, channel=inbound.channel,
                              address=inbound.address, created_at=now)
            s.add(contact)
        contact.last_inbound_at = now
        s.flush()
        return contact, created

    # -- the whole path ------------------------------------------------------------------
    def handle(self, inbound: Inbound, now: datetime) -> InboundResult:
        with self.db.pinned():      # one pooled connection (one liveness check) for the whole path
            stored = self.store(inbound, now)
            if stored.duplicate:
                return InboundResult(self.replies_to(stored.message_id), stored.message_id,
                                     stored.participant_id, duplicate=True)
            try:
                replies, effects = self.process(inbound, stored, now)
                return InboundResult(replies, stored.message_id, stored.participant_id, effects=effects)
            except Exception:
                logs.event(log, "processing failed", logging.ERROR, message_id=stored.message_id,
                           participant_id=stored.participant_id, exc_info=True)
                return InboundResult(self.mark_failed(stored.message_id, now), stored.message_id,
                                     stored.participant_id, failed=True)

    def replies_to(self, message_id: int) -> list[str]:
        with self.db.session() as s:
            return list(s.scalars(select(Message.body).where(Message.reply_to_id == message_id,
                                                             Message.kind == "bot").order_by(Message.id)))

    def process(self, inbound: Inbound, stored: Stored, now: datetime) -> tuple[list[str], tuple]:
        """Lock the person, decide, apply. The words come from `inbound` (already stored as
        `stored`), so nothing is read back; the person and the conversation are Records, each
        written back as one UPDATE of what changed."""
        with self.db.session(write=True) as s, s.no_autoflush:
            person = self._lock_person(s, stored.participant_id)
            seen = {person.id}
            while person.status == "merged" and person.merged_into_id not in (None, *seen):
                seen.add(person.merged_into_id)                  # merged since the store
                person = self._lock_person(s, person.merged_into_id)
            person.last_inbound_at = now
            if stored.channel == "whatsapp":
                release_held(s, person.id, now)   # their message reopens WhatsApp's 24-hour window
            tickets.reopen_on_inbound(s, person, now, stored.message_id, tz=self.program.timezone)
            convo = self._active_conversation(s, person.id)
            services = self.services_for(s, person, now)
            outcome = conversation.decide(
                inbound.body, inbound.num_media,
                conversation.Person(opted_out=person.opted_out, lang=person.language, new=stored.first_contact),
                convo.state if convo else None, now, services, flows=self.flows_for(s, convo))
            replies = self.apply(s, person, stored.contact_id, convo, outcome, now, reply_to=stored)
            s.connection().execute(MARK_PROCESSED, {"b_id": stored.message_id, "at": now})
            logs.event(log, "inbound processed", message_id=stored.message_id, participant_id=person.id,
                       replies=len(replies), effects=[type(e).__name__ for e in outcome.effects])
            return replies, outcome.effects

    def mark_failed(self, message_id: int, now: datetime) -> list[str]:
        with self.db.session(write=True) as s:
            msg = s.get(Message, message_id)
            msg.status, msg.updated_at = "failed", now
            person = s.get(Participant, msg.participant_id)
            open_escalation(s, person, "processing_failed", "high",
                            "A message could not be processed automatically; please read it.", now, msg.id,
                            tz=self.program.timezone)
            text = messages.text("fallback", person.language, program=self.program.name)
            s.add(Message(participant_id=person.id, contact_id=msg.contact_id, direction="out",
                          channel=msg.channel, kind="bot", body=text, status="replied",
                          reply_to_id=msg.id, created_at=now, updated_at=now))
            return [text]

    # -- helpers ---------------------------------------------------------------------------
    @staticmethod
    def _lock_person(s: Session, participant_id: int) -> PersonRecord:
        """Serialise messages from one person (PostgreSQL row lock; SQLite serialises writers).
        Read what depends on the person's previous message (their conversation) only after this."""
        return records.load(s.connection(), PARTICIPANTS, LOCK_PERSON, PersonRecord, id=participant_id)

    @staticmethod
    def _active_conversation(s: Session, participant_id: int) -> Record | None:
        return records.load(s.connection(), CONVERSATIONS, ACTIVE_CONVERSATION, pid=participant_id)

    def flows_for(self, s: Session, convo: Record | None) -> conversation.Flows | None:
        if self.flow_store is None:
            return None
        current = self.flow_store.definition(s, convo.flow, convo.flow_version) if convo else None
        return conversation.Flows(self.flow_store.registry(s), current)

    FACTS_SECONDS = 5.0

    def _program_facts(self, s: Session, now: datetime) -> tuple[dict, bool, dict[int, str]]:
        """Supervisors' settings (program name, coverage hours), whether any peer is on shift and
        the active peers' first names, read at most every few seconds: they change rarely and
        this is on every message's path."""
        cached = self._facts
        if cached is not None and time.monotonic() - cached[0] < self.FACTS_SECONDS:
            return cached[1], cached[2], cached[3]
        settings = dict(s.execute(select(Setting.key, Setting.value)
                                  .where(Setting.key.in_(("program_name", "coverage_hours")))).all())
        peers = list(s.scalars(select(User).where(User.active.is_(True), User.role == "peer")))
        on_duty = any(on_shift(u, now, self.program.timezone) for u in peers)
        names = {u.id: _first_word(u.name) for u in peers}
        self._facts = (time.monotonic(), settings, on_duty, names)
        return settings, on_duty, names

    def services_for(self, s: Session, person: Participant | PersonRecord, now: datetime) -> BoundServices:
        settings, on_duty, peer_names = self._program_facts(s, now)
        peer_name = None
        if person.assigned_peer_id is not None:
            peer_name = peer_names.get(person.assigned_peer_id)
            if peer_name is None:   # an inactive peer still has a name
                peer_name = _first_word(s.scalar(select(User.name).where(User.id == person.assigned_peer_id)))
        ctx = Context(lang=person.language, fields=dict(person.fields or {}, first_name=person.first_name),
                      program_name=settings.get("program_name") or self.program.name,
                      coverage={**Context().coverage, **(settings.get("coverage_hours") or {})},
                      peer_name=peer_name,
                      peer_on_duty=on_duty,
                      timezone=person.timezone or self.program.timezone)
        return BoundServices(ctx, self.locator, now)

    def apply(self, s: Session, person: PersonRecord, contact_id: int | None, convo: Record | None,
              outcome: Outcome, now: datetime, reply_to: Stored | None = None) -> list[str]:
        """Carry out the core's effects. Replies to an inbound message are returned (TwiML, the
        chat page) and stored so the thread shows them; replies with no inbound message (a
        timed-out wait) go to the outbox, where quiet hours and opt-out are checked again."""
        replies: list[str] = []
        stored_replies: list[dict] = []
        channel = reply_to.channel if reply_to else "sms"
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
                    stored_replies.append(dict(participant_id=person.id, contact_id=contact_id, direction="out",
                                               channel=channel, kind="bot", body=text, status="replied",
                                               reply_to_id=reply_to.message_id, created_at=now, updated_at=now))
                case Escalate(reason=reason, priority=priority, note=note):
                    open_escalation(s, person, reason, priority, note, now,
                                    reply_to.message_id if reply_to else None, tz=self.program.timezone)
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
                    self._set_contact_opt_out(s, contact_id, now)
                    cancel_pending(s, person.id, now, "opted out")
                    self._record_event(s, person.id, "opted_out", now)     # the report keeps the history
                case OptIn():
                    person.opted_out_at = None
                    self._set_contact_opt_out(s, contact_id, None)
                    self._record_event(s, person.id, "opted_in", now)
                case EndConversation(outcome=result):
                    if convo is not None and not ended:
                        convo.status, convo.outcome, convo.timeout_at, convo.updated_at = "ended", result, None, now
                    ended = True
                case RecordEvent(name=name, data=data):
                    s.connection().execute(insert(EVENTS), dict(participant_id=person.id, name=name, data=data,
                                                                created_at=now))
                case ScheduleTimeout() | CancelTimeout() | StartFlow():
                    pass  # the state carries the timer; StartFlow was followed by the core
                case _:
                    raise ValueError(f"unknown effect {type(effect).__name__}")
        if stored_replies:
            s.connection().execute(insert(MESSAGES), stored_replies)
        self.save_state(s, person, convo, outcome.state, now)
        conn = s.connection()
        person.save(conn)
        if convo is not None:
            convo.save(conn)
        if replan and self.schedule is not None:
            schedule_nudges(s, person, self.schedule(), now)
        return replies

    @staticmethod
    def _record_event(s: Session, participant_id: int, name: str, now: datetime) -> None:
        """opted_out_at is cleared by an opt-in; these events keep when each happened."""
        s.connection().execute(insert(EVENTS), dict(participant_id=participant_id, name=name, data={},
                                                    created_at=now))

    @staticmethod
    def _set_contact_opt_out(s: Session, contact_id: int | None, when: datetime | None) -> None:
        if contact_id is not None:
            s.connection().execute(update(CONTACTS).where(CONTACTS.c.id == contact_id)
                                   .values(opted_out_at=when))

    def save_state(self, s: Session, person: Participant | PersonRecord, convo: Record | None,
                   state: dict | None, now: datetime) -> None:
        """The state the core returned is the truth: update the running conversation (the caller
        saves the record), or close it and open the one the core started."""
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
            s.connection().execute(insert(CONVERSATIONS), dict(
                participant_id=person.id, flow=state["flow"], flow_version=state["version"], state=state,
                status="active", outcome=None, timeout_at=timeout_at, expires_at=expires_at,
                started_at=now, updated_at=now))

    def await_checkin(self, s: Session, person: Participant, now: datetime, flow: str = "checkin") -> None:
        """A nudge just asked "how are you, 1-5": the person's answer belongs to the check-in
        flow. Start it silently at its first question (the nudge was the question), without a
        reminder timer: silence after nudges is the no-contact sweep's business. A conversation
        already running is left alone."""
        from core import engine
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
        from core import engine
        with self.db.session() as s:
            due = list(s.scalars(select(Conversation.id).where(
                Conversation.status == "active", Conversation.timeout_at <= now).limit(limit)))
        for convo_id in due:
            with self.db.session(write=True) as s, s.no_autoflush:
                owner = s.scalar(select(Conversation.participant_id).where(Conversation.id == convo_id))
                person = self._lock_person(s, owner)
                convo = records.load(s.connection(), CONVERSATIONS, CONVERSATION_BY_ID, id=convo_id)
                if convo.status != "active" or convo.timeout_at is None or convo.timeout_at > now:
                    continue
                flows = self.flows_for(s, convo)
                services = self.services_for(s, person, now)
                outcome = engine.follow(engine.timeout(flows.current, convo.state, now, services),
                                        flows.registry.get, now, services)
                self.apply(s, person, None, convo, outcome, now)
        return len(due)
