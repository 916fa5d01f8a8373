"""An urgent ticket unclaimed past its SLA texts the supervisors on shift, on both databases, with
the clock pinned: queued by the sweep once per ticket and supervisor, sent by the dispatcher."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import select

from bot.channels.sender import SendResult
from core import policy
from db.models import Escalation, StaffText
from scheduler import sweeps
from scheduler.dispatch import DispatchConfig, Dispatcher, claim
from scheduler.worker import drain
from tests.staff import inbound, make_person, make_ticket, make_user

NY = "America/New_York"
NY_NOON = datetime(2026, 3, 10, 16, 0, tzinfo=timezone.utc)    # a Tuesday, 12:00 in New York
DAY = {"tue": [["09:00", "17:00"]]}
NIGHT = {"tue": [["18:00", "23:00"]]}
SAM = "+13125550111"
TEXT = "Homeward: urgent ticket (Overdose reported) waiting 12 min with no peer. Open the inbox."


class Phone:
    """A fake carrier that remembers each text and who it went to."""
    name = "fake"

    def __init__(self):
        self.sent = []

    def send(self, to_address, body):
        self.sent.append((to_address, body))
        return SendResult(f"SM{len(self.sent):032x}", "queued")


def dispatcher(db, sender, worker="w1") -> Dispatcher:
    return Dispatcher(db, sender, policy.load_schedule(),
                      DispatchConfig(worker_id=worker, rate_per_second=1000, program_tz=NY))


def overdose(db, minutes_ago=12, **kw) -> int:
    """Ana wrote that someone is not breathing `minutes_ago` minutes before noon; urgent, 5-minute SLA."""
    ana = make_person(db, "+13125552671", "Ana")
    at = NY_NOON - timedelta(minutes=minutes_ago)
    msg = inbound(db, ana, "he's not breathing, 1200 Main St", at)
    return make_ticket(db, ana, "emergency", "urgent", at, sla_minutes=5, message_id=msg, **kw)


def staff_texts(db) -> list[StaffText]:
    with db.session() as s:
        return list(s.scalars(select(StaffText).order_by(StaffText.id)))


def test_a_breach_texts_the_on_shift_supervisor_once_and_nobody_else(db):
    sam = make_user(db, "sam@example.org", "supervisor", "Sam", shift=DAY, phone=SAM)
    make_user(db, "nia@example.org", "supervisor", "Nia", shift=NIGHT, phone="+13125550112")    # off shift
    make_user(db, "oli@example.org", "supervisor", "Oli", shift=DAY)                            # no number
    make_user(db, "pat@example.org", "supervisor", "Pat", phone="+13125550113")                # no shift: off duty
    make_user(db, "luz@example.org", "peer", "Luz", shift=DAY, phone="+13125550114")           # a peer, not a supervisor
    ticket = overdose(db)
    phone = Phone()
    assert sweeps.sla_breaches(db, NY_NOON, NY) == 1
    assert sweeps.sla_breaches(db, NY_NOON, NY) == 0                   # a second sweep queues nothing
    assert drain(dispatcher(db, phone), NY_NOON).sent == 1
    assert phone.sent == [(f"sms:{SAM}", TEXT)]
    assert "breathing" not in TEXT and "2671" not in TEXT and "Ana" not in TEXT and "Main" not in TEXT
    for minutes in (1, 10, 60):                                        # later ticks: never again
        assert sweeps.sla_breaches(db, NY_NOON + timedelta(minutes=minutes), NY) == 0
        drain(dispatcher(db, phone), NY_NOON + timedelta(minutes=minutes))
    assert len(phone.sent) == 1
    [row] = staff_texts(db)
    assert (row.user_id, row.escalation_id, row.state, row.provider_sid) == (sam, ticket, "sent", "SM" + "0" * 31 + "1")


def test_no_text_before_the_sla_or_once_someone_is_on_it(db):
    make_user(db, "sam@example.org", "supervisor", "Sam", shift=DAY, phone=SAM)
    luz = make_user(db, "luz@example.org", "peer", "Luz", shift=DAY)
    make_ticket(db, make_person(db, "+13125550001", "Bo"), "crisis", "urgent", NY_NOON - timedelta(minutes=3),
                sla_minutes=5)                                                        # 2 minutes left
    make_ticket(db, make_person(db, "+13125550002", "Cy"), "emergency", "urgent", NY_NOON - timedelta(minutes=20),
                sla_minutes=5, assignee_id=luz)                                       # on a peer who is at work
    make_ticket(db, make_person(db, "+13125550003", "Di"), "emergency", "urgent", NY_NOON - timedelta(minutes=20),
                sla_minutes=5, first_response_at=NY_NOON - timedelta(minutes=18))     # answered
    make_ticket(db, make_person(db, "+13125550004", "Ed"), "high_risk", "high", NY_NOON - timedelta(hours=2),
                sla_minutes=30)                                                       # late, but not urgent
    phone = Phone()
    assert sweeps.sla_breaches(db, NY_NOON, NY) == 0
    assert drain(dispatcher(db, phone), NY_NOON).claimed == 0 and phone.sent == []


def test_a_ticket_left_with_an_off_shift_peer_counts_as_unclaimed(db):
    make_user(db, "sam@example.org", "supervisor", "Sam", shift=DAY, phone=SAM)
    away = make_user(db, "zed@example.org", "peer", "Zed", shift={"mon": [["09:00", "17:00"]]})
    overdose(db, assignee_id=away)
    phone = Phone()
    sweeps.sla_breaches(db, NY_NOON, NY)
    drain(dispatcher(db, phone), NY_NOON)
    assert phone.sent == [(f"sms:{SAM}", TEXT)]


def test_killed_between_queueing_and_sending_the_text_goes_out_once(db):
    """The sweep committed its rows, then the worker claimed them and died before sending: a
    restarted sweep adds nothing, and after the lease runs out the next worker sends each once."""
    make_user(db, "sam@example.org", "supervisor", "Sam", shift=DAY, phone=SAM)
    make_user(db, "ray@example.org", "admin", "Ray", shift=DAY, phone="+13125550115")
    overdose(db)
    assert sweeps.sla_breaches(db, NY_NOON, NY) == 2
    assert len(claim(db, "dead-worker", NY_NOON, 10, timedelta(minutes=2), outbox=StaffText)) == 2
    assert sweeps.sla_breaches(db, NY_NOON + timedelta(minutes=1), NY) == 0      # the restarted sweep
    phone = Phone()
    assert drain(dispatcher(db, phone, "w2"), NY_NOON + timedelta(minutes=1)).claimed == 0   # lease still held
    assert drain(dispatcher(db, phone, "w2"), NY_NOON + timedelta(minutes=3)).sent == 2
    assert drain(dispatcher(db, phone, "w2"), NY_NOON + timedelta(minutes=9)).claimed == 0
    assert sorted(to for to, _ in phone.sent) == ["sms:+13125550111", "sms:+13125550115"]
    assert {body for _, body in phone.sent} == {TEXT.replace("12 min", "15 min")}   # the wait when it is sent


def test_a_ticket_claimed_before_the_text_leaves_is_not_texted(db):
    make_user(db, "sam@example.org", "supervisor", "Sam", shift=DAY, phone=SAM)
    luz = make_user(db, "luz@example.org", "peer", "Luz", shift=DAY)
    ticket = overdose(db)
    sweeps.sla_breaches(db, NY_NOON, NY)
    with db.session() as s:
        s.get(Escalation, ticket).assignee_id = luz       # Luz claimed it a moment later
    phone = Phone()
    assert drain(dispatcher(db, phone), NY_NOON).skipped == 1 and phone.sent == []
    [row] = staff_texts(db)
    assert row.state == "skipped" and row.last_error == "the ticket was taken or answered"


def test_reopened_and_overdue_again_is_a_new_alert(db):
    make_user(db, "sam@example.org", "supervisor", "Sam", shift=DAY, phone=SAM)
    ticket = overdose(db)
    phone = Phone()
    sweeps.sla_breaches(db, NY_NOON, NY)
    drain(dispatcher(db, phone), NY_NOON)
    later = NY_NOON + timedelta(hours=2)
    with db.session() as s:                       # resolved, then reopened by a new emergency
        t = s.get(Escalation, ticket)
        t.reopened_count, t.created_at, t.sla_due_at = 1, later - timedelta(minutes=7), later - timedelta(minutes=2)
        t.message_id = None
    assert sweeps.sla_breaches(db, later, NY) == 1
    drain(dispatcher(db, phone), later)
    assert [body for _, body in phone.sent] == [TEXT, TEXT.replace("12 min", "7 min")]


def test_quiet_hours_do_not_hold_a_staff_alert(db):
    late = datetime(2026, 3, 11, 2, 30, tzinfo=timezone.utc)      # 22:30 in New York: quiet hours for people
    make_user(db, "sam@example.org", "supervisor", "Sam", shift=NIGHT, phone=SAM)
    make_ticket(db, make_person(db, "+13125550001", "Bo"), "crisis", "urgent", late - timedelta(minutes=9),
                sla_minutes=5)
    phone = Phone()
    assert sweeps.sla_breaches(db, late, NY) == 1
    assert drain(dispatcher(db, phone), late).sent == 1
    assert phone.sent == [(f"sms:{SAM}", "Homeward: urgent ticket (Crisis) waiting 9 min with no peer. Open the inbox.")]


def test_the_dispatcher_sends_it_through_the_real_twilio_client_to_prism(db, twilio_sender):
    make_user(db, "sam@example.org", "supervisor", "Sam", shift=DAY, phone=SAM)
    overdose(db)
    sweeps.sla_breaches(db, NY_NOON, NY)
    result = drain(dispatcher(db, twilio_sender), NY_NOON)
    assert result.sent == 1 and result.failed == 0
    [row] = staff_texts(db)
    assert row.state == "sent" and row.provider_sid.startswith(("SM", "MM")) and len(row.provider_sid) == 34
