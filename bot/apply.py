"""The one effect interpreter: one handler per effect type, carrying out what the core decided.

bot/runtime.py calls `run` inside the person's locked transaction, for an inbound text and for
a timer that fired. Each effect type in core/effects.py has exactly one handler here
(tests/unit/test_effects.py checks); a new effect means one handler here and one describer in
core/describe.py. Nothing is skipped silently: the timer effects set the conversation's timer
(the column the sweep reads), and StartFlow, already followed by the core, is logged as a trace.

Hot path: Core statements only (db/records.py); no statement adds a query of its own beyond
what the effect is (a ticket, an event row, the opt-out updates).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Callable
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import insert
from sqlalchemy.orm import Session

import logs
from bot import participants
from bot.escalations import Staffing, fold_escalation, open_escalation, open_escalation_now
from core import channels
from core.effects import (ALL, CancelTimeout, EndConversation, Escalate, OptIn, OptOut, RecordEvent,
                          Reply, ScheduleTimeout, SetField, SetLanguage, StartFlow)
from db.models import Event, Message, ScheduledMessage
from db.raw import Raw
from db.records import Record

log = logging.getLogger("homeward.apply")

PARTICIPANT_COLUMNS = {"first_name", "checkin_time", "risk_tier", "discreet"}
MESSAGES, EVENTS = Message.__table__, Event.__table__
# No ids back: these go in the runtime's write batch (db.session.Database.batch), straight to
# the driver (db/raw.py). The columns are the ones `_reply` and `_record` fill.
REPLY_COLUMNS = ("participant_id", "contact_id", "direction", "channel", "kind", "body", "status", "reply_to_id",
                 "created_at", "updated_at")
STORE_REPLIES = Raw(insert(MESSAGES), keys=REPLY_COLUMNS)
STORE_EVENTS = Raw(insert(EVENTS), keys=("participant_id", "name", "data", "created_at"))
KEEP = object()    # Turn.timer when no effect touched the conversation's timer


@dataclass
class Turn:
    """One application of the core's effects: the person and conversation being changed, and
    what the effects leave for the runtime to write (replies, the timer, a replan)."""
    s: Session
    person: Any                 # bot.runtime.PersonRecord, or a Participant off the hot path
    convo: Record | None
    now: datetime
    tz: str                     # the program's time zone (ticket SLA)
    contact_id: int | None = None
    reply_to: Any = None        # bot.runtime.Stored of the inbound text; None when a timer fired
    replies: list[str] = field(default_factory=list)
    stored_replies: list[dict] = field(default_factory=list)
    events: list[dict] = field(default_factory=list)          # RecordEvent rows, stored with the replies
    ended: bool = False
    replan: bool = False
    timer: Any = KEEP           # datetime | None once ScheduleTimeout/CancelTimeout/EndConversation ran
    schedule: Callable[[], Any] | None = None   # the nudge schedule in force, read only when needed
    via_outbox: bool = False    # a late answer (the unprocessed sweep): replies go out through the outbox
    fold_by: tuple[str, ...] = ()   # where a web chat safety hit came from (flood folding)
    staffing: Staffing | None = None    # the runtime's cached SLA and peers: tickets opened without the ORM

    def nudges(self):
        return self.schedule() if self.schedule is not None else None

    @property
    def channel(self) -> str:
        return self.reply_to.channel if self.reply_to is not None else channels.SMS.name


HANDLERS: dict[type, Callable[[Turn, Any], None]] = {}


def handles(effect_type: type):
    def register(fn):
        assert effect_type not in HANDLERS, f"two handlers for {effect_type.__name__}"
        HANDLERS[effect_type] = fn
        return fn
    return register


def run(turn: Turn, effects, write_replies: bool = True) -> Turn:
    """Apply `effects` in order; an effect with no handler is a bug, never skipped.
    `write_replies=False`: the caller stores the replies (`store_replies`) with its own writes."""
    for effect in effects:
        handler = HANDLERS.get(type(effect))
        if handler is None:
            raise ValueError(f"unknown effect {type(effect).__name__}")
        handler(turn, effect)
    if turn.via_outbox:
        queue_replies(turn.s, turn.person.id, turn.stored_replies, turn.now)
        turn.stored_replies = []
    if write_replies:
        store_rows(turn)
    return turn


def store_rows(turn: Turn) -> None:
    """The rows the effects left, each an INSERT that returns nothing, so the runtime sends them
    in its write batch: the replies to an inbound text, stored in the thread, and the events."""
    conn = turn.s.connection()
    if turn.stored_replies:
        STORE_REPLIES.executemany(conn, turn.stored_replies)
    if turn.events:
        STORE_EVENTS.executemany(conn, turn.events)
    turn.stored_replies, turn.events = [], []


def queue_replies(s: Session, participant_id: int, rows: list[dict], now: datetime) -> None:
    """Replies stored in the thread as "queued" and handed to the outbox, which sends that very
    row (quiet hours do not hold them back: the person wrote first)."""
    conn = s.connection()
    for i, row in enumerate(rows):
        message_id = conn.execute(insert(MESSAGES).returning(MESSAGES.c.id), {**row, "status": "queued"}).scalar()
        s.add(ScheduledMessage(participant_id=participant_id, kind="reply", body=row["body"], due_at=now,
                               dedupe_key=f"reply:{row['reply_to_id']}:{i}", message_id=message_id,
                               quiet_ok=True, created_at=now, updated_at=now))


@handles(Reply)
def _reply(turn: Turn, e: Reply) -> None:
    """An answer to an inbound text goes back with it (TwiML, the chat page) and is stored for
    the thread; a reply with no inbound text (a timer fired) goes to the outbox, where opt-out
    and quiet hours are checked again."""
    if turn.reply_to is None:
        turn.s.add(ScheduledMessage(participant_id=turn.person.id, kind="reply", body=e.text, due_at=turn.now,
                                    dedupe_key=f"reply:{turn.now.isoformat()}:{len(turn.replies)}",
                                    created_at=turn.now, updated_at=turn.now))
    else:
        turn.stored_replies.append(dict(
            participant_id=turn.person.id, contact_id=turn.contact_id, direction="out", channel=turn.channel,
            kind="bot", body=e.text, status="replied", reply_to_id=turn.reply_to.message_id,
            created_at=turn.now, updated_at=turn.now))
    turn.replies.append(e.text)


@handles(Escalate)
def _escalate(turn: Turn, e: Escalate) -> None:
    if turn.fold_by:
        fold_escalation(turn.s, turn.fold_by, turn.person, e.reason, e.priority, e.note, turn.now,
                        turn.reply_to.message_id if turn.reply_to is not None else None, tz=turn.tz)
        return
    message_id = turn.reply_to.message_id if turn.reply_to is not None else None
    if turn.staffing is not None and open_escalation_now(turn.s.connection(), turn.staffing, turn.person, e.reason,
                                                         e.priority, e.note, turn.now, message_id,
                                                         tz=turn.tz) is not None:
        return
    open_escalation(turn.s, turn.person, e.reason, e.priority, e.note, turn.now, message_id, tz=turn.tz)


@handles(SetField)
def _set_field(turn: Turn, e: SetField) -> None:
    person = turn.person
    if e.name == "consent":
        person.fields = {**(person.fields or {}), "consent": e.value}
        if e.value is True:
            participants.consent(turn.s, person, turn.now, turn.nudges(), turn.channel)
        return
    if e.name == "timezone":
        try:
            ZoneInfo(str(e.value))
        except (ValueError, KeyError, ZoneInfoNotFoundError):
            return                          # never a zone we cannot plan in
        person.timezone = e.value
        turn.replan = True
        return
    if e.name == "release_date":
        person.release_date = date.fromisoformat(e.value) if e.value else None
        turn.replan = True
        return
    if e.name in PARTICIPANT_COLUMNS:
        setattr(person, e.name, e.value)
    person.fields = {**(person.fields or {}), e.name: e.value}
    turn.replan = turn.replan or e.name == "checkin_time"


@handles(SetLanguage)
def _set_language(turn: Turn, e: SetLanguage) -> None:
    turn.person.language = e.language


@handles(OptOut)
def _opt_out(turn: Turn, e: OptOut) -> None:
    if turn.convo is not None and turn.convo.status == "active":
        turn.convo.outcome = "opted_out"
    participants.opt_out(turn.s, turn.person, turn.now, turn.contact_id)


@handles(OptIn)
def _opt_in(turn: Turn, e: OptIn) -> None:
    participants.opt_in(turn.s, turn.person, turn.now, turn.nudges(), turn.contact_id)


@handles(ScheduleTimeout)
def _schedule_timeout(turn: Turn, e: ScheduleTimeout) -> None:
    """Arm the conversation's timer (run_timeouts wakes it): a new one replaces the old."""
    turn.timer = e.at


@handles(CancelTimeout)
def _cancel_timeout(turn: Turn, e: CancelTimeout) -> None:
    turn.timer = None


@handles(EndConversation)
def _end(turn: Turn, e: EndConversation) -> None:
    convo = turn.convo
    if convo is not None and not turn.ended:
        convo.status, convo.outcome, convo.timeout_at, convo.updated_at = "ended", e.outcome, None, turn.now
    turn.ended, turn.timer = True, None


@handles(RecordEvent)
def _record(turn: Turn, e: RecordEvent) -> None:
    turn.events.append(dict(participant_id=turn.person.id, name=e.name, data=e.data, created_at=turn.now))


@handles(StartFlow)
def _start_flow(turn: Turn, e: StartFlow) -> None:
    """The core already started the next flow (engine.follow) and its effects follow this one;
    the handover is kept as a trace in the log."""
    logs.event(log, "flow handed over", participant_id=turn.person.id, flow=e.flow)


assert set(HANDLERS) == set(ALL), "every effect type needs exactly one handler"
