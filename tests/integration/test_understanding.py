"""Issue 13's failures, through the real webhook (/twilio/sms) on both databases: what people
actually text gets what they asked for, from any point in a conversation."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from sqlalchemy import select

from bot.site_store import DEFAULT_DIR, import_file
from core.sites_import import PRESETS
from db.models import Conversation, Escalation, Event, Message, Participant
from tests.integration.test_webhook import replies
from tests.twilio_signing import sms

PHONE = "+19375550188"
NOW = datetime(2026, 12, 1, 20, 0, tzinfo=timezone.utc)     # a Tuesday, 3 pm in Dayton


@pytest.fixture(autouse=True)
def pinned_clock(app):
    app.extensions["homeward.clock"] = lambda: NOW


@pytest.fixture
def sites(db):
    with db.session() as s:
        import_file(s, DEFAULT_DIR / "local_demo.csv", PRESETS["local"])
    return db


def text(client, body, phone=PHONE):
    return replies(sms(client, phone, body))


def person(db):
    with db.session() as s:
        return s.scalar(select(Participant))


def test_naloxone_in_a_city_while_a_yes_no_question_waits(client, sites):
    assert "YES or NO" in text(client, "hi")[-1]                 # the welcome's consent question
    out = text(client, "naloxone in dayton ohio")
    joined = "\n".join(out)
    assert "Dayton" in joined and " mi" in joined                 # places, not "Sorry, I didn't catch that"
    assert "didn't catch" not in joined and "Is it OK if we text you" not in joined
    assert "YES or NO" in text(client, "JOIN")[-1]                # the consent question again
    out = text(client, "where can i get narcan in dayton ohio")   # a sentence, too
    assert "DEMO Homeward Naloxone Pickup" in "\n".join(out)
    with sites.session() as s:
        assert "interrupted" in set(s.scalars(select(Conversation.outcome)))


def test_can_somebody_call_me_opens_a_ticket(client, db):
    text(client, "hi")
    out = text(client, "can somebody call me")
    assert any("will write back" in t for t in out)   # a peer will answer, and when
    with db.session() as s:
        ticket = s.scalar(select(Escalation))
    assert ticket is not None and ticket.reason == "peer_request" and ticket.status == "open"


def test_does_narcan_work_on_fentanyl_is_answered_and_the_welcome_goes_on(client, db):
    text(client, "hi")
    out = text(client, "does narcan work on fentanyl")
    assert len(out) == 2 and "works on fentanyl" in out[0] and "second dose" in out[0]
    assert "Is it OK if we text you" in out[1]          # the consent question, asked again
    assert "Which language" in text(client, "ok")[0]     # and their yes answers it


def test_quit_texting_me_says_how_and_never_opts_out(client, db):
    text(client, "hi")
    out = text(client, "quit texting me")
    assert len(out) == 1 and "reply STOP" in out[0]
    assert person(db).opted_out_at is None
    text(client, "STOP")                                          # the carrier keyword still works
    assert person(db).opted_out_at is not None


def test_espanol_then_checkin_stays_spanish(client, db):
    text(client, "hi")
    assert "español" in text(client, "ESPAÑOL")[0]
    out = text(client, "CHECKIN")
    assert "¿Cómo estás hoy?" in out[0]
    assert "Cada buen día cuenta" in text(client, "5")[0]
    p = person(db)
    assert p.language == "es" and p.fields["lang_chosen"] == "es"


def test_a_spanish_crisis_is_answered_in_spanish(client, db):
    text(client, "hi")                                            # an English speaker so far
    out = text(client, "ya no quiero vivir")
    assert out and "988" in out[0] and "Tu vida importa" in out[0]
    with db.session() as s:
        assert s.scalar(select(Escalation.reason)) == "crisis"


def test_a_first_text_that_is_a_request_is_answered_then_the_welcome_follows(client, sites):
    out = text(client, "where can i get narcan in dayton ohio")
    joined = "\n".join(out)
    assert "DEMO Homeward Naloxone Pickup" in joined              # the request was not dropped
    assert "Is it OK if we text you" not in joined                # no four-part welcome instead
    welcome = text(client, "ok")
    assert "Reply YES or NO" in welcome[-1]                       # the consent question comes next
    text(client, "yes")
    assert person(sites).consent_at is not None


def test_bad_input_gets_a_short_answer_and_is_stored(client, db):
    text(client, "hi")
    for body in ["😀😀😀", "?!?!...", "x" * 1600, "привет hola"]:
        out = text(client, body)
        assert out and all(len(t) <= 320 for t in out), body
    with db.session() as s:
        bodies = list(s.scalars(select(Message.body).where(Message.direction == "in")))
        events = list(s.scalars(select(Event.name)))
    assert "x" * 1600 in bodies and "😀😀😀" in bodies
    assert "processing_failed" not in events
