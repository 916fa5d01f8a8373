"""The outbox on both databases: plan → claim → re-check → send → record."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from bot.channels.sender import SandboxSender, SendError, SendResult
from db.models import Contact, Message, Participant, ScheduledMessage, User
from core import policy
from scheduler.dispatch import DispatchConfig, Dispatcher, claim
from bot.planning import schedule_nudges
from scheduler.worker import drain

NY = ZoneInfo("America/New_York")
SCHEDULE = policy.load_schedule()


def local(y, m, d, hh, mm=0):
    return datetime(y, m, d, hh, mm, tzinfo=NY).astimezone(timezone.utc)


def enroll(db, release: date, now: datetime, phone="+13125550100", name="Ana", checkin="10:00") -> int:
    with db.session() as s:
        peer = User(email=f"luis{phone[-4:]}@example.org", name="Luis Ortega", role="peer", password_hash="x")
        s.add(peer)
        s.flush()
        person = Participant(first_name=name, language="en", timezone="America/New_York", status="active",
                             checkin_time=checkin, release_date=release, consent_at=now,
                             assigned_peer_id=peer.id, created_at=now, fields={})
        s.add(person)
        s.flush()
        s.add(Contact(participant_id=person.id, channel="sms", address=f"sms:{phone}"))
        schedule_nudges(s, person, SCHEDULE, now, enrolled_at=now)
        return person.id


def dispatcher(db, sender=None, worker="w1", **kw) -> Dispatcher:
    return Dispatcher(db, sender or SandboxSender(), SCHEDULE,
                      DispatchConfig(worker_id=worker, rate_per_second=1000, **kw))


def outbound(db, pid):
    with db.session() as s:
        return list(s.scalars(select(Message).where(Message.participant_id == pid, Message.direction == "out")
                              .order_by(Message.id)))


def test_enrolled_person_gets_each_nudge_once_in_their_peers_name(db):
    enrolled = local(2026, 12, 1, 8)
    pid = enroll(db, date(2026, 12, 1), enrolled)
    with db.session() as s:
        rows = list(s.scalars(select(ScheduledMessage).where(ScheduledMessage.participant_id == pid)
                              .order_by(ScheduledMessage.due_at)))
    days = [int(r.dedupe_key.split(":")[1]) for r in rows if r.kind == "nudge"]
    assert days[:6] == [0, 1, 2, 3, 4, 5] and 14 in days and 90 not in days
    first_due = rows[0].due_at
    assert first_due.astimezone(NY).hour in (9, 10)  # their 10:00 with a little spread, never quiet hours
    d = dispatcher(db)
    assert drain(d, first_due - timedelta(minutes=1)).claimed == 0      # not due yet
    result = drain(d, first_due + timedelta(minutes=1))
    assert result.sent == 1
    assert drain(d, first_due + timedelta(minutes=2)).claimed == 0      # never twice
    [msg] = outbound(db, pid)
    assert msg.kind == "nudge" and msg.status == "sandbox" and msg.provider_sid
    assert "Ana" in msg.body and "Luis" in msg.body


def test_sends_through_the_real_twilio_client_to_prism(db, twilio_sender):
    enrolled = local(2026, 12, 1, 8)
    pid = enroll(db, date(2026, 12, 1), enrolled)
    result = drain(dispatcher(db, twilio_sender), local(2026, 12, 1, 12))
    assert result.sent == 1 and result.failed == 0
    [msg] = outbound(db, pid)
    assert msg.provider_sid.startswith(("SM", "MM")) and len(msg.provider_sid) == 34


def test_several_sends_at_once_through_the_real_twilio_client(db, twilio_sender):
    pids = [enroll(db, date(2026, 12, 1), local(2026, 12, 1, 8), phone=f"+1312555060{i}") for i in range(3)]
    assert twilio_sender.concurrency > 1          # an HTTP API waits on the network: overlap the waits
    result = drain(dispatcher(db, twilio_sender, send_concurrency=3), local(2026, 12, 1, 12))
    assert result.sent == 3 and result.failed == result.retried == 0
    sids = {m.provider_sid for p in pids for m in outbound(db, p)}
    assert len(sids) == 3 and all(sid.startswith(("SM", "MM")) for sid in sids)


def test_opted_out_person_is_never_sent_to(db):
    pid = enroll(db, date(2026, 12, 1), local(2026, 12, 1, 8))
    with db.session() as s:
        s.get(Participant, pid).opted_out_at = local(2026, 12, 1, 8, 30)
    result = drain(dispatcher(db), local(2026, 12, 1, 12))
    assert result.sent == 0 and result.skipped == 1
    assert outbound(db, pid) == []


def test_quiet_hours_defer_to_morning(db):
    pid = enroll(db, date(2026, 12, 1), local(2026, 12, 1, 8))
    with db.session() as s:  # a peer message scheduled for late at night
        s.add(ScheduledMessage(participant_id=pid, kind="peer", dedupe_key="peer:1", body="Thinking of you",
                               due_at=local(2026, 12, 1, 22, 30)))
    result = drain(dispatcher(db), local(2026, 12, 1, 23))
    # the peer text waits for morning; the 10:00 nudge, 13 hours late, is dropped rather than sent at night
    assert result.deferred == 1 and result.skipped == 1 and result.sent == 0
    with db.session() as s:
        row = s.scalar(select(ScheduledMessage).where(ScheduledMessage.dedupe_key == "peer:1"))
        assert row.state == "pending" and row.due_at.astimezone(NY).hour == 9


class Flaky:
    """Fails as scripted, then succeeds."""
    name = "flaky"

    def __init__(self, *errors):
        self.errors, self.sent = list(errors), []

    def send(self, address, body):
        if self.errors:
            raise self.errors.pop(0)
        self.sent.append(address)
        return SendResult(f"SM{len(self.sent):032x}", "queued")


def test_temporary_failures_retry_with_backoff_then_send_once(db):
    pid = enroll(db, date(2026, 12, 1), local(2026, 12, 1, 8))
    sender = Flaky(SendError(True, "20429", 429, "too many"), SendError(True, None, 503, "down"))
    d = dispatcher(db, sender)
    t = local(2026, 12, 1, 12)
    assert drain(d, t).retried == 1
    with db.session() as s:
        row = s.scalar(select(ScheduledMessage).where(ScheduledMessage.state == "pending")
                       .order_by(ScheduledMessage.due_at))
        assert row.due_at > t and row.attempts == 1
    for minutes in (5, 30):
        drain(d, t + timedelta(minutes=minutes))
    assert len(sender.sent) == 1
    msgs = outbound(db, pid)
    assert len(msgs) == 1 and msgs[0].status == "queued"


def test_unsubscribed_error_marks_the_person_opted_out_and_cancels_the_rest(db):
    pid = enroll(db, date(2026, 12, 1), local(2026, 12, 1, 8))
    d = dispatcher(db, Flaky(SendError(False, "21610", 400, "unsubscribed")))
    assert drain(d, local(2026, 12, 1, 12)).failed == 1
    with db.session() as s:
        assert s.get(Participant, pid).opted_out
        states = set(s.scalars(select(ScheduledMessage.state).where(ScheduledMessage.participant_id == pid)))
    assert states == {"failed", "cancelled"}


def test_invalid_number_is_marked_and_not_retried(db):
    pid = enroll(db, date(2026, 12, 1), local(2026, 12, 1, 8))
    d = dispatcher(db, Flaky(SendError(False, "21211", 400, "invalid")))
    assert drain(d, local(2026, 12, 1, 12)).failed == 1
    with db.session() as s:
        assert s.scalar(select(Contact.invalid_reason).where(Contact.participant_id == pid)) == "21211"
    # the next day's nudge finds no reachable address and is skipped, not sent
    assert drain(d, local(2026, 12, 2, 12)).skipped == 1


def test_a_claim_whose_worker_died_is_taken_again_after_its_lease(db):
    pid = enroll(db, date(2026, 12, 1), local(2026, 12, 1, 8))
    t = local(2026, 12, 1, 12)
    assert len(claim(db, "dead-worker", t, 10, timedelta(minutes=2))) == 1   # claimed, then the worker died
    d = dispatcher(db, worker="w2")
    assert drain(d, t + timedelta(minutes=1)).claimed == 0                   # lease still held
    assert drain(d, t + timedelta(minutes=3)).sent == 1
    assert len(outbound(db, pid)) == 1


def test_daily_cap_holds_the_rest_for_tomorrow(db):
    for i in range(3):
        enroll(db, date(2026, 12, 1), local(2026, 12, 1, 8), phone=f"+1312555020{i}")
    result = drain(dispatcher(db, daily_cap=2), local(2026, 12, 1, 12))
    assert result.sent == 2
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(Message).where(Message.direction == "out")) == 2


def test_late_enrollment_gets_a_welcome_now_not_a_burst(db):
    now = local(2026, 12, 10, 14)
    pid = enroll(db, date(2026, 12, 1), now)
    result = drain(dispatcher(db), now + timedelta(minutes=1))
    assert result.sent == 1
    [msg] = outbound(db, pid)
    with db.session() as s:
        kinds = [r.kind for r in s.scalars(select(ScheduledMessage).where(ScheduledMessage.participant_id == pid)
                                           .order_by(ScheduledMessage.due_at))]
    assert kinds[0] == "welcome" and kinds[1] == "nudge"


def test_rejected_credentials_hold_sends_without_spending_tries(db):
    pid = enroll(db, date(2026, 12, 1), local(2026, 12, 1, 8))
    sender = Flaky(*[SendError(False, "20003", 401, "auth")] * 8)
    d = dispatcher(db, sender)
    t = local(2026, 12, 1, 10, 30)
    for minutes in range(0, 60, 6):
        drain(d, t + timedelta(minutes=minutes))
    assert len(sender.sent) == 1   # credentials fixed after eight refusals: sent, not given up
    with db.session() as s:
        assert s.scalar(select(ScheduledMessage.attempts).where(ScheduledMessage.message_id.is_not(None))) == 1


class Broken:
    """A sender that fails in a way nobody planned for."""
    name = "broken"

    def __init__(self):
        self.calls = 0

    def send(self, address, body):
        self.calls += 1
        raise RuntimeError("surprise")


def test_an_unexpected_error_on_one_row_does_not_stall_the_others_and_ends_as_failed(db):
    for i in range(3):
        enroll(db, date(2026, 12, 1), local(2026, 12, 1, 8), phone=f"+1312555030{i}")
    sender = Broken()
    d = dispatcher(db, sender)
    t = local(2026, 12, 1, 12)
    assert drain(d, t).retried == 3             # every row was tried, none left claimed
    for hours in range(1, 12):
        drain(d, t + timedelta(hours=hours))
    with db.session() as s:
        states = list(s.scalars(select(ScheduledMessage.state).where(ScheduledMessage.dedupe_key.like("nudge:0:%"))))
    assert states == ["failed"] * 3 and sender.calls == 15   # five tries each, then given up


class Watching(SandboxSender):
    """A sender that runs `during(address)` inside each send, as if the provider were slow."""

    def __init__(self, during, concurrency: int = 1):
        super().__init__()
        self.during, self.concurrency, self.to = during, concurrency, []

    def send(self, address, body, **kw):
        self.during(address)
        self.to.append(address)
        return super().send(address, body, **kw)


def test_a_batch_commits_every_sends_intent_before_the_first_send(db):
    """Issue 20: a chunk is written "sending" in one transaction, then sent, then recorded; so
    whatever is being sent is already committed, and what a crash leaves is "sending"."""
    for i in range(3):
        enroll(db, date(2026, 12, 1), local(2026, 12, 1, 8), phone=f"+1312555040{i}")
    seen = []

    def look(_address):
        with db.session() as s:
            seen.append(sorted(s.scalars(select(Message.status).where(Message.direction == "out"))))
    sender = Watching(look)
    assert drain(dispatcher(db, sender), local(2026, 12, 1, 12)).sent == 3
    assert seen == [["sending"] * 3] * 3 and len(set(sender.to)) == 3
    with db.session() as s:
        assert set(s.scalars(select(Message.status).where(Message.direction == "out"))) == {"sandbox"}
        assert s.scalar(select(func.count()).select_from(ScheduledMessage)
                        .where(ScheduledMessage.state == "sent", ScheduledMessage.attempts == 1)) == 3


def test_a_sender_with_several_in_flight_is_recorded_after_each_round(db):
    """Issue 20: what a worker killed mid-chunk may send twice is what was sent since the last
    record: for a sender with 2 in flight, the answers are committed every 2 sends."""
    for i in range(4):
        enroll(db, date(2026, 12, 1), local(2026, 12, 1, 8), phone=f"+1312555070{i}")
    seen = []

    def look(_address):
        with db.session() as s:
            seen.append(s.scalar(select(func.count()).select_from(ScheduledMessage)
                                 .where(ScheduledMessage.state == "sent")))
    sender = Watching(look, concurrency=2)
    assert drain(dispatcher(db, sender, send_concurrency=2), local(2026, 12, 1, 12)).sent == 4
    assert sorted(seen) == [0, 0, 2, 2] and len(set(sender.to)) == 4


def test_sends_overlap_when_the_sender_allows_several_at_once(db):
    import threading
    pids = [enroll(db, date(2026, 12, 1), local(2026, 12, 1, 8), phone=f"+1312555050{i}") for i in range(4)]
    together = threading.Barrier(4, timeout=30)      # passes only when four sends are in flight at once
    sender = Watching(lambda _address: together.wait(), concurrency=4)
    result = drain(dispatcher(db, sender), local(2026, 12, 1, 12))
    assert result.sent == 4 and len(set(sender.to)) == 4
    assert all(m.provider_sid for p in pids for m in outbound(db, p))
