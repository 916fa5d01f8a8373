"""Issue 16, "lost or doubled messages" and body bounds, on both databases: a stored but
unprocessed message is processed by Twilio's redelivery or by the worker's sweep, once; a
worker never sends a row it no longer holds; bodies, sids and media counts are bounded."""
from __future__ import annotations

import threading
from datetime import date, datetime, timedelta, timezone
from xml.etree import ElementTree

from sqlalchemy import func, select

from bot.channels.sender import SandboxSender
from bot.runtime import Inbound
from db.models import Escalation, Message, ScheduledMessage
from scheduler import sweeps
from scheduler.dispatch import DispatchConfig, Dispatcher, claim
from scheduler.worker import drain
from tests.integration.test_dispatch import SCHEDULE, enroll, local, outbound
from tests.twilio_signing import new_sid, sms

PHONE = "+13125552671"
T = datetime(2026, 12, 1, 3, 0, tzinfo=timezone.utc)       # 22:00 in New York: quiet hours
EMERGENCY = "my friend is not breathing"


def replies(resp) -> list[str]:
    assert resp.status_code == 200, resp.data
    return [m.text or "" for m in ElementTree.fromstring(resp.data).findall("Message")]


def count(db, model, *where) -> int:
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(model).where(*where))


def pinned(app, at: datetime):
    app.extensions["homeward.clock"] = lambda: at
    return app.test_client()


def stored_then_died(app, sid: str, body: str = EMERGENCY, at: datetime = T) -> int:
    """What a web worker killed between storing and processing leaves behind."""
    stored = app.extensions["homeward.runtime"].store(Inbound("sms", "sms:" + PHONE, body, sid), at)
    return stored.message_id


def bot_replies(db, message_id: int) -> list[Message]:
    with db.session() as s:
        return list(s.scalars(select(Message).where(Message.reply_to_id == message_id, Message.kind == "bot")
                              .order_by(Message.id)))


# -- 1. an emergency text is never lost -----------------------------------------------------------

def test_redelivery_of_a_stored_but_unprocessed_emergency_answers_it_and_opens_the_ticket(app, db):
    sid = new_sid()
    message_id = stored_then_died(app, sid)
    client = pinned(app, T + timedelta(seconds=15))
    answer = " ".join(replies(sms(client, PHONE, EMERGENCY, sid=sid)))      # Twilio retries the same request
    assert "911" in answer and "naloxone" in answer.lower()
    assert count(db, Escalation, Escalation.priority == "urgent") == 1
    with db.session() as s:
        assert s.get(Message, message_id).status == "processed"
    # a further redelivery gets the same answer back, and nothing is processed again
    again = replies(sms(client, PHONE, EMERGENCY, sid=sid))
    assert " ".join(again) == answer
    assert len(bot_replies(db, message_id)) == len(again)
    assert count(db, Escalation) == 1 and count(db, Message, Message.direction == "in") == 1


def test_the_sweep_answers_a_message_left_unprocessed_through_the_outbox_once(app, db):
    sid = new_sid()
    message_id = stored_then_died(app, sid)
    runtime = app.extensions["homeward.runtime"]
    young = sweeps.unprocessed(db, runtime, T + timedelta(seconds=10), timedelta(seconds=30))
    assert young == 0 and count(db, Escalation) == 0          # a live webhook may still be on it
    assert sweeps.unprocessed(db, runtime, T + timedelta(minutes=1), timedelta(seconds=30)) == 1
    assert count(db, Escalation, Escalation.priority == "urgent", Escalation.message_id == message_id) == 1
    queued = bot_replies(db, message_id)
    assert queued and "911" in " ".join(m.body for m in queued)
    assert {m.status for m in queued} == {"queued"}
    # the outbox sends those very replies, in quiet hours too (the person wrote first)
    sender = SandboxSender()
    result = drain(Dispatcher(db, sender, SCHEDULE, DispatchConfig(worker_id="w1", rate_per_second=1000)),
                   T + timedelta(minutes=1))
    assert result.sent == len(queued) and result.deferred == 0
    assert [m.body for m in bot_replies(db, message_id)] == [m.body for m in queued]
    assert all(m.provider_sid for m in bot_replies(db, message_id))
    # Twilio's late redelivery, and the next sweep, change nothing: no second answer, no second ticket
    assert replies(sms(pinned(app, T + timedelta(minutes=2)), PHONE, EMERGENCY, sid=sid)) == []
    assert sweeps.unprocessed(db, runtime, T + timedelta(minutes=3), timedelta(seconds=30)) == 0
    assert len(bot_replies(db, message_id)) == len(queued) and count(db, Escalation) == 1
    assert count(db, ScheduledMessage, ScheduledMessage.kind == "reply") == len(queued)


def test_a_redelivery_racing_the_sweep_processes_the_message_once(app, db):
    runtime = app.extensions["homeward.runtime"]
    for _ in range(3):
        sid = new_sid()
        message_id = stored_then_died(app, sid)
        client = pinned(app, T + timedelta(minutes=1))
        start = threading.Barrier(2)
        got = {}

        def redeliver():
            start.wait()
            got["twiml"] = replies(sms(client, PHONE, EMERGENCY, sid=sid))

        def sweep():
            start.wait()
            got["swept"] = sweeps.unprocessed(db, runtime, T + timedelta(minutes=1), timedelta(seconds=30))

        threads = [threading.Thread(target=redeliver), threading.Thread(target=sweep)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        answers = bot_replies(db, message_id)
        webhook_won = bool(got["twiml"])
        assert webhook_won != bool(got["swept"])              # exactly one of them processed it
        assert answers and "911" in " ".join(m.body for m in answers)
        assert len(answers) == (len(got["twiml"]) if webhook_won else len(answers))
        assert {m.status for m in answers} == ({"replied"} if webhook_won else {"queued"})
        assert count(db, Escalation, Escalation.status == "open") == 1


def test_a_failure_while_processing_late_still_answers_through_the_outbox(app, db, monkeypatch):
    runtime = app.extensions["homeward.runtime"]
    message_id = stored_then_died(app, new_sid(), body="hello")

    def broken(*a, **kw):
        raise RuntimeError("boom")
    monkeypatch.setattr(runtime, "apply", broken)
    assert sweeps.unprocessed(db, runtime, T + timedelta(minutes=1), timedelta(seconds=30)) == 1
    with db.session() as s:
        assert s.get(Message, message_id).status == "failed"
    fallback = bot_replies(db, message_id)
    assert len(fallback) == 1 and fallback[0].status == "queued"
    assert count(db, Escalation, Escalation.reason == "processing_failed") == 1
    assert count(db, ScheduledMessage, ScheduledMessage.message_id == fallback[0].id) == 1


# -- 2. two workers never send one row twice ------------------------------------------------------

class Recording(SandboxSender):
    """A sender that records each send and runs `during` inside it (the other worker, meanwhile)."""

    def __init__(self, during=None):
        super().__init__()
        self.to: list[str] = []
        self.during = during

    def send(self, to, body, **kw):
        self.to.append(to)
        if self.during is not None:
            self.during()
        return super().send(to, body, **kw)


def test_a_worker_whose_lease_ran_out_never_sends_a_row_another_worker_took(db):
    pid = enroll(db, date(2026, 12, 1), local(2026, 12, 1, 8))
    t = local(2026, 12, 1, 12)
    lease = timedelta(seconds=20)
    late = Recording()
    a = Dispatcher(db, late, SCHEDULE, DispatchConfig(worker_id="A", rate_per_second=1000, lease=lease))
    assert len(claim(db, "A", t, 10, lease)) == 1
    assert len(claim(db, "B", t + timedelta(seconds=25), 10, lease)) == 1     # A's lease ran out: B took it
    [row_id] = [r for r in _claimed(db, "B")]
    assert a.deliver(row_id, t + timedelta(seconds=26)) == "lost_lease"
    assert late.to == [] and outbound(db, pid) == []


def test_a_slow_send_keeps_its_lease_so_the_other_worker_does_not_send_it_again(db):
    pid = enroll(db, date(2026, 12, 1), local(2026, 12, 1, 8))
    t = local(2026, 12, 1, 12)
    lease = timedelta(seconds=20)
    second = Recording()
    b = Dispatcher(db, second, SCHEDULE, DispatchConfig(worker_id="B", rate_per_second=1000, lease=lease))
    # While A's send is slow, B's pass runs at a time past A's original lease.
    first = Recording(during=lambda: b.run_pass(t + timedelta(seconds=26)))
    a = Dispatcher(db, first, SCHEDULE, DispatchConfig(worker_id="A", rate_per_second=1000, lease=lease))
    [row_id] = claim(db, "A", t, 10, lease)
    assert a.deliver(row_id, t + timedelta(seconds=25)) == "sent"             # A's pass was slow to reach it
    assert len(first.to) == 1 and second.to == []
    assert len([m for m in outbound(db, pid) if m.provider_sid]) == 1


def test_a_slow_batch_renews_the_lease_on_the_rows_it_has_left(db):
    for i in range(3):
        enroll(db, date(2026, 12, 1), local(2026, 12, 1, 8), phone=f"+1312555030{i}")
    t = local(2026, 12, 1, 12)
    lease = timedelta(seconds=20)
    clock = {"now": t}
    taken_by_b: list[int] = []

    def slow_send():       # each send takes 15 s; the other worker tries to claim meanwhile
        clock["now"] += timedelta(seconds=15)
        taken_by_b.extend(claim(db, "B", clock["now"], 10, lease))

    sender = Recording(during=slow_send)
    a = Dispatcher(db, sender, SCHEDULE, DispatchConfig(worker_id="A", rate_per_second=1000, lease=lease),
                   clock=lambda: clock["now"], sleep=lambda _: None)
    result = a.run_pass()
    assert taken_by_b == []
    assert result.sent == 3 and len(sender.to) == 3 and len(set(sender.to)) == 3


def _claimed(db, worker: str) -> list[int]:
    with db.session() as s:
        return list(s.scalars(select(ScheduledMessage.id).where(ScheduledMessage.claimed_by == worker)))


# -- 6. bounded bodies, sids and media counts -----------------------------------------------------

def test_a_body_over_twilios_1600_characters_is_kept_cut_with_a_note(app, db):
    client = pinned(app, T)
    body = "help " + "x" * 10_000
    assert sms(client, PHONE, body).status_code == 200
    with db.session() as s:
        msg = s.scalar(select(Message).where(Message.direction == "in"))
    assert msg.body == body[:1600] and msg.error_code == "truncated" and msg.status == "processed"


def test_overlong_or_nul_message_sids_get_a_400_never_a_500(app, db):
    client = pinned(app, T)
    for sid in ("SM" + "a" * 70, "SM12\x0034", "SM 12", "SMé"):
        resp = sms(client, PHONE, "hi", sid=sid)
        assert resp.status_code == 400 and b"MessageSid" in resp.data
    assert count(db, Message) == 0
    assert replies(sms(client, PHONE, "hi", sid="SM" + "b" * 32))        # a real one still works


def test_an_absurd_media_count_is_bounded_and_the_message_stored(app, db):
    client = pinned(app, T)
    for n in ("99999999999", "-3", "٣", "x"):
        assert sms(client, PHONE, "photo", NumMedia=n).status_code == 200
    with db.session() as s:
        counts = list(s.scalars(select(Message.num_media).where(Message.direction == "in").order_by(Message.id)))
    assert counts == [10, 0, 0, 0]


def test_request_bodies_are_bounded_before_they_are_parsed(app, db):
    client = pinned(app, T)
    huge = {"MessageSid": new_sid(), "From": PHONE, "Body": "x" * (200 * 1024)}
    assert client.post("/twilio/sms", data=huge).status_code == 413          # unsigned, and not parsed
    assert sms(client, PHONE, "y" * (100 * 1024)).status_code == 413          # signed, still too big
    assert app.config["MAX_CONTENT_LENGTH"] <= 8 * 1024 * 1024
    assert client.post("/login", data={"email": "a@b.c", "password": "x" * (9 * 1024 * 1024)}).status_code == 413
    assert count(db, Message) == 0


def test_the_worker_command_runs_the_unprocessed_sweep_and_sends_the_answer(app, db):
    message_id = stored_then_died(app, new_sid())
    later = (T + timedelta(minutes=2)).isoformat()
    result = app.test_cli_runner().invoke(args=["worker", "--now", later])
    assert result.exit_code == 0, result.output
    answers = bot_replies(db, message_id)
    assert answers and "911" in " ".join(m.body for m in answers)
    assert all(m.provider_sid for m in answers)                   # sent (sandbox) in the same pass
    assert count(db, Escalation, Escalation.priority == "urgent") == 1
