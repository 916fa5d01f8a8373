"""Claim due outbox rows, re-check, send, record (the shell around core.policy).

Delivery guarantee: at least once, duplicates bounded. A row is claimed in one statement
(PostgreSQL: FOR UPDATE SKIP LOCKED inside the UPDATE; SQLite: one atomic UPDATE ... RETURNING)
with a lease. A batch is worked in chunks (as many rows as the pace lets out in about a second,
at most the claim batch). Before a chunk is sent, one transaction proves the worker still holds
each row (a conditional UPDATE that renews its lease: claimed by it, still claimed), re-checks
them (status, opt-out, quiet hours, staleness, the address) and commits their outbound Messages
as "sending": a worker never sends a row another worker took back, and every send's intent is
committed before it. While the chunk is sent, its rows not yet recorded are renewed once half a
lease has gone by, and so is the rest of the batch. The provider's answers (sids, statuses, rows
sent) are committed in one transaction after each round of sends: every `_record_every` sends,
that is the sender's sends in flight when it has several (twilio: 4), else the whole chunk.

What a duplicate needs, exactly: a worker that dies after the provider accepted a send and
before the answer's commit (its lease expires and the next claim sends the row again), or a
single send that outlasts a whole lease (keep the sender's time-out under the lease). So a
SIGKILL re-sends at most the sends of one round: with twilio at most its 4 in flight (fewer at a
slow pace: at most the pace's rows a second, 1 at a long code); with the sandbox at most one
chunk, min(claim batch, pace per second), 50 with the defaults at a fast pace. Nothing is ever
lost: a row is finished only after the provider's answer is recorded.
"""
from __future__ import annotations

import logging
import math
import os
import socket
import time as _time
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from sqlalchemy import (Integer, String, Text, any_, bindparam, func, insert, literal_column, select,
                        union_all, update)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

import logs
from bot import contacts as contacts_mod
from core import channels, whatsapp
from bot.channels.sender import SendError
from db.queries import mark_unsubscribed
from bot import escalations
from db.models import Contact, Escalation, Message, Participant, ScheduledMessage, StaffText, User
from db.records import Record
from db.session import Database
from db.types import UTCDateTime
from bot.runtime import PersonRecord
from core import policy, staff_texts

log = logging.getLogger("homeward.dispatch")
DISPATCHED_KINDS = ("nudge", "welcome", "closing", "peer", "reply")
MESSAGES, OUTBOX = Message.__table__, ScheduledMessage.__table__
PARTICIPANTS, CONTACTS, USERS = Participant.__table__, Contact.__table__, User.__table__

# A chunk's statements, built once: Core only (no ORM object a row), the same SQL text every
# chunk (so SQLAlchemy's and psycopg's caches and PostgreSQL's prepared statements hold). On
# PostgreSQL a chunk's ids and per-row values are arrays (`= ANY(:ids)`, `unnest(...)`): short
# fixed texts, whatever the chunk's size, each one statement. SQLite, which has no arrays, gets
# expanding IN lists and executemany (its round trips are calls in this process).
_ids = {name: bindparam(name, type_=ARRAY(Integer)) for name in ("ids", "pids", "rids", "mids")}


def _in(column, name: str, pg: bool):
    return column == any_(_ids[name]) if pg else column.in_(bindparam(name, expanding=True))


def _hold_stmt(pg: bool):        # the proof of holding, renewing the lease, and the rows themselves
    return (update(OUTBOX)
            .where(_in(OUTBOX.c.id, "ids", pg), OUTBOX.c.state == "claimed", OUTBOX.c.claimed_by == bindparam("worker"))
            .values(claimed_until=bindparam("until")).returning(*OUTBOX.c))


_CONTACT_COLS = [c.label(f"c_{c.name}") for c in CONTACTS.c]


def _people_stmt(pg: bool):      # the re-check's one read: people, their peers' names, all their addresses
    return (select(PARTICIPANTS, USERS.c.name.label("peer_name"), *_CONTACT_COLS)
            .select_from(PARTICIPANTS.outerjoin(USERS, USERS.c.id == PARTICIPANTS.c.assigned_peer_id)
                         .outerjoin(CONTACTS, CONTACTS.c.participant_id == PARTICIPANTS.c.id))
            .where(_in(PARTICIPANTS.c.id, "pids", pg)))


def _sent_stmt(pg: bool):
    return (update(OUTBOX).where(_in(OUTBOX.c.id, "ids", pg))
            .values(state="sent", claimed_by=None, claimed_until=None, updated_at=bindparam("now")))


HOLD, HOLD_PG = _hold_stmt(False), _hold_stmt(True)
PEOPLE, PEOPLE_PG = _people_stmt(False), _people_stmt(True)
SENT, SENT_PG = _sent_stmt(False), _sent_stmt(True)
LINKED = select(MESSAGES).where(MESSAGES.c.id.in_(bindparam("mids", expanding=True)))
CHOSEN = select(CONTACTS).where(CONTACTS.c.id.in_(bindparam("cids", expanding=True)))
NEW_MESSAGES = insert(MESSAGES).returning(MESSAGES.c.id, sort_by_parameter_order=True)
# PostgreSQL: the chunk's new Messages from arrays, in their order (WITH ORDINALITY ... ORDER BY:
# the ids come from the sequence in that order, so sorted they match the rows, as SQLAlchemy's
# own sort_by_parameter_order relies on); what every new intent shares is written as constants
_NEW_VARYING = {"participant_id": Integer, "contact_id": Integer, "channel": String, "kind": String,
                "body": Text, "author_id": Integer}
_new = (func.unnest(*(bindparam(f"new_{c}", type_=ARRAY(t)) for c, t in _NEW_VARYING.items()))
        .table_valued(*_NEW_VARYING, with_ordinality="n").render_derived("v"))
_now = bindparam("now", type_=UTCDateTime)
NEW_MESSAGES_PG = insert(MESSAGES).from_select(
    [*_NEW_VARYING, "direction", "num_media", "status", "created_at", "updated_at"],
    select(*(_new.c[c] for c in _NEW_VARYING), literal_column("'out'"), literal_column("0"),
           literal_column("'sending'"), _now, _now).order_by(_new.c.n)
).returning(MESSAGES.c.id)
INTENT = (update(OUTBOX).where(OUTBOX.c.id == bindparam("rid"))      # SQLite: executemany, in-process
          .values(attempts=OUTBOX.c.attempts + 1, message_id=bindparam("mid")))
_rids, _mids = _ids["rids"], _ids["mids"]
_intents = func.unnest(_rids, _mids).table_valued("rid", "mid").render_derived("v")
INTENT_PG = (update(OUTBOX)     # PostgreSQL: one statement, two arrays; = ANY keeps it on the primary key
             .where(OUTBOX.c.id == any_(_rids), OUTBOX.c.id == _intents.c.rid)
             .values(attempts=OUTBOX.c.attempts + 1, message_id=_intents.c.mid))
RELEASE = (update(OUTBOX).where(OUTBOX.c.id == bindparam("rid"))
           .values(state=bindparam("state"), claimed_by=None, claimed_until=None, updated_at=bindparam("now"),
                   last_error=func.coalesce(bindparam("reason", type_=String), OUTBOX.c.last_error),
                   due_at=func.coalesce(bindparam("due", type_=UTCDateTime), OUTBOX.c.due_at),
                   message_id=func.coalesce(bindparam("mid", type_=Integer), OUTBOX.c.message_id)))
ANSWERED = (update(MESSAGES).where(MESSAGES.c.id == bindparam("mid"))
            .values(provider_sid=bindparam("sid"), status=bindparam("status"), updated_at=bindparam("now")))
_answers = func.unnest(_mids, bindparam("sids", type_=ARRAY(String)),
                       bindparam("statuses", type_=ARRAY(String))
                       ).table_valued("mid", "sid", "status").render_derived("v")
ANSWERED_PG = (update(MESSAGES).where(MESSAGES.c.id == any_(_mids), MESSAGES.c.id == _answers.c.mid)
               .values(provider_sid=_answers.c.sid, status=_answers.c.status, updated_at=bindparam("now")))


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass
class DispatchConfig:
    worker_id: str
    program_name: str = "Homeward"
    rate_per_second: float = 1.0          # 1 for a long code, 3 toll-free; Messaging Services queue more
    daily_cap: int | None = None
    batch: int = 50
    lease: timedelta = timedelta(minutes=2)
    retry_limit: int = 5
    retry_base: timedelta = timedelta(seconds=30)   # first back-off; doubles per try, with jitter
    retry_cap: timedelta = timedelta(minutes=30)
    program_tz: str = "America/New_York"      # staff shifts are written in it
    send_concurrency: int | None = None       # sends in flight at once; None: what the sender says
    record_every: int | None = None           # answers committed after this many sends (see _record_every)


@dataclass
class PassResult:
    claimed: int = 0
    sent: int = 0
    deferred: int = 0
    skipped: int = 0
    retried: int = 0
    failed: int = 0
    lost_lease: int = 0
    reasons: dict = field(default_factory=dict)


_PENDING, _CLAIMED = literal_column("'pending'"), literal_column("'claimed'")   # literals: the partial index matches


def _claim_stmt(table, pg: bool):
    """The claim of `table` (either outbox), built once per table and engine: fixed SQL text."""
    c, now, limit = table.c, bindparam("now", type_=UTCDateTime), bindparam("limit", type_=Integer)
    expired = select(c.id).where(c.state == _CLAIMED, c.claimed_until < now).order_by(c.due_at, c.id).limit(limit)
    due = select(c.id).where(c.state == _PENDING, c.due_at <= now).order_by(c.due_at, c.id).limit(limit)
    if pg:
        expired, due = expired.with_for_update(skip_locked=True), due.with_for_update(skip_locked=True)
    expired, due = expired.subquery("expired"), due.subquery("due")
    picked = select(union_all(select(expired.c.id), select(due.c.id)).subquery("both").c.id).limit(limit)
    where = c.id == any_(func.array(picked.scalar_subquery())) if pg else c.id.in_(picked.scalar_subquery())
    return (update(table).where(where)
            .values(state="claimed", claimed_by=bindparam("worker"), claimed_until=bindparam("until"),
                    updated_at=now)
            .returning(c.id, c.due_at))


_CLAIMS: dict = {}


def claim(db: Database, worker_id: str, now: datetime, limit: int, lease: timedelta,
          outbox=ScheduledMessage) -> list[int]:
    """Take up to `limit` rows whose lease ran out and then due rows, each branch oldest due
    first. `outbox`: the participants' (ScheduledMessage) or the staff's (StaffText); both hold
    the same columns.

    Two branches, each read from an index in its own order, so a claim reads about the rows it
    takes, not every open row: the expired leases from (state, due_at) (only the rows in flight
    are "claimed"), then the pending and due rows from the partial index on (due_at, id) where
    state = 'pending' (migration 0017), stopping at `limit`. (One OR of the two, ordered by
    (due_at, id), made PostgreSQL read and sort every open row for each claim.) PostgreSQL
    locks each branch's rows FOR UPDATE SKIP LOCKED as it reads them and updates them by
    primary key (= ANY of the ids); SQLite's one UPDATE is atomic under its write lock."""
    table, pg = outbox.__table__, not db.is_sqlite
    stmt = _CLAIMS.get((table.name, pg))
    if stmt is None:
        stmt = _CLAIMS[table.name, pg] = _claim_stmt(table, pg)
    with db.transaction() as conn:
        rows = conn.execute(stmt, {"now": now, "limit": limit, "worker": worker_id, "until": now + lease}).all()
    return [r.id for r in sorted(rows, key=lambda r: (r.due_at, r.id))]


def renew(s: Session, worker_id: str, ids: list[int], now: datetime, lease: timedelta,
          outbox=ScheduledMessage) -> list[int]:
    """Extend this worker's lease on the rows it still holds; returns those ids. One UPDATE whose
    WHERE is the proof of holding, so another worker's claim and this renewal cannot both win."""
    SM = outbox
    if not ids:
        return []
    rows = s.execute(update(SM).where(SM.id.in_(ids), SM.state == "claimed", SM.claimed_by == worker_id)
                     .values(claimed_until=now + lease).returning(SM.id),
                     execution_options={"synchronize_session": False}).all()
    return [r.id for r in rows]


def sent_today(db: Database, now: datetime) -> int:
    start = now.replace(hour=0, minute=0, second=0, microsecond=0)
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(Message)
                        .where(Message.direction == "out", Message.kind.in_(DISPATCHED_KINDS),
                               Message.created_at >= start, Message.provider_sid.is_not(None))) or 0


@dataclass(frozen=True)
class Attempt:
    """What became of one row: the PassResult field, and for the peer who wrote it (a reply
    sent from the inbox is worked at once) how it went out or why not."""
    outcome: str
    template: bool = False          # sent as the approved WhatsApp template (outside the window)
    posted: bool = False            # no carrier: stored for the web chat page
    status: str | None = None       # the provider's status
    error: SendError | None = None


def reachable_contact(contacts: list[Contact]) -> Contact | None:
    """The address the person last wrote from, among those still usable (`contacts`: all of the
    person's, read once for the whole batch)."""
    usable = [c for c in contacts if c.opted_out_at is None and c.invalid_reason is None
              and c.channel in channels.CARRIED]
    return max(usable, key=lambda c: (c.last_inbound_at is not None,
                                      c.last_inbound_at.timestamp() if c.last_inbound_at else 0.0, c.id),
               default=None)


def addressee(row: ScheduledMessage, msg: Message | None, contacts: list[Contact],
              chosen: Contact | None) -> tuple[Contact | None, Contact | None]:
    """(carried contact, web chat contact) for one row, from the person's `contacts` and the
    contact the peer chose (`chosen`, or None). A peer's reply goes to the address the peer
    chose, while it is usable; once held outside WhatsApp's window it goes, like everything
    else, where the person last wrote (their text is what released it); an answer to someone
    with no carried address goes to their web chat."""
    if row.kind == "peer" and msg is not None and msg.contact_id and msg.error_code != whatsapp.HELD_CODE:
        if chosen.opted_out_at is not None or chosen.invalid_reason is not None:
            return None, None
        return (chosen, None) if channels.get(chosen.channel).carrier else (None, chosen)
    contact = reachable_contact(contacts)
    if contact is None and row.kind in ("reply", "peer"):
        return None, min((c for c in contacts if c.channel in channels.UNCARRIED), key=lambda c: c.id, default=None)
    return contact, None


@dataclass
class _Send:
    """A row whose intent ("sending") is committed: what goes out where, then what came back."""
    row_id: int
    message_id: int
    participant_id: int
    kind: str
    address: str
    body: str
    template: object | None
    attempts: int
    seed: int
    person: object = None               # the participants row the re-check read
    sent: object | None = None          # the provider's SendResult
    error: SendError | None = None
    crashed: bool = False
    lost: bool = False                  # another worker took the row back before it was sent


def _release(row: ScheduledMessage, state: str, now: datetime, reason: str | None = None,
             due_at: datetime | None = None) -> None:
    row.state, row.claimed_by, row.claimed_until, row.updated_at = state, None, None, now
    if reason is not None:
        row.last_error = reason
    if due_at is not None:
        row.due_at = due_at


class Dispatcher:
    def __init__(self, db: Database, sender, schedule, cfg: DispatchConfig,
                 clock=lambda: datetime.now(timezone.utc), sleep=_time.sleep, after_nudge=None, tune=None):
        # schedule: the Schedule, or () -> the Schedule in force (a supervisor may edit it);
        # tune: () -> (rate per second, daily cap), read each pass so changes need no restart
        self.schedule = schedule if callable(schedule) else (lambda: schedule)
        self.db, self.sender, self.cfg, self.tune = db, sender, cfg, tune
        self._schedule: policy.Schedule | None = None
        # after_nudge(session, participants, now): a reply to a nudge goes into the check-in flow
        self.after_nudge = after_nudge
        self._executor: ThreadPoolExecutor | None = None
        self._executor_size = 0
        self.clock, self.sleep = clock, sleep
        self.bucket = policy.TokenBucket.full(cfg.rate_per_second, clock())

    def run_pass(self, now: datetime | None = None) -> PassResult:
        """Claim and work one batch. `now` fixed (operator's --now) or the real clock. The pass's
        transactions share one pooled connection: one checkout and liveness ping, not one each."""
        with self.db.pinned():
            return self._run_pass(now)

    def _run_pass(self, now: datetime | None) -> PassResult:
        fixed = now is not None
        start = now or self.clock()
        result = PassResult()
        self._schedule = self.schedule()
        if self.tune is not None:
            rate, self.cfg.daily_cap = self.tune()
            if rate != self.cfg.rate_per_second:
                self.cfg.rate_per_second = rate
                self.bucket = policy.TokenBucket.full(rate, self.clock())
        self._staff_pass(start, fixed, result)   # before the daily cap: it counts texts to people only
        left = (None if self.cfg.daily_cap is None       # no cap: no need to count
                else policy.daily_cap_left(self.cfg.daily_cap, sent_today(self.db, start)))
        limit = self.cfg.batch if left is None else min(self.cfg.batch, left)
        if limit <= 0:
            return result
        ids = claim(self.db, self.cfg.worker_id, start, limit, self.cfg.lease)
        result.claimed = len(ids)
        renewed_at, i = start, 0
        while i < len(ids):
            at = start if fixed else self.clock()
            if at - renewed_at >= self.cfg.lease / 2:      # a slow batch keeps the rows it has left
                with self.db.session(write=True) as s:
                    renew(s, self.cfg.worker_id, ids[i:], at, self.cfg.lease)
                renewed_at = at
            chunk = ids[i:i + self._chunk(fixed)]
            for attempt in self.work_many(chunk, at, paced=not fixed):
                setattr(result, attempt.outcome, getattr(result, attempt.outcome) + 1)
            i += len(chunk)
        return result

    CHUNK_SECONDS = 1.0

    def _chunk(self, fixed: bool) -> int:
        """Rows re-checked and written as "sending" together: as many as the pace lets out in
        about a second, so what was checked (opt-out, quiet hours) is at most that old when it
        is sent; one at a time at a long code's 1 a second, the whole batch when fast or `now`
        is fixed. It also bounds what a crash can send twice (one chunk in flight)."""
        if fixed:
            return self.cfg.batch
        return max(1, min(self.cfg.batch, int(self.cfg.rate_per_second * self.CHUNK_SECONDS)))

    def _staff_pass(self, start: datetime, fixed: bool, result: PassResult) -> None:
        """Texts to staff phones (sweeps.sla_breaches queued them), paced like the rest since
        they leave from the same number. Counted in the pass's figures."""
        ids = claim(self.db, self.cfg.worker_id, start, self.cfg.batch, self.cfg.lease, outbox=StaffText)
        result.claimed += len(ids)
        for row_id in ids:
            if not fixed:
                self._pace()
            at = start if fixed else self.clock()
            try:
                outcome = self.deliver_staff(row_id, at)
            except Exception:   # one bad row must not stall the rest of the pass
                logs.event(log, "staff text crashed", logging.ERROR, staff_text=row_id, exc_info=True)
                outcome = self._staff_done(row_id, at, SendError(True, None, None, "unexpected error"), None)
            setattr(result, outcome, getattr(result, outcome) + 1)

    def deliver_staff(self, row_id: int, now: datetime) -> str:
        """One text to a staff phone. Re-checked first: the ticket must still be urgent, open,
        unanswered and with nobody on it, the supervisor active, on shift and with a number.
        Quiet hours do not apply (docs/operations.md). The text names the reason and the wait,
        never what the person wrote or their number."""
        with self.db.session(write=True) as s:
            row = s.get(StaffText, row_id)
            if row is None or row.state != "claimed" or row.claimed_by != self.cfg.worker_id:
                return "lost_lease"
            ticket, user = s.get(Escalation, row.escalation_id), s.get(User, row.user_id)
            tz = self.cfg.program_tz
            if not escalations.overdue_unclaimed(s, now, escalations.off_shift_ids(s, now, tz), ticket_id=ticket.id):
                _release(row, "skipped", now, "the ticket was taken or answered")
                return "skipped"
            if not (user.active and user.phone and escalations.on_shift(user, now, tz)):
                _release(row, "skipped", now, "no longer on shift with a number")
                return "skipped"
            trigger = s.get(Message, ticket.message_id) if ticket.message_id else None
            body = staff_texts.sla_breach(self.cfg.program_name, ticket.reason,
                                          now - (trigger.created_at if trigger else ticket.created_at))
            address = channels.SMS.address(user.phone)
            row.attempts += 1
            attempts = row.attempts
            if not renew(s, self.cfg.worker_id, [row_id], now, self.cfg.lease, outbox=StaffText):
                s.rollback()
                return "lost_lease"
        try:
            sent = self.sender.send(address, body)
        except SendError as exc:
            return self._staff_done(row_id, now, exc, attempts)
        return self._staff_done(row_id, now, None, attempts, sent.sid)

    def _staff_done(self, row_id: int, now: datetime, exc: SendError | None, attempts: int | None,
                    sid: str | None = None) -> str:
        """Record the provider's answer, or retry with the same back-off as texts to people."""
        with self.db.session() as s:
            row = s.get(StaffText, row_id)
            if row is None or row.state != "claimed" or row.claimed_by != self.cfg.worker_id:
                return "lost_lease"
            if exc is None:
                row.provider_sid = sid
                _release(row, "sent", now, None)
                logs.event(log, "staff text sent", staff_text=row_id, ticket=row.escalation_id)
                return "sent"
            if exc.http_status in (401, 403):   # our credentials, not this text: hold it, spend no try
                row.attempts = max(0, row.attempts - 1)
                _release(row, "pending", now, f"held: twilio rejected our credentials ({exc.http_status})",
                         now + AUTH_PAUSE)
                return "retried"
            if attempts is None:    # crashed before counting the try
                row.attempts += 1
            code = int(exc.code) if exc.code and exc.code.isdigit() else None
            info = policy.ErrorInfo(http_status=exc.http_status, twilio_code=code,
                                    network="timeout" if exc.http_status is None and exc.temporary else None,
                                    message=exc.detail)
            decision = policy.retry_decision(row.attempts, info, now, self.cfg.retry_limit, seed=row.id,
                                             base=self.cfg.retry_base, cap=self.cfg.retry_cap)
            if isinstance(decision, policy.Retry):
                _release(row, "pending", now, f"retry: {decision.reason}", decision.at)
                logs.event(log, "staff text failed, will retry", logging.WARNING, staff_text=row_id)
                return "retried"
            _release(row, "failed", now, decision.reason)
            logs.event(log, "staff text failed for good", logging.WARNING, staff_text=row_id, reason=decision.reason)
            return "failed"

    def _pace(self) -> None:
        while True:
            ok, self.bucket = self.bucket.take(self.clock())
            if ok:
                return
            wait = (self.bucket.ready_at(self.clock()) - self.clock()).total_seconds()
            self.sleep(max(wait, 0.001))

    def work(self, row_id: int, now: datetime) -> Attempt:
        """One claimed row (the inbox sends a peer's reply with it); a crash is counted as a try,
        never raised, so one bad row does not fail the peer's request."""
        return self.work_many([row_id], now)[0]

    def deliver(self, row_id: int, now: datetime) -> str:
        """One row: re-check, write the intent, send, record. Returns the PassResult field."""
        return self.work(row_id, now).outcome

    def work_many(self, ids: list[int], now: datetime, paced: bool = False) -> list[Attempt]:
        """Claimed rows, in three steps: re-check them and commit each one to send as a Message
        "sending" (one transaction), send each (paced; concurrently when the sender allows it),
        record the provider's answers (one transaction). The intent is committed before any of
        its sends. A crash on one row is counted as a try, never raised: the batch falls back
        to one row at a time so one bad row does not stall the others."""
        try:
            outcomes, sends = self._prepare(ids, now, self._schedule or self.schedule())
        except Exception:
            if len(ids) > 1:
                return [a for row_id in ids for a in self.work_many([row_id], now, paced)]
            logs.event(log, "delivery crashed", logging.ERROR, row=ids[0], exc_info=True)
            return [Attempt(self._crashed(ids[0], now))]
        step = self._record_every(len(sends))
        for k in range(0, len(sends), step):    # what a crash may send twice: the sends since the last record
            part = sends[k:k + step]
            self._send_all(part, now, paced)
            outcomes.update(self._record(part, now))
        return [outcomes[row_id] for row_id in ids]

    def _prepare(self, ids: list[int], now: datetime, sched: policy.Schedule) -> tuple[dict[int, Attempt], list[_Send]]:
        """Re-check the rows this worker still holds and write the intent of each send, in one
        transaction of a few statements for the whole chunk: the proof of holding (which returns
        the rows), one read of the people with their addresses and peers, the new Messages in one
        INSERT, the rows' tries and links in one executemany."""
        outcomes: dict[int, Attempt] = {}
        with self.db.session(write=True) as s:
            conn = s.connection()
            # First the proof of holding: renewed here, a row stays this worker's (PostgreSQL: row
            # locks; SQLite: the write lock) until this transaction commits its "sending".
            pg = not self.db.is_sqlite
            got = {r["id"]: Record(OUTBOX, r) for r in conn.execute(
                HOLD_PG if pg else HOLD, {"ids": ids, "worker": self.cfg.worker_id,
                                          "until": now + self.cfg.lease}).mappings()}
            outcomes.update({row_id: Attempt("lost_lease") for row_id in ids if row_id not in got})
            if not got:
                return outcomes, []
            rows = [got[row_id] for row_id in ids if row_id in got]
            people, by_person = self._people(conn, {r.participant_id for r in rows}, pg)
            mids = [r.message_id for r in rows if r.message_id]
            msgs = ({m["id"]: Record(MESSAGES, m) for m in conn.execute(LINKED, {"mids": mids}).mappings()}
                    if mids else {})
            contacts = {c.id: c for cs in by_person.values() for c in cs}
            missing = {m.contact_id for m in msgs.values() if m.contact_id and m.contact_id not in contacts}
            if missing:     # an address of someone merged away since the peer chose it
                contacts.update({c["id"]: Record(CONTACTS, c)
                                 for c in conn.execute(CHOSEN, {"cids": list(missing)}).mappings()})
            planned, releases = [], []
            for row in rows:
                msg = msgs.get(row.message_id) if row.message_id else None
                chosen = contacts.get(msg.contact_id) if msg is not None and msg.contact_id else None
                person = people[row.participant_id]
                decided = self._recheck(conn, row, person, msg, by_person.get(person.id, []), chosen, sched, now,
                                        releases)
                if isinstance(decided, Attempt):
                    outcomes[row.id] = decided
                else:
                    planned.append((row, person, *decided))
            if releases:
                conn.execute(RELEASE, releases)
            if not planned:
                return outcomes, []
            # The intent of every send: new Messages in one INSERT, the rows' tries and links in one executemany.
            new = [values for _, _, _, values, _, _ in planned if values is not None]
            new_ids = iter(self._insert_new(conn, new, now, pg) if new else ())
            sends = []
            for row, person, msg, values, contact, route in planned:
                if msg is not None:
                    msg.save(conn)
                message_id = msg.id if msg is not None else next(new_ids)
                sends.append(_Send(row.id, message_id, row.participant_id, row.kind, contact.address,
                                   msg.body if msg is not None else values["body"], route.template,
                                   row.attempts + 1, row.id, person))
            if self.db.is_sqlite:
                conn.execute(INTENT, [{"rid": x.row_id, "mid": x.message_id} for x in sends])
            else:
                conn.execute(INTENT_PG, {"rids": [x.row_id for x in sends], "mids": [x.message_id for x in sends]})
        return outcomes, sends

    @staticmethod
    def _insert_new(conn, new: list[dict], now: datetime, pg: bool) -> list[int]:
        """The chunk's new Messages ("sending"), one INSERT; their ids in the order of `new`."""
        if not pg:
            return conn.execute(NEW_MESSAGES, new).scalars().all()
        ids = conn.execute(NEW_MESSAGES_PG, {"now": now, **{f"new_{c}": [v[c] for v in new] for c in _NEW_VARYING}}
                           ).scalars().all()
        return sorted(ids)

    @staticmethod
    def _people(conn, pids: set[int], pg: bool) -> tuple[dict[int, PersonRecord], dict[int, list[Record]]]:
        """The chunk's people, their peers' names and all their addresses: one query."""
        people: dict[int, PersonRecord] = {}
        by_person: dict[int, list[Record]] = {}
        cols = [c.name for c in PARTICIPANTS.c]
        ccols = [(f"c_{c.name}", c.name) for c in CONTACTS.c]
        for r in conn.execute(PEOPLE_PG if pg else PEOPLE, {"pids": list(pids)}).mappings():
            pid = r["id"]
            if pid not in people:
                people[pid] = PersonRecord(PARTICIPANTS, {**{k: r[k] for k in cols}, "peer_name": r["peer_name"]})
                by_person[pid] = []
            if r["c_id"] is not None:
                by_person[pid].append(Record(CONTACTS, {name: r[label] for label, name in ccols}))
        return people, by_person

    def _recheck(self, conn, row: Record, person: PersonRecord, msg: Record | None, contacts: list[Record],
                 chosen: Record | None, sched: policy.Schedule, now: datetime, releases: list[dict]):
        """One row's re-check: the Attempt when it is not sent (its release appended to
        `releases`), else (its Message to mark "sending", or None and the values of a new one;
        contact; route)."""
        def release(state: str, reason: str | None = None, due: datetime | None = None, mid: int | None = None):
            releases.append({"rid": row.id, "state": state, "now": now, "reason": reason, "due": due, "mid": mid})

        quiet_ok = row.quiet_ok or policy.wrote_first(person.last_inbound_at, now, sched.reply_window)
        contact, chat = addressee(row, msg, contacts, chosen)
        if (contact or chat) is not None and not channels.get((contact or chat).channel).quiet_hours:
            quiet_ok = True     # web chat: nothing buzzes a phone, the page shows it when opened
        stale = sched.stale_after if row.kind in ("nudge", "closing", "welcome") else None
        status = policy.status_of(person)
        if row.kind in ("reply", "peer") and person.status == "prospect":
            status = {**status, "active": True}   # not enrolled, but in a conversation they began
        if row.kind in ("reply", "peer") and row.message_id is not None:
            # a late answer to their own message, or a peer's reply the inbox already checked
            # (core/reply_policy.py: a peer may answer someone paused): only opt-out stops it
            status = {**status, "active": True, "paused": False}
        ok, reason = policy.may_send(now, status, person.timezone,
                                     sched.quiet, quiet_ok, due_at=row.due_at, stale_after=stale)
        if not ok:
            if reason == "quiet_hours":
                release("pending", "deferred: quiet hours", policy.next_allowed(now, person.timezone, sched.quiet))
                return Attempt("deferred")
            release("skipped", reason)
            return Attempt("skipped")
        if chat is not None:   # no carrier: the chat page shows it on their next visit or poll
            if msg is None:
                self._new_message(conn, person, row, body=row.body or "", contact=chat, status="sent", now=now)
            else:
                msg.contact_id, msg.channel, msg.status, msg.updated_at = chat.id, chat.channel, "sent", now
                msg.save(conn)
            release("sent")
            return Attempt("sent", posted=True)
        if contact is None:
            release("skipped", "no reachable contact")
            return Attempt("skipped")
        body = msg.body if msg is not None else (row.body or self._render(row, person, sched))
        route = contacts_mod.outbound_route(contact, body, now, self.sender)   # WhatsApp's 24 h window
        if route.action == "hold":
            if msg is None:
                mid = self._new_message(conn, person, row, body=body, contact=contact, status="held", now=now,
                                        error_code=whatsapp.HELD_CODE)
            else:
                msg.contact_id, msg.channel = contact.id, contact.channel
                contacts_mod.hold(msg, now)
                msg.save(conn)
                mid = msg.id
            release("held", whatsapp.HELD_REASON, mid=mid)
            return Attempt("skipped")
        if msg is None:
            values = dict(participant_id=person.id, contact_id=contact.id, direction="out", channel=contact.channel,
                          kind=row.kind, body=body, num_media=0, provider_sid=None, status="sending",
                          error_code=None, reply_to_id=None, author_id=row.author_id, created_at=now,
                          updated_at=now, answered_at=None)     # inserted with the rest of the chunk
            # (PostgreSQL's NEW_MESSAGES_PG sends only _NEW_VARYING; the rest are its constants)
            return None, values, contact, route
        msg.status, msg.contact_id, msg.channel, msg.updated_at = "sending", contact.id, contact.channel, now
        if msg.error_code == whatsapp.HELD_CODE:
            msg.error_code = None
        return msg, None, contact, route

    @staticmethod
    def _new_message(conn, person, row, body: str, contact, status: str, now: datetime,
                     error_code: str | None = None) -> int:
        """An outbound Message written on its own (web chat posts, WhatsApp holds: off the hot path)."""
        return conn.execute(insert(MESSAGES).returning(MESSAGES.c.id), dict(
            participant_id=person.id, contact_id=contact.id, direction="out", channel=contact.channel,
            kind=row.kind, body=body, num_media=0, status=status, error_code=error_code,
            author_id=row.author_id, created_at=now, updated_at=now)).scalar_one()

    def _render(self, row: Record, person: PersonRecord, sched: policy.Schedule) -> str:
        peer = person.peer_name.split() if person.assigned_peer_id and person.peer_name else None
        return policy.render(sched, row.template_key or "nudge.0", person.language,
                             person.first_name, peer[0] if peer else None,
                             self.cfg.program_name, person.discreet)

    def _send_all(self, sends: list[_Send], now: datetime, paced: bool) -> None:
        """Send each, in order and paced; several at once when the sender can (an HTTP API
        waits on the network; the sandbox does not). Every row of the batch not yet recorded is
        renewed once half a lease has gone by, and a row another worker took meanwhile is not
        sent."""
        workers = self._concurrency(len(sends))
        pool = self._pool(workers) if workers > 1 else None
        renewed_at, running = now, set()
        for k, item in enumerate(sends):
            if len(running) >= workers:     # at most `workers` in flight; the lease is renewed meanwhile
                _, running = wait(running, return_when=FIRST_COMPLETED)
            if paced:
                self._pace()
                at = self.clock()
                if at - renewed_at >= self.cfg.lease / 2:
                    with self.db.session(write=True) as s:
                        held = set(renew(s, self.cfg.worker_id, [x.row_id for x in sends], at, self.cfg.lease))
                    for x in sends[k:]:
                        x.lost = x.row_id not in held
                    renewed_at = at
            if item.lost:
                logs.event(log, "lease lost before sending", logging.WARNING, row=item.row_id)
                continue
            if pool is None:
                self._send_one(item)
            else:
                running.add(pool.submit(self._send_one, item))
        wait(running)

    def _record_every(self, n: int) -> int:
        """Sends between two records of the answers, hence what a worker killed mid-chunk may
        send twice. A sender with several in flight (twilio: 4) is recorded after each round of
        them, so only the sends in flight are uncertain: its sends take far longer than the
        commit. A sender with one at a time (the sandbox: nothing to wait on) is recorded once a
        chunk: a commit every send would cost more than the send (docs/benchmarks.md)."""
        if self.cfg.record_every:
            return self.cfg.record_every
        workers = self._concurrency(n)
        return workers if workers > 1 else max(n, 1)

    def _concurrency(self, n: int) -> int:
        """Sends in flight at once: the sender's (or the config's) limit, no more than the pace
        lets out in a second, and no more than there are rows."""
        limit = self.cfg.send_concurrency or getattr(self.sender, "concurrency", 1)
        return max(1, min(limit, n, math.ceil(self.cfg.rate_per_second)))

    def _pool(self, workers: int) -> ThreadPoolExecutor:
        if self._executor is None or self._executor_size < workers:
            if self._executor is not None:
                self._executor.shutdown(wait=True)
            self._executor, self._executor_size = ThreadPoolExecutor(workers, "homeward-send"), workers
        return self._executor

    def _send_one(self, item: _Send) -> None:
        """One send; its outcome is kept on the item (nothing here touches the database)."""
        try:
            item.sent = (self.sender.send(item.address, item.body, template=item.template) if item.template
                         else self.sender.send(item.address, item.body))
        except SendError as exc:
            item.error = exc
        except Exception:
            logs.event(log, "delivery crashed", logging.ERROR, row=item.row_id, exc_info=True)
            item.crashed = True

    def _record(self, sends: list[_Send], now: datetime) -> dict[int, Attempt]:
        """The provider's answers for the batch in one transaction (sid and status, rows sent, the
        check-in conversations the nudges open); failures and crashes go through their own
        back-off, one row each."""
        outcomes: dict[int, Attempt] = {}
        ok = [x for x in sends if x.sent is not None]
        if ok:
            try:
                self._record_sent(ok, now)
            except Exception:     # one bad row must not lose the others' answers: one at a time
                logs.event(log, "recording a batch crashed; one row at a time", logging.ERROR, exc_info=True)
                for x in ok:
                    try:
                        self._record_sent([x], now)
                    except Exception:
                        logs.event(log, "delivery crashed", logging.ERROR, row=x.row_id, exc_info=True)
                        x.crashed, x.sent = True, None
        for x in sends:
            if x.sent is not None:
                logs.event(log, "sent", row=x.row_id, kind=x.kind, status=x.sent.status)
                outcomes[x.row_id] = Attempt("sent", template=bool(x.template), status=x.sent.status)
            elif x.lost:
                outcomes[x.row_id] = Attempt("lost_lease")
            elif x.error is not None:
                outcomes[x.row_id] = Attempt(self._failed(x.row_id, x.error, x.attempts, x.seed, now), error=x.error)
            else:
                outcomes[x.row_id] = Attempt(self._crashed(x.row_id, now))
        return outcomes

    def _record_sent(self, ok: list[_Send], now: datetime) -> None:
        with self.db.session() as s:
            conn = s.connection()
            if self.db.is_sqlite:
                conn.execute(ANSWERED, [{"mid": x.message_id, "sid": x.sent.sid, "status": x.sent.status, "now": now}
                                        for x in ok])
            else:
                conn.execute(ANSWERED_PG, {"mids": [x.message_id for x in ok], "sids": [x.sent.sid for x in ok],
                                           "statuses": [x.sent.status for x in ok], "now": now})
            conn.execute(SENT if self.db.is_sqlite else SENT_PG, {"ids": [x.row_id for x in ok], "now": now})
            nudged = [x.person for x in ok if x.kind in ("nudge", "welcome")]
            if self.after_nudge is not None and nudged:
                self.after_nudge(s, nudged, now)

    def _failed(self, row_id: int, exc: SendError, attempts: int, seed: int, now: datetime) -> str:
        if exc.http_status in (401, 403):
            return self._halted(row_id, exc, now)
        code = int(exc.code) if exc.code and exc.code.isdigit() else None
        info = policy.ErrorInfo(http_status=exc.http_status, twilio_code=code,
                                network="timeout" if exc.http_status is None and exc.temporary else None,
                                message=exc.detail)
        decision = policy.retry_decision(attempts, info, now, self.cfg.retry_limit, seed=seed,
                                         base=self.cfg.retry_base, cap=self.cfg.retry_cap)
        with self.db.session() as s:
            row = s.get(ScheduledMessage, row_id)
            msg = s.get(Message, row.message_id)
            msg.status, msg.error_code, msg.updated_at = "failed", exc.code or str(exc.http_status or ""), now
            if isinstance(decision, policy.Retry):
                _release(row, "pending", now, f"retry: {decision.reason}", decision.at)
                logs.event(log, "send failed, will retry", logging.WARNING, row=row_id, reason=decision.reason)
                return "retried"
            _release(row, "failed", now, decision.reason)
            if decision.mark_contact:
                mark_contact(s, msg.contact_id, decision.mark_contact, exc.code or "", now)
            logs.event(log, "send failed for good", logging.WARNING, row=row_id, reason=decision.reason)
            return "failed"

    def _crashed(self, row_id: int, now: datetime) -> str:
        """An unexpected error: count a try and back off like a temporary failure, so a row that
        always breaks ends as failed instead of coming back at every lease expiry."""
        with self.db.session() as s:
            row = s.get(ScheduledMessage, row_id)
            if row is None or row.state != "claimed" or row.claimed_by != self.cfg.worker_id:
                return "lost_lease"
            msg = s.get(Message, row.message_id) if row.message_id else None
            if msg is not None and msg.status == "sending":
                msg.status, msg.error_code = "failed", "error"   # the try was counted before sending
            else:
                row.attempts += 1
            decision = policy.retry_decision(row.attempts, policy.ErrorInfo(network="error"), now,
                                             self.cfg.retry_limit, seed=row.id, base=self.cfg.retry_base,
                                             cap=self.cfg.retry_cap)
            if isinstance(decision, policy.Retry):
                _release(row, "pending", now, "retry: unexpected error", decision.at)
                return "retried"
            _release(row, "failed", now, decision.reason)
            return "failed"

    def _halted(self, row_id: int, exc: SendError, now: datetime) -> str:
        """401/403 is about our credentials, not this message: hold it without spending a try."""
        with self.db.session() as s:
            row = s.get(ScheduledMessage, row_id)
            row.attempts = max(0, row.attempts - 1)
            s.get(Message, row.message_id).status = "held"
            _release(row, "pending", now, f"held: twilio rejected our credentials ({exc.http_status})",
                     now + AUTH_PAUSE)
        logs.event(log, "twilio rejected the credentials; holding sends", logging.ERROR, status=exc.http_status)
        return "retried"


AUTH_PAUSE = timedelta(minutes=5)


def mark_contact(s: Session, contact_id: int | None, mark: str, code: str, now: datetime) -> None:
    """A permanent error says something about the address: never try it again."""
    if contact_id is None:
        return
    contact = s.get(Contact, contact_id)
    if mark == "opted_out":
        mark_unsubscribed(s, contact.participant_id, contact_id, now, f"twilio {code}: unsubscribed")
    else:
        contact.invalid_reason = code or mark
