"""POST /twilio/sms and /twilio/status on both databases, signed by twilio's RequestValidator."""
from __future__ import annotations

from xml.etree import ElementTree

from sqlalchemy import func, select

from db.models import Contact, Escalation, Message, Participant, ScheduledMessage
from tests import clock
from tests.twilio_signing import new_sid, signed_post, sms

PHONE = "+13125552671"


def replies(resp) -> list[str]:
    assert resp.status_code == 200, resp.data
    assert resp.mimetype == "text/xml"
    root = ElementTree.fromstring(resp.data)
    assert root.tag == "Response"
    return [m.text or "" for m in root.findall("Message")]


def count(db, model, *where):
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(model).where(*where))


def test_unsigned_and_badly_signed_requests_are_refused_and_store_nothing(client, db):
    params = {"MessageSid": new_sid(), "From": PHONE, "To": "+15005550006", "Body": "hi"}
    assert client.post("/twilio/sms", data=params).status_code == 403
    assert signed_post(client, "/twilio/sms", params, signature="bm90IGEgc2lnbmF0dXJl").status_code == 403
    # signed for another URL (a replay against a different deployment)
    assert signed_post(client, "/twilio/sms", params, base="https://evil.example").status_code == 403
    assert signed_post(client, "/twilio/status", {"MessageSid": "SMx", "MessageStatus": "sent"},
                       token="wrong-token").status_code == 403
    assert count(db, Message) == 0


def test_the_signature_is_computed_as_twilios_validator_computes_it():
    """bot/channels/twilio_webhook.py signs the string itself (no RequestValidator per request)."""
    from twilio.request_validator import RequestValidator
    from werkzeug.datastructures import MultiDict

    from bot.channels.twilio_webhook import _signature
    url = "https://homeward.example.org/twilio/sms"
    for form in (MultiDict(), MultiDict({"MessageSid": new_sid(), "From": PHONE, "Body": "¿Dónde? 💊 <&>"}),
                 MultiDict([("b", "2"), ("a", "y"), ("a", "x"), ("a", "y"), ("MediaUrl0", ""), ("É", "ü")])):
        for token in ("test-auth-token-0123456789abcdef", "another"):
            assert _signature(token, url, form) == RequestValidator(token).compute_signature(url, form)


def test_no_auth_token_configured_refuses_everything(db_url):
    from tests.conftest import make_test_app
    app = make_test_app(db_url, TWILIO_AUTH_TOKEN="")
    resp = sms(app.test_client(), PHONE, "hi")
    assert resp.status_code == 403
    assert b"TWILIO_AUTH_TOKEN" in resp.data


def test_first_text_gets_the_welcome_and_is_stored_with_the_replies(client, db):
    out = replies(sms(client, PHONE, "hello"))
    assert "STOP" in " ".join(out) and out[-1].endswith("Reply YES or NO.")
    with db.session() as s:
        contact = s.scalar(select(Contact))
        assert contact.address == "sms:" + PHONE
        inbound = s.scalar(select(Message).where(Message.direction == "in"))
        assert inbound.body == "hello" and inbound.status == "processed"
        stored = list(s.scalars(select(Message).where(Message.direction == "out").order_by(Message.id)))
        assert [m.body for m in stored] == out and {m.reply_to_id for m in stored} == {inbound.id}


def test_menu_from_any_state_and_anything_unclear_gets_one_short_question_not_an_error(client):
    replies(sms(client, PHONE, "hello"))                    # the welcome starts and waits for YES/NO
    menu = replies(sms(client, PHONE, "MENU"))
    assert len(menu) == 1 and "1" in menu[0] and "HELP" in menu[0].upper()
    unclear = replies(sms(client, PHONE, "asdf qwerty"))      # issue 13: never the bare menu
    assert len(unclear) == 1 and unclear[0].startswith("Do you want") and unclear[0].endswith("?")


def test_redelivery_changes_nothing_and_returns_the_same_reply(client, db):
    sid = new_sid()
    first = replies(sms(client, PHONE, "he's not breathing", sid=sid))
    second = replies(sms(client, PHONE, "he's not breathing", sid=sid))
    assert first == second and "911" in first[0]
    assert count(db, Message, Message.direction == "in") == 1
    assert count(db, Escalation) == 1


def test_a_redelivery_leaves_the_contact_and_the_check_in_as_they_were(app, client, db):
    """The store writes the touch and the check-in mark only with the message (PostgreSQL: in the
    one statement, which is its own transaction; SQLite: rolled back)."""
    from datetime import timedelta
    sms(client, PHONE, "hi")                                   # a known address from here on
    sid, at = new_sid(), clock.pinned()
    assert sms(client, PHONE, "3", sid=sid).status_code == 200
    with db.session() as s:
        contact = s.scalar(select(Contact).where(Contact.address == f"sms:{PHONE}"))
        contact.last_inbound_at = before = at - timedelta(days=3)
        s.add(Message(participant_id=contact.participant_id, direction="out", channel="sms", kind="nudge",
                      body="(seed)", status="sent", created_at=at - timedelta(hours=1),
                      updated_at=at - timedelta(hours=1)))
    assert sms(client, PHONE, "3", sid=sid).status_code == 200
    with db.session() as s:
        assert s.scalar(select(Contact.last_inbound_at).where(Contact.address == f"sms:{PHONE}")) == before
        assert s.scalar(select(Message.answered_at).where(Message.kind == "nudge")) is None
    assert count(db, Message, Message.provider_sid == sid) == 1
    assert sms(client, PHONE, "4").status_code == 200          # a new text touches and marks
    with db.session() as s:
        assert s.scalar(select(Contact.last_inbound_at).where(Contact.address == f"sms:{PHONE}")) == at
        assert s.scalar(select(Message.answered_at).where(Message.kind == "nudge")) == at


def test_emergency_gets_911_and_naloxone_steps_and_an_urgent_ticket(client, db):
    out = replies(sms(client, PHONE, "HELP my friend isnt breathing and his lips are blue"))
    text = " ".join(out)
    assert "911" in text and ("naloxone" in text.lower() or "narcan" in text.lower())
    with db.session() as s:
        ticket = s.scalar(select(Escalation))
        assert ticket.priority == "urgent" and ticket.reason == "emergency" and ticket.status == "open"


def test_spanish_emergency_is_answered_in_spanish(client):
    text = " ".join(replies(sms(client, PHONE, "mi amigo no respira")))
    assert "911" in text and "naloxona" in text.lower()


def test_crisis_gets_988(client, db):
    text = " ".join(replies(sms(client, PHONE, "i want to kill myself")))
    assert "988" in text
    assert count(db, Escalation, Escalation.priority == "urgent") == 1


def test_stop_opts_out_cancels_pending_and_nothing_more_is_sent(client, db):
    from datetime import timedelta
    replies(sms(client, PHONE, "hello"))
    with db.session() as s:
        person = s.scalar(select(Participant))
        s.add(ScheduledMessage(participant_id=person.id, kind="nudge", dedupe_key="nudge:1",
                               template_key="checkin", due_at=clock.NOW + timedelta(days=1)))
    assert replies(sms(client, PHONE, "  stop ")) == []   # Twilio sends the carrier confirmation
    with db.session() as s:
        person = s.scalar(select(Participant))
        assert person.opted_out
        assert s.scalar(select(ScheduledMessage.state)) == "cancelled"
    # ordinary texts after STOP are stored but get no reply
    assert replies(sms(client, PHONE, "what's up")) == []
    assert count(db, Message, Message.direction == "in") == 3
    # an emergency is still answered: they wrote first
    assert "911" in " ".join(replies(sms(client, PHONE, "she wont wake up")))
    # START opts back in
    assert replies(sms(client, PHONE, "START"))
    with db.session() as s:
        assert not s.scalar(select(Participant)).opted_out


def test_spanish_stop_and_help(client, db):
    help_text = " ".join(replies(sms(client, PHONE, "AYUDA")))
    assert "988" in help_text and "911" in help_text
    # Twilio confirms its English words only: PARAR gets our one confirmation, in Spanish
    confirmed = replies(sms(client, PHONE, "parar"))
    assert len(confirmed) == 1 and "ya no te va a mandar mensajes" in confirmed[0] and "COMENZAR" in confirmed[0]
    with db.session() as s:
        assert s.scalar(select(Participant)).opted_out
    assert replies(sms(client, PHONE, "hola")) == []          # and nothing after it


def test_help_names_the_program_and_how_to_stop(client):
    text = " ".join(replies(sms(client, PHONE, "help")))
    assert "Homeward" in text and "STOP" in text and "988" in text and "911" in text


def test_odd_bodies_get_sensible_replies(client, db):
    """Each odd body is processed (a crash would give the fallback, mark it failed and open a
    ticket): empty and picture-only get their own answers, the rest a real answer."""
    from core import messages
    fallback = messages.text("fallback", "en", program="Homeward")
    assert replies(sms(client, PHONE, "")) == [messages.text("empty", "en", program="Homeward")]
    for body in ("x" * 1600, "🙂🙂 hola", "我很好 谢谢"):
        got = replies(sms(client, PHONE, body))
        assert got and fallback not in got, body
    media = replies(sms(client, PHONE, "", NumMedia="1", MediaUrl0="https://api.twilio.com/x.jpg"))
    assert media == [messages.text("media_only", "en", program="Homeward")]
    with db.session() as s:
        inbound = s.execute(select(Message.body, Message.status).where(Message.direction == "in")
                            .order_by(Message.id)).all()
        assert s.scalar(select(func.count()).select_from(Escalation)
                        .where(Escalation.reason == "processing_failed")) == 0
    assert [b for b, _ in inbound] == ["", "x" * 1600, "🙂🙂 hola", "我很好 谢谢", ""]
    assert {st for _, st in inbound} == {"processed"}


def test_malformed_webhook_gets_a_clear_400(client, db):
    resp = signed_post(client, "/twilio/sms", {"Body": "hi"})
    assert resp.status_code == 400 and b"MessageSid" in resp.data
    assert count(db, Message) == 0


def test_failure_during_processing_keeps_the_message_escalates_and_answers(app, client, db, monkeypatch):
    from core import conversation

    def broken(*a, **k):
        raise RuntimeError("boom")
    monkeypatch.setattr(conversation, "decide", broken)
    out = replies(sms(client, PHONE, "I need to talk"))
    assert out and "911" in out[0]
    with db.session() as s:
        msg = s.scalar(select(Message).where(Message.direction == "in"))
        assert msg.body == "I need to talk" and msg.status == "failed"
        ticket = s.scalar(select(Escalation))
        assert ticket.reason == "processing_failed" and ticket.message_id == msg.id


def test_whatsapp_sender_is_its_own_contact(client, db):
    replies(sms(client, "whatsapp:" + PHONE, "hi"))
    with db.session() as s:
        assert s.scalar(select(Contact.address)) == "whatsapp:" + PHONE


def test_status_callback_updates_status_and_21610_opts_out(client, db):
    replies(sms(client, PHONE, "hello"))
    with db.session() as s:
        person = s.scalar(select(Participant))
        s.add(Message(participant_id=person.id, contact_id=s.scalar(select(Contact.id)), direction="out",
                      channel="sms", kind="nudge", body="hi", provider_sid="SMout1", status="queued"))
    ok = signed_post(client, "/twilio/status", {"MessageSid": "SMout1", "MessageStatus": "delivered"})
    assert ok.status_code == 204
    # a late "sent" must not move a delivered message backwards
    signed_post(client, "/twilio/status", {"MessageSid": "SMout1", "MessageStatus": "sent"})
    with db.session() as s:
        assert s.scalar(select(Message.status).where(Message.provider_sid == "SMout1")) == "delivered"
    signed_post(client, "/twilio/status", {"MessageSid": "SMout1", "MessageStatus": "failed", "ErrorCode": "21610"})
    with db.session() as s:
        msg = s.scalar(select(Message).where(Message.provider_sid == "SMout1"))
        assert msg.status == "failed" and msg.error_code == "21610"
        assert s.scalar(select(Participant)).opted_out


def test_logs_never_hold_the_number_or_the_body(client, caplog):
    import logging
    from logs import JsonFormatter
    caplog.set_level(logging.INFO)
    replies(sms(client, PHONE, "my secret words"))
    formatted = "\n".join(JsonFormatter().format(r) for r in caplog.records)
    assert "my secret words" not in formatted
    assert PHONE not in formatted and "3125552671" not in formatted
    assert "+1******2671" in formatted


def test_every_response_carries_a_request_id(client):
    resp = client.get("/healthz")
    assert len(resp.headers["X-Request-Id"]) >= 16
