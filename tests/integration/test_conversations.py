"""Whole conversations by text through /twilio/sms, on both databases."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import select

from db.models import Conversation, Escalation, FlowVersion, Participant, ScheduledMessage
from tests import clock
from tests.integration.test_webhook import replies
from tests.twilio_signing import sms

PHONE = "+17735550142"


def text(client, body, phone=PHONE):
    return replies(sms(client, phone, body))


def test_texting_join_self_enrolls_with_consent_release_date_and_nudges(app, client, db):
    from zoneinfo import ZoneInfo
    now = datetime(2025, 6, 10, 3, 30, tzinfo=timezone.utc)       # 23:30 the day before in New York
    app.extensions["homeward.clock"] = lambda: now
    assert "STOP" in " ".join(text(client, "JOIN"))
    assert "language" in text(client, "yes")[0]
    assert "call you" in text(client, "1")[0]
    assert "get home" in text(client, "Dee")[0]
    assert "check-in" in text(client, "today")[0]
    assert "all set" in text(client, "6pm")[0]
    with db.session() as s:
        person = s.scalar(select(Participant))
        assert person.consent_at is not None and person.consent_channel == "sms" and person.status == "active"
        assert person.first_name == "Dee" and person.checkin_time == "18:00"
        assert person.release_date == now.astimezone(ZoneInfo(person.timezone)).date()
        nudges = list(s.scalars(select(ScheduledMessage).where(ScheduledMessage.state == "pending")))
    assert len(nudges) >= 15 and all(n.due_at > now for n in nudges)


def test_checkin_struggling_offers_a_peer_and_opens_a_high_ticket(client, db):
    text(client, "hi")                         # first contact: welcome
    first = text(client, "CHECKIN")           # a trigger word interrupts it from any state
    assert "1 (really rough) to 5 (really good)" in first[0]
    offer = text(client, "2")
    assert "peer" in offer[0].lower() and "YES or NO" in offer[0]
    after = text(client, "yes")
    assert any("988" in t for t in after)
    with db.session() as s:
        ticket = s.scalar(select(Escalation))
        assert ticket.reason == "struggling" and ticket.priority == "high"
        ended = list(s.scalars(select(Conversation.outcome).where(Conversation.status == "ended")))
        assert "interrupted" in ended


def test_whole_checkin_in_spanish_and_switching_language_mid_question(client, db):
    text(client, "hola")
    question = text(client, "CHEQUEO")
    assert "¿Cómo estás hoy?" in question[0]
    switched = text(client, "ENGLISH")
    assert any("1 (really rough) to 5 (really good)" in t for t in switched)
    back = text(client, "ESPAÑOL")
    assert any("Responde del 1 (muy mal) al 5 (muy bien)" in t for t in back)
    done = text(client, "muy bien")
    assert "Cada buen día cuenta" in done[0]
    with db.session() as s:
        assert s.scalar(select(Participant.language)) == "es"


def test_a_running_conversation_finishes_on_the_version_it_started_with(app, client, db):
    text(client, "hi")
    text(client, "CHECKIN")
    store = app.extensions["homeward.flows"]
    with db.session() as s:
        source = s.scalar(select(FlowVersion.source).where(FlowVersion.name == "checkin"))
        new = source.replace("Glad to hear it. Every good day counts.", "Love to hear it. Every good day counts.")
        assert store.publish(s, "checkin", new) == 2
    assert text(client, "5")[0].startswith("Glad to hear it.")      # started on version 1
    text(client, "CHECKIN")
    assert text(client, "5")[0].startswith("Love to hear it.")      # a new conversation uses version 2
    with db.session() as s:
        versions = list(s.scalars(select(Conversation.flow_version).where(Conversation.flow == "checkin")
                                  .order_by(Conversation.id)))
    assert versions == [1, 2]


def test_publishing_an_invalid_flow_is_refused_with_the_line(app, db):
    import pytest
    from core.flows.registry import FlowError
    store = app.extensions["homeward.flows"]
    with db.session() as s:
        store.registry(s)
        source = s.scalar(select(FlowVersion.source).where(FlowVersion.name == "checkin"))
        broken = source.replace("next: struggling", "next: strugling")
        with pytest.raises(FlowError) as err:
            store.publish(s, "checkin", broken)
    assert "strugling" in str(err.value) and "checkin.yaml:" in str(err.value)


def test_no_reply_reminds_once_through_the_outbox_then_ends(app, client, db):
    text(client, "hi")
    text(client, "CHECKIN")
    runtime = app.extensions["homeward.runtime"]
    with db.session() as s:
        convo = s.scalar(select(Conversation).where(Conversation.status == "active"))
        due = convo.timeout_at
    assert due is not None
    assert runtime.run_timeouts(due - timedelta(minutes=1)) == 0
    assert runtime.run_timeouts(due + timedelta(minutes=1)) == 1
    with db.session() as s:
        reminder = s.scalar(select(ScheduledMessage).where(ScheduledMessage.kind == "reply"))
        assert "no pressure" in reminder.body and reminder.state == "pending"
        second_due = s.scalar(select(Conversation.timeout_at).where(Conversation.status == "active"))
    runtime.run_timeouts(second_due + timedelta(minutes=1))
    with db.session() as s:
        convo = s.scalar(select(Conversation).where(Conversation.flow == "checkin"))
        assert convo.status == "ended" and convo.outcome == "timed_out"


def _state_is_locked(db, person_id: int) -> bool:
    """Could another message of this person read their state right now? (No waiting: SQLite's
    write lock or PostgreSQL's row lock is either free or not.)"""
    from sqlalchemy import text as sql
    from sqlalchemy.exc import OperationalError
    with db.engine.connect() as conn:
        try:
            if db.is_sqlite:
                conn.exec_driver_sql("PRAGMA busy_timeout=0")
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            else:
                conn.execute(sql("SELECT id FROM participants WHERE id = :id FOR UPDATE NOWAIT"), {"id": person_id})
            return False
        except OperationalError:
            return True
        finally:
            conn.rollback()
            if db.is_sqlite:
                conn.exec_driver_sql("PRAGMA busy_timeout=30000")


def test_two_quick_texts_from_one_person_are_answered_in_turn(app, db, monkeypatch):
    """Twilio delivers two texts sent a moment apart at the same time, and each is decided from
    the state the other left, never both from the same one. PostgreSQL: the first is decided
    with the person locked, so "yes" answers the consent question, then "1" the language one.
    SQLite decides before its writer's turn (Runtime._decided_ahead): held up there, the first
    does not hold up the second, whose "1" answers the consent question ("YES or NO"); the first's
    decision, made from a state that changed meanwhile, is made again, and its "yes" gets the
    language question (once, not twice)."""
    import threading

    from core import conversation
    text(app.test_client(), "hi")                          # the welcome asks for consent
    with db.session() as s:
        person_id = s.scalar(select(Participant.id))
    real_decide, inside, go_on, locked = conversation.decide, threading.Event(), threading.Event(), []

    def paused_decide(*args, **kwargs):
        if threading.current_thread().name == "first":
            inside.set()
            assert go_on.wait(30)
        return real_decide(*args, **kwargs)
    monkeypatch.setattr(conversation, "decide", paused_decide)
    answers = {}

    def send(name, body):
        answers[name] = text(app.test_client(), body)
    first = threading.Thread(target=send, args=("first", "yes"), name="first")
    first.start()
    assert inside.wait(30)
    locked.append(_state_is_locked(db, person_id))
    second = threading.Thread(target=send, args=("second", "1"), name="second")
    second.start()
    if db.is_sqlite:
        second.join(60)      # nothing holds it up: answered before the first is let go
    go_on.set()
    first.join(60)
    second.join(60)
    assert "language" in answers["first"][0]
    if db.is_sqlite:
        assert locked == [False], "the first text held the writer's turn while it was being decided"
        assert "YES or NO" in answers["second"][0]
        return
    assert locked == [True], "another message could read the state while the first was being decided"
    assert "call you" in answers["second"][0]


def test_a_decision_made_before_a_stop_that_lands_first_is_made_again(app, db, monkeypatch):
    """"2" answers the day's check-in, and a STOP sent just after it is processed first (on
    SQLite after "2" was decided, before its writer's turn; on PostgreSQL before its lock). What
    "2" gets is decided from the state STOP left: nothing is texted to a person who opted out,
    and no ticket is opened on a decision made before the opt-out."""
    import threading

    from bot.runtime import Runtime
    client = app.test_client()
    text(client, "hi")
    assert "1 (really rough)" in text(client, "CHECKIN")[0]
    real_opening, stopped = Runtime._opening, []

    def opening(self, stored, now):
        if not stopped:            # once, for "2": STOP is sent and processed in full meanwhile
            stopped.append(threading.Thread(target=lambda: stopped.append(text(app.test_client(), "STOP"))))
            stopped[0].start()
            stopped[0].join(60)
        return real_opening(self, stored, now)
    monkeypatch.setattr(Runtime, "_opening", opening)
    assert text(client, "2") == []
    assert len(stopped) == 2, "STOP was not processed"
    with db.session() as s:
        assert s.scalar(select(Participant.opted_out_at)) is not None
        assert s.scalar(select(Escalation.id).where(Escalation.reason == "struggling")) is None


def test_a_text_arriving_while_stop_is_processed_is_stored_and_both_take_effect(app, db, monkeypatch):
    """STOP and another text a moment later: the second is stored while STOP is still being
    decided (it must not wait on, or deadlock with, the person's lock), then answered after it.
    Nothing is lost: the opt-out is recorded on the person and the number, and the text is kept."""
    import threading

    from core import conversation
    from bot.runtime import Inbound, Runtime
    from db.models import Contact, Message
    runtime = app.extensions["homeward.runtime"]
    now = clock.NOW
    runtime.handle(Inbound("sms", f"sms:{PHONE}", "hello", "SM" + "1" * 32), now)
    real_decide, real_process = conversation.decide, Runtime.process
    deciding_stop, second_stored, go_on = threading.Event(), threading.Event(), threading.Event()

    def paused_decide(*args, **kwargs):
        if threading.current_thread().name == "stop":
            deciding_stop.set()
            assert go_on.wait(30)
        return real_decide(*args, **kwargs)

    def process(self, inbound, stored, at, **kw):
        if threading.current_thread().name == "second":
            second_stored.set()          # the store committed; processing waits for STOP's lock
        return real_process(self, inbound, stored, at, **kw)
    monkeypatch.setattr(conversation, "decide", paused_decide)
    monkeypatch.setattr(Runtime, "process", process)
    results = {}

    def send(name, body, sid):
        try:
            results[name] = runtime.handle(Inbound("sms", f"sms:{PHONE}", body, sid), now)
        except Exception as exc:   # noqa: BLE001 - what the webhook would have answered 500 for
            results[name] = exc
    stop = threading.Thread(target=send, args=("stop", "STOP", "SM" + "2" * 32), name="stop")
    stop.start()
    assert deciding_stop.wait(30)
    second = threading.Thread(target=send, args=("second", "one more thing", "SM" + "3" * 32), name="second")
    second.start()
    if not db.is_sqlite:             # SQLite: the second text's store waits for STOP's write lock
        assert second_stored.wait(30), "the next text could not be stored while STOP was being processed"
    go_on.set()
    stop.join(60)
    second.join(60)
    assert not any(isinstance(r, Exception) for r in results.values()), results
    assert not results["stop"].failed and not results["second"].failed
    with db.session() as s:
        inbound = dict(s.execute(select(Message.body, Message.status).where(Message.direction == "in")).all())
        assert inbound == {"hello": "processed", "STOP": "processed", "one more thing": "processed"}
        assert s.scalar(select(Participant.opted_out_at)) is not None
        assert s.scalar(select(Contact.opted_out_at)) is not None


def test_a_text_whose_sender_is_merged_before_it_is_processed_is_answered_as_the_kept_person(app, db):
    """A peer merges two records in the moment between a text being stored and being processed:
    the text is decided for, and its reply filed under, the record that was kept."""
    from bot.merging import merge
    from bot.runtime import Inbound
    from db.models import Message
    runtime = app.extensions["homeward.runtime"]
    now = clock.NOW
    with db.session() as s:
        keep = Participant(status="active", first_name="Dee", fields={}, language="es")
        s.add(keep)
        s.flush()
        keep_id = keep.id
    inbound = Inbound("sms", f"sms:{PHONE}", "hola", "SM" + "4" * 32)
    stored = runtime.store(inbound, now)
    with db.session() as s:
        merge(s, s.get(Participant, keep_id), s.get(Participant, stored.participant_id), now)
    replies, _ = runtime.process(inbound, stored, now)
    assert replies and all(r for r in replies)
    with db.session() as s:
        owners = set(s.scalars(select(Message.participant_id)))
        assert owners == {keep_id}
        assert s.get(Participant, keep_id).last_inbound_at is not None
