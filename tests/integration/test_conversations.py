"""Whole conversations by text through /twilio/sms, on both databases."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import select

from db.models import Conversation, Escalation, FlowVersion, Participant, ScheduledMessage
from tests.integration.test_webhook import replies
from tests.twilio_signing import sms

PHONE = "+17735550142"


def text(client, body, phone=PHONE):
    return replies(sms(client, phone, body))


def test_texting_join_self_enrolls_with_consent_release_date_and_nudges(client, db):
    from zoneinfo import ZoneInfo
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
        assert person.release_date == datetime.now(ZoneInfo(person.timezone)).date()
        nudges = list(s.scalars(select(ScheduledMessage).where(ScheduledMessage.state == "pending")))
    assert len(nudges) >= 15 and all(n.due_at > datetime.now(timezone.utc) for n in nudges)


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
    from bot.flows.registry import FlowError
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
    """Twilio delivers two texts sent a moment apart at the same time. While the first is being
    decided the person's state is locked, so the second is decided from the state the first
    left: "yes" answers the consent question, then "1" the language one (not both the same)."""
    import threading

    from bot import conversation
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
    go_on.set()
    first.join(60)
    second.join(60)
    assert locked == [True], "another message could read the state while the first was being decided"
    assert "language" in answers["first"][0]
    assert "call you" in answers["second"][0]
