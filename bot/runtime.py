"""The shell around one inbound message: store it, decide, apply the effects.

Persist first (a person's words are never lost), then lock the person, call the pure core and
apply what it returned in one transaction. If anything in processing fails the message stays
stored, is marked failed and escalated, and the person still gets a short answer.

This is every text's path, so it speaks neither the ORM nor SQLAlchemy's execute path: about
nine statements compiled once and sent straight to the driver (db/raw.py), two transactions on
one pooled connection (docs/architecture.md, docs/benchmarks.md). The ORM session is still
there for what is rare (a first contact, a ticket reopened, an opt-out).
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import (Integer, String, bindparam, column, exists, func, insert, literal, literal_column,
                        select, true, update)
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

import logs
from bot import apply as effects_apply
from bot import participants, tickets
from core import channels, conversation, hours, messages
from core.effects import Outcome
from bot.contacts import link_contact, release_held
from bot.escalations import DEFAULT_SLA_MINUTES, Staffing, fold_escalation, on_shift, open_escalation
from core.services import BoundServices, Context
from db.models import Contact, Conversation, Message, Participant, Setting, User
from db import checkins, records
from db.raw import Raw
from db.queries import insert_unless_exists
from db.records import Record
from db.session import Database
from db.types import UTCDateTime

log = logging.getLogger("homeward.runtime")

# The hot path reads and writes these tables with Core statements, built once: no ORM unit of
# work and no statement construction per message.
MESSAGES, CONTACTS, PARTICIPANTS = Message.__table__, Contact.__table__, Participant.__table__
CONVERSATIONS = Conversation.__table__
CONVERSATION_COLUMNS = tuple(c.name for c in CONVERSATIONS.c)
LOCK_PERSON = records.by_id(PARTICIPANTS, lock=True)
CONVERSATION_BY_ID = records.by_id(CONVERSATIONS)
NEW_CONVERSATION_COLUMNS = ("participant_id", "flow", "flow_version", "state", "status", "outcome", "timeout_at",
                            "expires_at", "started_at", "updated_at")
NEW_CONVERSATION = Raw(insert(CONVERSATIONS), keys=NEW_CONVERSATION_COLUMNS)   # no id back: it can go in a write batch
# PostgreSQL: a batch of check-ins waiting for their answer (await_checkins) in one INSERT from
# one JSON array of the rows (json_to_recordset), the same text whatever the batch's size (an
# array of JSON states would be escaped quote by quote in Python); SQLite: one executemany
_CHECKIN_COLUMNS = {"participant_id": Integer, "flow": String, "flow_version": Integer, "state": postgresql.JSON,
                    "expires_at": postgresql.TIMESTAMP}
_checkins = (func.json_to_recordset(bindparam("rows", type_=postgresql.JSON))
             .table_valued(*(column(c, t) for c, t in _CHECKIN_COLUMNS.items())).render_derived("v", with_types=True))
_checkin_now = bindparam("now", type_=UTCDateTime)
NEW_CHECKINS_PG = insert(CONVERSATIONS).from_select(
    [*_CHECKIN_COLUMNS, "status", "started_at", "updated_at"],
    select(*(_checkins.c[c] for c in _CHECKIN_COLUMNS), literal_column("'active'"), _checkin_now, _checkin_now))


def _naive_utc(at: datetime | None) -> str | None:
    return None if at is None else at.astimezone(timezone.utc).replace(tzinfo=None).isoformat()


ACTIVE_CONVERSATION = (select(CONVERSATIONS).where(CONVERSATIONS.c.participant_id == bindparam("pid"),
                                                   CONVERSATIONS.c.status == "active")
                       .order_by(CONVERSATIONS.c.id.desc()).limit(1))
TOUCH_CONTACT = (update(CONTACTS).where(CONTACTS.c.address == bindparam("b_address"))
                 .values(last_inbound_at=bindparam("at_contact")).returning(CONTACTS.c.id, CONTACTS.c.participant_id))
# The claim on a stored message: it commits with everything processing it did, so a webhook
# redelivery and the unprocessed sweep can never both process one message (on PostgreSQL the
# second waits for the row, then finds it processed; SQLite writers take turns).
CLAIM_MESSAGE = (update(MESSAGES).where(MESSAGES.c.id == bindparam("b_id"), MESSAGES.c.status == "received")
                 .values(status="processed", updated_at=bindparam("at")).returning(MESSAGES.c.id))
INBOUND_COLUMNS = ("participant_id", "contact_id", "direction", "channel", "kind", "body", "num_media",
                   "provider_sid", "status", "error_code", "created_at", "updated_at")


def _store_known_in_one():
    """PostgreSQL: a text from a known address stored in one statement, which is its own
    transaction (`Database.single`: no BEGIN and no COMMIT round trip). The contact locked as the
    touch's UPDATE locked it (FOR NO KEY UPDATE), `INSERT ... ON CONFLICT (provider_sid) DO
    NOTHING` (still the redelivery check: no message id back), then, only when the insert wrote
    a row, the contact's touch and the check-in it answers (db/checkins.py), as data-modifying
    CTEs: a redelivery writes nothing, so nothing needs rolling back. No row back: an unknown
    address (the caller makes the person). SQLite has no DML in a CTE: it runs the three
    statements in a transaction."""
    contact = (select(CONTACTS.c.id, CONTACTS.c.participant_id).where(CONTACTS.c.address == bindparam("b_address"))
               .with_for_update(key_share=True).cte("contact"))
    values = select(contact.c.participant_id, contact.c.id,
                    *(bindparam(f"b_{name}", type_=MESSAGES.c[name].type) for name in INBOUND_COLUMNS[2:-2]),
                    bindparam("b_now", type_=MESSAGES.c.created_at.type),
                    bindparam("b_now", type_=MESSAGES.c.updated_at.type))
    stored = (postgresql.insert(MESSAGES).from_select(list(INBOUND_COLUMNS), values)
              .on_conflict_do_nothing(index_elements=["provider_sid"])
              .returning(MESSAGES.c.id).cte("stored"))
    wrote = exists(select(stored.c.id))
    touched = (update(CONTACTS).where(CONTACTS.c.id == select(contact.c.id).scalar_subquery(), wrote)
               .values(last_inbound_at=bindparam("at_contact")).cte("touched"))
    answered = checkins.mark_statement(select(contact.c.participant_id).where(wrote)
                                       .scalar_subquery()).cte("answered")
    return (select(contact.c.id, contact.c.participant_id, stored.c.id.label("message_id"))
            .select_from(contact.outerjoin(stored, true())).add_cte(touched).add_cte(answered))


STORE_KNOWN = Raw(_store_known_in_one())
RAW_TOUCH_CONTACT, RAW_CLAIM_MESSAGE = Raw(TOUCH_CONTACT), Raw(CLAIM_MESSAGE)
RAW_INSERT_INBOUND = {d: Raw(insert_unless_exists(d, MESSAGES, "provider_sid", MESSAGES.c.id),
                             keys=INBOUND_COLUMNS) for d in ("sqlite", "postgresql")}


def _after_lock(claim: bool = False, person: bool = False):
    """What processing reads once the person is locked, in one statement: the ticket
    `reopen_on_inbound` needs (open, or resolved within its window) and the active conversation,
    each a one-row derived table outer-joined to one row, so either may be missing. Read after
    the lock, as its own statement, so it sees the person's previous message fully applied. With
    `claim` (PostgreSQL), CLAIM_MESSAGE runs in it too, as a data-modifying CTE: `claimed` is
    the message id, or None when another delivery processed it. With `person` (SQLite, where
    the writer's turn and BEGIN IMMEDIATE are the lock, taken before any statement), the
    person's row too, its columns named `p_<column>`."""
    one = select(literal(1).label("one")).subquery("one")
    ticket = tickets.OPEN_OR_REOPENABLE.subquery("ticket")
    convo = ACTIVE_CONVERSATION.subquery("convo")
    columns = [ticket.c.id.label("t_id"), ticket.c.status.label("t_status"),
               ticket.c.snoozed_until.label("t_snoozed_until"), *convo.c]
    joined = one.outerjoin(ticket, true()).outerjoin(convo, true())
    if claim:
        claimed = CLAIM_MESSAGE.cte("claimed")
        columns.insert(0, select(claimed.c.id).scalar_subquery().label("claimed"))
    if person:
        who = select(PARTICIPANTS).where(PARTICIPANTS.c.id == bindparam("pid")).subquery("person")
        columns += [c.label(f"p_{c.name}") for c in who.c]
        joined = joined.outerjoin(who, true())
    return select(*columns).select_from(joined)


AFTER_LOCK, CLAIM_AFTER_LOCK = Raw(_after_lock()), Raw(_after_lock(claim=True))
PERSON_AFTER_LOCK = Raw(_after_lock(person=True))
PERSON_COLUMNS = tuple(c.name for c in PARTICIPANTS.c)
RAW_ACTIVE_CONVERSATION = Raw(ACTIVE_CONVERSATION)
MAX_BODY = 1600   # Twilio's own maximum for one message; longer bodies are kept cut, with a note
TRUNCATED = "truncated"


def _first_word(name: str | None) -> str | None:
    words = (name or "").split()
    return words[0] if words else None


def _conversation(row: dict) -> Record | None:
    """The active conversation from AFTER_LOCK's row, if the person has one."""
    return Record(CONVERSATIONS, {name: row[name] for name in CONVERSATION_COLUMNS}) if row["id"] is not None else None


class PersonRecord(Record):
    """The participants row on the hot path (what `Participant` offers that the core reads)."""
    __slots__ = ()

    @property
    def opted_out(self) -> bool:
        return self.opted_out_at is not None


@dataclass(frozen=True)
class TicketFound:
    """OPEN_OR_REOPENABLE's row, as AFTER_LOCK read it."""
    id: int
    status: str
    snoozed_until: datetime | None


@dataclass(frozen=True)
class Inbound:
    channel: str          # sms | whatsapp | webchat
    address: str          # channel-qualified: "sms:+1...", "whatsapp:+1...", "webchat:<id>"
    body: str
    provider_sid: str | None = None
    num_media: int = 0
    flood_keys: tuple[str, ...] = ()  # web chat: where a safety hit came from, to fold a flood (bot/escalations.py)
    cut: int = 0                      # characters beyond MAX_BODY that were not kept

    def __post_init__(self):
        channels.get(self.channel)      # an unknown channel is a bug in its adapter: say so at once
        # A NUL character, which PostgreSQL text cannot hold (the insert would fail and the words
        # be lost), is kept as U+FFFD on both databases.
        body = self.body.replace("\x00", "\ufffd")
        if len(body) > MAX_BODY:
            object.__setattr__(self, "cut", self.cut + len(body) - MAX_BODY)
            body = body[:MAX_BODY]
        object.__setattr__(self, "body", body)


@dataclass(frozen=True)
class Stored:
    """Where an inbound message was written, and what the store learned on the way."""
    message_id: int
    participant_id: int
    contact_id: int | None
    channel: str
    first_contact: bool
    duplicate: bool = False
    status: str = "received"


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
        self._facts: tuple[float, dict, bool, dict[int, str], Staffing] | None = None
        self._insert_inbound = insert_unless_exists(db.engine.dialect.name, MESSAGES, "provider_sid", MESSAGES.c.id)
        self._raw_insert_inbound = RAW_INSERT_INBOUND[db.engine.dialect.name]
        self._store_known = STORE_KNOWN if db.engine.dialect.name == "postgresql" else None
        self._claim_after_lock = db.engine.dialect.name == "postgresql"   # SQLite: no DML in a CTE
        self._ahead = db.is_sqlite      # decide before the writer's turn (_decided_ahead)

    # -- persistence first -------------------------------------------------------------
    def store(self, inbound: Inbound, now: datetime) -> Stored:
        """Write the inbound message (creating the person on first contact) in one transaction
        that is also the redelivery check: the insert does nothing when the MessageSid is already
        stored (on PostgreSQL it waits for a concurrent delivery of the same sid to commit)."""
        values = dict(direction="in", channel=inbound.channel, kind="person", body=inbound.body,
                      num_media=inbound.num_media, provider_sid=inbound.provider_sid, status="received",
                      error_code=TRUNCATED if inbound.cut else None, created_at=now, updated_at=now)
        if (stored := self._store_known_address(inbound, now, values)) is not None:
            return stored
        try:
            with self.db.session(write=True) as s:
                conn = s.connection()
                known = conn.execute(TOUCH_CONTACT, {"b_address": inbound.address, "at_contact": now}).first()
                if known is not None:
                    contact_id, participant_id, first = known.id, known.participant_id, False
                else:
                    contact, first = self._new_contact(s, inbound, now)
                    contact_id, participant_id = contact.id, contact.participant_id
                message_id = conn.execute(self._insert_inbound, dict(
                    participant_id=participant_id, contact_id=contact_id, reply_to_id=None, author_id=None,
                    **values)).scalar()
                if message_id is not None and not first:   # the check-in this text answers (the report counts it)
                    checkins.mark_answered(conn, participant_id, now)
                return self._stored(s, inbound, message_id, participant_id, contact_id, first)
        except IntegrityError:
            # A concurrent first message from the same new address created the contact first.
            if inbound.provider_sid and (seen := self._stored_as(inbound)) is not None:
                return seen
            return self.store(inbound, now)

    def _store_known_address(self, inbound: Inbound, now: datetime, values: dict) -> Stored | None:
        """A known address's text, in a transaction of its own on the connection, no ORM session
        (nothing here needs one). PostgreSQL: STORE_KNOWN, one statement; SQLite: the touch, the
        insert and the check-in mark. None: an unknown address, nothing written; the caller makes
        the person (and touches the contact again, in case a concurrent first text just made it)."""
        if self._store_known is not None:
            with self.db.single() as conn:     # one statement, its own transaction
                known = self._store_known.first(conn, b_address=inbound.address, at_contact=now, b_now=now,
                                                **{f"b_{k}": values[k] for k in INBOUND_COLUMNS[2:-2]},
                                                **checkins.answered_params(now))
            message_id = known["message_id"] if known is not None else None
        else:
            with self.db.transaction(write=True) as conn:
                known = RAW_TOUCH_CONTACT.first(conn, b_address=inbound.address, at_contact=now)
                message_id = None
                if known is not None:
                    message_id = self._raw_insert_inbound.first(conn, participant_id=known["participant_id"],
                                                                contact_id=known["id"], **values)
                    message_id = message_id["id"] if message_id is not None else None
                    if message_id is not None:   # the check-in this text answers (the report counts it)
                        checkins.mark_answered(conn, known["participant_id"], now)
                if known is None or message_id is None:
                    conn.rollback()     # a redelivery: leave the contact as it was
        if known is None:
            return None
        if message_id is None:
            return self._stored_as(inbound)
        return self._stored(None, inbound, message_id, known["participant_id"], known["id"], False)

    def _stored(self, s: Session | None, inbound: Inbound, message_id: int | None, participant_id: int,
                contact_id: int | None, first: bool) -> Stored:
        if message_id is None:
            s.rollback()    # a redelivery: leave the contact as it was
            return self._stored_as(inbound)
        if inbound.cut:
            logs.event(log, "inbound body truncated", logging.WARNING, message_id=message_id,
                       kept=MAX_BODY, dropped=inbound.cut)
        return Stored(message_id, participant_id, contact_id, inbound.channel, first)

    def _stored_as(self, inbound: Inbound) -> Stored | None:
        with self.db.session() as s:
            row = s.connection().execute(
                select(MESSAGES.c.id, MESSAGES.c.participant_id, MESSAGES.c.contact_id, MESSAGES.c.channel,
                       MESSAGES.c.status)
                .where(MESSAGES.c.provider_sid == inbound.provider_sid)).first()
        return (Stored(row.id, row.participant_id, row.contact_id, row.channel, False, duplicate=True,
                       status=row.status) if row else None)

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
            if stored.duplicate and stored.status != "received":
                return InboundResult(self.replies_to(stored.message_id), stored.message_id,
                                     stored.participant_id, duplicate=True)
            if stored.duplicate:
                # Stored but never processed (the process that stored it died): this redelivery
                # processes it, from the words as stored.
                inbound, stored = self._unprocessed(stored.message_id)
                logs.event(log, "redelivery of an unprocessed message", message_id=stored.message_id)
            return self._run(inbound, stored, now)

    def _run(self, inbound: Inbound, stored: Stored, now: datetime, via_outbox: bool = False) -> InboundResult:
        try:
            done = self.process(inbound, stored, now, via_outbox=via_outbox)
        except Exception:
            logs.event(log, "processing failed", logging.ERROR, message_id=stored.message_id,
                       participant_id=stored.participant_id, exc_info=True)
            return InboundResult(self.mark_failed(stored.message_id, now, via_outbox), stored.message_id,
                                 stored.participant_id, failed=True)
        if done is None:    # processed meanwhile by a concurrent delivery or the sweep
            return InboundResult(self.replies_to(stored.message_id), stored.message_id,
                                 stored.participant_id, duplicate=True)
        replies, effects = done
        return InboundResult(replies, stored.message_id, stored.participant_id, effects=effects)

    def process_stored(self, message_id: int, now: datetime) -> InboundResult:
        """Process a message that was stored but never processed (the unprocessed sweep). There is
        no webhook answer to carry the replies, so they go out through the outbox (SMS, WhatsApp)
        or wait on the chat page (web chat)."""
        with self.db.pinned():
            inbound, stored = self._unprocessed(message_id)
            return self._run(inbound, stored, now, via_outbox=stored.channel != "webchat")

    def _unprocessed(self, message_id: int) -> tuple[Inbound, Stored]:
        """The stored message as the core sees it. First contact: the person has no earlier message."""
        with self.db.session() as s:
            conn = s.connection()
            row = conn.execute(select(MESSAGES, CONTACTS.c.address)
                               .join(CONTACTS, CONTACTS.c.id == MESSAGES.c.contact_id, isouter=True)
                               .where(MESSAGES.c.id == message_id)).one()
            earlier = conn.execute(select(MESSAGES.c.id).where(
                MESSAGES.c.participant_id == row.participant_id, MESSAGES.c.direction == "in",
                MESSAGES.c.id < message_id).limit(1)).first()
        inbound = Inbound(row.channel, row.address or "", row.body, row.provider_sid, row.num_media)
        return inbound, Stored(row.id, row.participant_id, row.contact_id, row.channel, earlier is None,
                               status=row.status)

    def replies_to(self, message_id: int) -> list[str]:
        """The replies a webhook answered with; replies that went out through the outbox are not
        repeated (a redelivery after the sweep must not text them twice)."""
        with self.db.session() as s:
            return list(s.scalars(select(Message.body).where(Message.reply_to_id == message_id,
                                                             Message.kind == "bot", Message.status == "replied")
                                  .order_by(Message.id)))

    def process(self, inbound: Inbound, stored: Stored, now: datetime,
                via_outbox: bool = False) -> tuple[list[str], tuple] | None:
        """Lock the person, claim the message, decide, apply; None when it was already processed.
        The words come from `inbound` (already stored as `stored`), so nothing is read back; the
        person and the conversation are Records, each written back as one UPDATE of what changed."""
        ahead = self._decided_ahead(inbound, stored, now) if self._ahead else None
        with self.db.work(write=True, opening=self._opening(stored, now)) as s:   # no ORM session unless needed
            conn = s.connection()
            person, row = self._opened(s.opened)
            if row is None:   # processed meanwhile by another delivery
                return None
            # The decision made before the lock stands when what it was made from is what the
            # lock now reads (nothing of the person's changed meanwhile); else decide again.
            outcome = ahead[1] if ahead is not None and ahead[0] == s.opened[-1] else None
            seen = {person.id}
            while person.status == "merged" and person.merged_into_id not in (None, *seen):
                seen.add(person.merged_into_id)                  # merged since the store
                person = self._lock_person(s, person.merged_into_id)
            if person.id != stored.participant_id:   # what was read was the merged record's
                row = AFTER_LOCK.first(conn, pid=person.id, since=tickets.reopen_since(now))
            person.last_inbound_at = now
            if channels.get(stored.channel).has_window:
                release_held(s, person.id, now)   # their message reopens the window (WhatsApp's 24 hours)
            tickets.reopen_on_inbound(s, person, now, stored.message_id, tz=self.program.timezone,
                                      found=TicketFound(row["t_id"], row["t_status"], row["t_snoozed_until"])
                                      if row["t_id"] is not None else None)
            convo = _conversation(row)
            if outcome is None:
                outcome = self._decide(s, inbound, stored, person, convo, now)
            replies = self.apply(s, person, stored.contact_id, convo, outcome, now, reply_to=stored,
                                 via_outbox=via_outbox, fold_by=inbound.flood_keys, last=True)
            # The text's one log line (the webhook adds none for a text processed here).
            logs.event(log, "inbound processed", message_id=stored.message_id, participant_id=person.id,
                       channel=stored.channel, sid=inbound.provider_sid, address=logs.mask_address(inbound.address),
                       replies=len(replies), effects=[type(e).__name__ for e in outcome.effects])
            return replies, outcome.effects

    def _decide(self, s, inbound: Inbound, stored: Stored, person: PersonRecord, convo: Record | None,
                now: datetime) -> Outcome:
        """The core's step for this text, from what was read of the person and their conversation."""
        services = self.services_for(s, person, now, channel=stored.channel)
        return conversation.decide(
            inbound.body, inbound.num_media,
            conversation.Person(opted_out=person.opted_out, lang=person.language, new=stored.first_contact),
            convo.state if convo else None, now, services, flows=self.flows_for(s, convo))

    def _decided_ahead(self, inbound: Inbound, stored: Stored, now: datetime) -> tuple[dict, Outcome] | None:
        """SQLite: the decision made before the writer's turn, from a read of the same row the
        turn starts with (PERSON_AFTER_LOCK). SQLite has one writer at a time, and the core's
        step is most of what a text's turn held the lock for (docs/benchmarks.md): made here,
        other texts' writes go on meanwhile. Kept only if the turn reads the very same row
        (`process`), so the outcome is what deciding under the lock would have given. None when
        there is nothing to gain (a merged record) or anything goes wrong: the turn decides."""
        try:
            with self.db.work() as s:
                row = PERSON_AFTER_LOCK.first(s.connection(), pid=stored.participant_id,
                                              since=tickets.reopen_since(now))
                person = PersonRecord(PARTICIPANTS, {name: row[f"p_{name}"] for name in PERSON_COLUMNS})
                if person.status == "merged":
                    return None
                return row, self._decide(s, inbound, stored, person, _conversation(row), now)
        except Exception as exc:   # noqa: BLE001 - the turn decides again, and handles what fails there
            logs.event(log, "deciding before the lock failed; deciding under it", logging.DEBUG,
                       message_id=stored.message_id, error=type(exc).__name__)
            return None

    def mark_failed(self, message_id: int, now: datetime, via_outbox: bool = False) -> list[str]:
        with self.db.session(write=True) as s:
            claimed = s.execute(update(Message).where(Message.id == message_id, Message.status == "received")
                                .values(status="failed", updated_at=now).returning(Message.id)).first()
            if claimed is None:     # processed (or failed) meanwhile by another delivery
                return self.replies_to(message_id)
            msg = s.get(Message, message_id)
            person = s.get(Participant, msg.participant_id)
            open_escalation(s, person, "processing_failed", "high",
                            "A message could not be processed automatically; please read it.", now, msg.id,
                            tz=self.program.timezone)
            text = messages.text("fallback", person.language, program=self.program.name)
            reply = dict(participant_id=person.id, contact_id=msg.contact_id, direction="out",
                         channel=msg.channel, kind="bot", body=text, status="replied",
                         reply_to_id=msg.id, created_at=now, updated_at=now)
            if via_outbox:
                effects_apply.queue_replies(s, person.id, [reply], now)
            else:
                s.add(Message(**reply))
            return [text]

    def _opening(self, stored: Stored, now: datetime) -> tuple:
        """The statements processing starts with, in order. PostgreSQL: lock the person, then
        claim the message and read what follows the lock (two statements, one round trip:
        `Database.work`). SQLite, already holding the write lock: claim, then read the person
        with the rest."""
        pid, since, claim = stored.participant_id, tickets.reopen_since(now), {"b_id": stored.message_id, "at": now}
        if self._claim_after_lock:
            return ((LOCK_PERSON, {"id": pid}), (CLAIM_AFTER_LOCK, {"pid": pid, "since": since, **claim}))
        return ((RAW_CLAIM_MESSAGE, claim), (PERSON_AFTER_LOCK, {"pid": pid, "since": since}))

    def _opened(self, rows: list[dict | None]) -> tuple[PersonRecord, dict | None]:
        """The person and AFTER_LOCK's row from `_opening`'s rows; no row: the message was
        claimed by another delivery."""
        if self._claim_after_lock:
            person, row = rows
            return PersonRecord(PARTICIPANTS, person), (row if row["claimed"] is not None else None)
        claimed, row = rows
        return (PersonRecord(PARTICIPANTS, {name: row[f"p_{name}"] for name in PERSON_COLUMNS}),
                row if claimed is not None else None)

    # -- helpers ---------------------------------------------------------------------------
    @staticmethod
    def _lock_person(s: Session, participant_id: int) -> PersonRecord:
        """Serialise messages from one person (PostgreSQL row lock; SQLite serialises writers).
        Read what depends on the person's previous message (their conversation) only after this."""
        return records.load(s.connection(), PARTICIPANTS, LOCK_PERSON, PersonRecord, id=participant_id)

    @staticmethod
    def _active_conversation(s: Session, participant_id: int) -> Record | None:
        return records.load(s.connection(), CONVERSATIONS, RAW_ACTIVE_CONVERSATION, pid=participant_id)

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
        if cached is None or time.monotonic() - cached[0] >= self.FACTS_SECONDS:
            cached = self._read_facts(s, now)
        return cached[1], cached[2], cached[3]

    def staffing(self, s: Session, now: datetime) -> Staffing:
        """The SLA minutes and active peers a ticket opened now needs, read with the facts."""
        cached = self._facts
        if cached is None or time.monotonic() - cached[0] >= self.FACTS_SECONDS:
            cached = self._read_facts(s, now)
        return cached[4]

    def _read_facts(self, s: Session, now: datetime):
        settings = dict(s.execute(select(Setting.key, Setting.value)
                                  .where(Setting.key.in_(("program_name", "coverage_hours", "sla_minutes")))).all())
        peers = list(s.scalars(select(User).where(User.active.is_(True), User.role == "peer")))
        on_duty = any(on_shift(u, now, self.program.timezone) for u in peers)
        names = {u.id: _first_word(u.name) for u in peers}
        from_shifts = hours.coverage(u.shift for u in peers)
        if from_shifts:    # what people are told is when peers really work, not a second setting
            settings["coverage_hours"] = from_shifts
        staffing = Staffing({**DEFAULT_SLA_MINUTES, **(settings.pop("sla_minutes", None) or {})},
                            tuple(sorted((u.id, u.capacity, u.shift) for u in peers)))
        self._facts = (time.monotonic(), settings, on_duty, names, staffing)
        return self._facts

    def services_for(self, s: Session, person: Participant | PersonRecord, now: datetime,
                     channel: str = "sms") -> BoundServices:
        settings, on_duty, peer_names = self._program_facts(s, now)
        peer_name = None
        if person.assigned_peer_id is not None:
            peer_name = peer_names.get(person.assigned_peer_id)
            if peer_name is None:   # an inactive peer still has a name
                peer_name = _first_word(s.scalar(select(User.name).where(User.id == person.assigned_peer_id)))
        ctx = Context(lang=person.language, fields=dict(person.fields or {}, first_name=person.first_name,
                                                         release_date=person.release_date.isoformat()
                                                         if person.release_date else None),
                      program_name=settings.get("program_name") or self.program.name,
                      coverage={**Context().coverage, **(settings.get("coverage_hours") or {})},
                      peer_name=peer_name,
                      peer_on_duty=on_duty,
                      timezone=person.timezone or self.program.timezone, channel=channel)
        return BoundServices(ctx, self.locator, now)

    def apply(self, s: Session, person: PersonRecord, contact_id: int | None, convo: Record | None,
              outcome: Outcome, now: datetime, reply_to: Stored | None = None,
              via_outbox: bool = False, fold_by: tuple[str, ...] = (), last: bool = False) -> list[str]:
        """Carry out the core's effects (bot/apply.py, one handler per effect type), then write
        the state the core returned, the person and the conversation. Returns the replies.
        `via_outbox`: a late reply to an inbound message (the unprocessed sweep), stored in the
        thread and sent through the outbox. `fold_by`: where a web chat safety hit came from; repeated
        hits from there within a short window join one ticket (bot/escalations.py). `last`: `s` is
        a `Database.work` unit and nothing runs on it after this, so its COMMIT may go with the writes."""
        turn = effects_apply.run(effects_apply.Turn(s, person, convo, now, self.program.timezone,
                                                    contact_id, reply_to, schedule=self.schedule,
                                                    via_outbox=via_outbox, fold_by=fold_by,
                                                    staffing=self.staffing(s, now) if reply_to is not None else None),
                                 outcome.effects, write_replies=False)
        conn = s.connection()
        ends = s if last and not turn.replan else None
        with self.db.batch(conn, last=ends):   # writes that return nothing: one round trip on PostgreSQL
            effects_apply.store_rows(turn)
            self.save_state(s, person, convo, outcome.state, now, timer=turn.timer)
            person.save(conn)
            if convo is not None:
                convo.save(conn)
        if turn.replan and self.schedule is not None:
            participants.replan(s, person, self.schedule(), now)
        return turn.replies

    def save_state(self, s: Session, person: Participant | PersonRecord, convo: Record | None,
                   state: dict | None, now: datetime, timer=effects_apply.KEEP) -> None:
        """The state the core returned is the truth: update the running conversation (the caller
        saves the record), or close it and open the one the core started. `timer` is what the
        ScheduleTimeout/CancelTimeout effects left (KEEP: the running conversation's stays)."""
        same = (convo is not None and state is not None and convo.status == "active"
                and convo.flow == state.get("flow") and convo.state.get("started_at") == state.get("started_at"))
        if convo is not None and convo.status == "active" and not same:
            convo.status, convo.outcome = "ended", convo.outcome or ("completed" if state is None else "interrupted")
            convo.timeout_at, convo.updated_at = None, now
        if state is None:
            return
        if timer is effects_apply.KEEP:
            timeout_at = convo.timeout_at if same else None
        else:
            timeout_at = timer
        expires_at = datetime.fromisoformat(state["expires_at"]) if state.get("expires_at") else None
        if same:
            convo.state, convo.timeout_at, convo.expires_at, convo.updated_at = state, timeout_at, expires_at, now
        else:
            NEW_CONVERSATION.execute(
                s.connection(), participant_id=person.id, flow=state["flow"], flow_version=state["version"],
                state=state, status="active", outcome=None, timeout_at=timeout_at, expires_at=expires_at,
                started_at=now, updated_at=now)

    def await_checkin(self, s: Session, person: Participant, now: datetime, flow: str = "checkin") -> None:
        """A nudge just asked "how are you, 1-5": the person's answer belongs to the check-in
        flow. Start it silently at its first question (the nudge was the question), without a
        reminder timer: silence after nudges is the no-contact sweep's business. A conversation
        already running is left alone."""
        self.await_checkins(s, [person], now, flow)

    def await_checkins(self, s: Session, people, now: datetime, flow: str = "checkin") -> None:
        """await_checkin for a batch the dispatcher just sent: one read for who already has a
        conversation running and one insert for the rest, instead of two statements a person."""
        from core import engine
        people = list({p.id: p for p in people}.values())
        if self.flow_store is None or not people:
            return
        definition = self.flow_store.registry(s).get(flow)
        if definition is None:
            return
        busy = set(s.scalars(select(CONVERSATIONS.c.participant_id).where(
            CONVERSATIONS.c.participant_id.in_([p.id for p in people]), CONVERSATIONS.c.status == "active")))
        new = []
        for person in people:
            if person.id in busy:
                continue
            state = engine.start(definition, now, self.services_for(s, person, now)).state
            if state and state.get("waiting"):
                state = {**state, "timeout_at": None}
                expires_at = datetime.fromisoformat(state["expires_at"]) if state.get("expires_at") else None
                new.append(dict(participant_id=person.id, flow=state["flow"], flow_version=state["version"],
                                state=state, status="active", outcome=None, timeout_at=None,
                                expires_at=expires_at, started_at=now, updated_at=now))
        if not new:
            return
        conn = s.connection()
        if conn.dialect.name == "postgresql":
            conn.execute(NEW_CHECKINS_PG, {"now": now, "rows": [
                {**{c: v[c] for c in _CHECKIN_COLUMNS}, "expires_at": _naive_utc(v["expires_at"])} for v in new]})
        else:
            conn.execute(insert(CONVERSATIONS), new)

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
                convo.timeout_at = None     # this timer has fired; a reminder arms the next
                flows = self.flows_for(s, convo)
                services = self.services_for(s, person, now)
                outcome = engine.follow(engine.timeout(flows.current, convo.state, now, services),
                                        flows.registry.get, now, services)
                self.apply(s, person, None, convo, outcome, now)
        return len(due)
