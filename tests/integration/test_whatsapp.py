"""WhatsApp through Twilio on both databases: inbound on the same signed /twilio/sms webhook,
one person across SMS and WhatsApp, and outbound through the real twilio client against Prism
inside the 24-hour window (free text), outside it (the approved template) or held."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from core import whatsapp
from bot.contacts import link_contact, release_held
from db.models import Contact, Message, Participant, ScheduledMessage
from core import policy
from scheduler.dispatch import DispatchConfig, Dispatcher
from scheduler.worker import drain
from tests import clock
from tests.staff import login, make_person, make_user
from tests.twilio_signing import sms

PHONE = "+13125552671"
NY = ZoneInfo("America/New_York")
NOON = datetime(2026, 12, 1, 12, tzinfo=NY).astimezone(timezone.utc)
TEMPLATE = "HX" + "0123456789abcdef" * 2


def requests_to(sender) -> list[dict]:
    """Capture what the twilio client actually posts (to Prism), as {param: value}."""
    seen, original = [], sender.client.http_client.request

    def spy(method, url, params=None, data=None, headers=None, **kw):
        seen.append({k: v for k, v in (data or {}).items()})
        return original(method, url, params=params, data=data, headers=headers, **kw)
    sender.client.http_client.request = spy
    return seen


def whatsapp_person(db, last_inbound: datetime | None, body="Hi Ana, it's Luis.", kind="peer") -> int:
    with db.session() as s:
        person = Participant(first_name="Ana", status="active", timezone="America/New_York", fields={},
                             last_inbound_at=last_inbound, consent_at=NOON - timedelta(days=10))
        s.add(person)
        s.flush()
        s.add(Contact(participant_id=person.id, channel="whatsapp", address=f"whatsapp:{PHONE}",
                      last_inbound_at=last_inbound))
        s.add(ScheduledMessage(participant_id=person.id, kind=kind, dedupe_key="t:1", body=body, due_at=NOON,
                               quiet_ok=True, created_at=NOON, updated_at=NOON))
        return person.id


def dispatch(db, sender, now=NOON):
    d = Dispatcher(db, sender, policy.load_schedule(), DispatchConfig(worker_id="w1", rate_per_second=1000))
    return drain(d, now)


def one(db, model, *where):
    with db.session() as s:
        return s.scalar(select(model).where(*where))


# -- inbound ------------------------------------------------------------------------------------------
def test_whatsapp_on_the_sms_webhook_is_its_own_channel_with_the_same_runtime(client, db):
    resp = sms(client, f"whatsapp:{PHONE}", "he's not breathing")
    assert resp.status_code == 200 and b"911" in resp.data
    contact = one(db, Contact)
    assert (contact.channel, contact.address) == ("whatsapp", f"whatsapp:{PHONE}")
    assert contact.last_inbound_at is not None
    assert {m.channel for m in (one(db, Message, Message.direction == "in"),)} == {"whatsapp"}


def test_a_whatsapp_number_that_matches_an_sms_contact_joins_that_person(client, db):
    pid = make_person(db, PHONE)
    sms(client, f"whatsapp:{PHONE}", "hola")
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(Participant)) == 1
        contacts = list(s.scalars(select(Contact).order_by(Contact.id)))
    assert [(c.participant_id, c.channel) for c in contacts] == [(pid, "sms"), (pid, "whatsapp")]


def test_link_contact_links_phone_channels_only(db):
    sms_person = make_person(db, "+13125550001")
    with db.session() as s:
        wa_person = Participant(status="prospect", fields={})
        s.add(wa_person)
        s.flush()
        s.add(Contact(participant_id=wa_person.id, channel="whatsapp", address="whatsapp:+13125550002"))
        merged = Participant(status="merged", merged_into_id=sms_person, fields={})
        s.add(merged)
        s.flush()
        s.add(Contact(participant_id=merged.id, channel="sms", address="sms:+13125550003"))
    with db.session() as s:
        assert link_contact(s, "whatsapp", "whatsapp:+13125550001").participant_id == sms_person
        assert link_contact(s, "sms", "sms:+13125550002").participant_id == wa_person.id     # the reverse
        assert link_contact(s, "whatsapp", "whatsapp:+13125550003").participant_id == sms_person  # merged
        assert link_contact(s, "whatsapp", "whatsapp:+13125559999") is None
        assert link_contact(s, "webchat", "webchat:+13125550001") is None


# -- outbound through the dispatcher -----------------------------------------------------------------------
def test_inside_the_window_the_text_goes_as_written(db, twilio_sender):
    pid = whatsapp_person(db, NOON - timedelta(hours=2))
    posted = requests_to(twilio_sender)
    assert dispatch(db, twilio_sender).sent == 1
    assert posted[-1]["To"] == f"whatsapp:{PHONE}" and posted[-1]["Body"] == "Hi Ana, it's Luis."
    assert "ContentSid" not in posted[-1]
    msg = one(db, Message, Message.participant_id == pid)
    assert msg.channel == "whatsapp" and len(msg.provider_sid) == 34 and msg.status != "held"


def test_outside_the_window_the_approved_template_is_sent_with_the_text_as_its_variable(db, twilio_sender):
    pid = whatsapp_person(db, NOON - timedelta(days=3))
    twilio_sender.whatsapp_template_sid = TEMPLATE
    posted = requests_to(twilio_sender)
    assert dispatch(db, twilio_sender).sent == 1       # Prism checked ContentSid against Twilio's own description
    assert posted[-1]["ContentSid"] == TEMPLATE and "Body" not in posted[-1]
    assert json.loads(posted[-1]["ContentVariables"]) == {"1": "Hi Ana, it's Luis."}
    msg = one(db, Message, Message.participant_id == pid)
    assert len(msg.provider_sid) == 34 and msg.status != "held" and msg.error_code is None


def test_outside_the_window_without_a_template_it_is_held_and_the_inbox_says_why(app, db, client, twilio_sender):
    pid = whatsapp_person(db, NOON - timedelta(days=3))
    posted = requests_to(twilio_sender)
    result = dispatch(db, twilio_sender)
    assert result.sent == 0 and result.skipped == 1 and posted == []
    row = one(db, ScheduledMessage, ScheduledMessage.participant_id == pid)
    assert (row.state, row.last_error) == ("held", "held: outside WhatsApp 24-hour window")
    msg = one(db, Message, Message.participant_id == pid)
    assert (msg.status, msg.error_code) == ("held", whatsapp.HELD_CODE)
    assert dispatch(db, twilio_sender, NOON + timedelta(hours=1)).claimed == 0      # stays held
    make_user(db, "luis@example.org", "peer")
    login(client, "luis@example.org")
    assert "held: outside WhatsApp 24-hour window" in client.get(f"/people/{pid}").text


def test_a_held_message_goes_out_once_the_person_writes_again(db, twilio_sender):
    pid = whatsapp_person(db, NOON - timedelta(days=3))
    dispatch(db, twilio_sender)
    later = NOON + timedelta(hours=2)
    with db.session() as s:               # what the runtime does for an inbound WhatsApp message
        s.scalar(select(Contact)).last_inbound_at = later
        assert release_held(s, pid, later) == 1
    posted = requests_to(twilio_sender)
    assert dispatch(db, twilio_sender, later + timedelta(minutes=1)).sent == 1
    assert posted[-1]["Body"] == "Hi Ana, it's Luis."
    msg = one(db, Message, Message.participant_id == pid)
    assert msg.error_code is None and msg.status != "held" and len(msg.provider_sid) == 34
    assert one(db, ScheduledMessage, ScheduledMessage.participant_id == pid).state == "sent"


def test_an_inbound_whatsapp_message_releases_what_was_held(app, client, db):
    pid = make_person(db, PHONE)
    with db.session() as s:
        s.add(ScheduledMessage(participant_id=pid, kind="peer", dedupe_key="held:1", body="Hi", due_at=NOON,
                               state="held", last_error=whatsapp.HELD_REASON, created_at=NOON, updated_at=NOON))
    sms(client, f"whatsapp:{PHONE}", "hi")
    assert one(db, ScheduledMessage, ScheduledMessage.participant_id == pid).state == "pending"


# -- a peer's reply from the inbox ---------------------------------------------------------------------------
@pytest.fixture
def peer_client(app, db, client):
    make_user(db, "luis@example.org", "peer", "Luis Ortega")
    login(client, "luis@example.org")
    return client


def test_a_peer_reply_outside_the_window_is_held_then_sent_when_they_write(app, db, peer_client, twilio_sender):
    pid = whatsapp_person(db, clock.NOW - timedelta(days=2), kind="nudge")
    app.extensions["homeward.sender"] = twilio_sender
    posted = requests_to(twilio_sender)
    resp = peer_client.post(f"/people/{pid}/reply", data={"body": "Thinking of you today.", "quiet_ok": "1"},
                            follow_redirects=True)
    assert "Held: outside WhatsApp" in resp.text and posted == []
    assert "held: outside WhatsApp 24-hour window" in resp.text
    with db.session() as s:
        row = s.scalar(select(ScheduledMessage).where(ScheduledMessage.kind == "peer"))
        assert (row.state, row.body, row.last_error) == ("held", "Thinking of you today.", whatsapp.HELD_REASON)
        assert s.get(Message, row.message_id).status == "held"


def test_a_peer_reply_outside_the_window_uses_the_template_when_configured(app, db, peer_client, twilio_sender):
    pid = whatsapp_person(db, clock.NOW - timedelta(days=2), kind="nudge")
    twilio_sender.whatsapp_template_sid = TEMPLATE
    app.extensions["homeward.sender"] = twilio_sender
    posted = requests_to(twilio_sender)
    resp = peer_client.post(f"/people/{pid}/reply", data={"body": "Thinking of you today.", "quiet_ok": "1"},
                            follow_redirects=True)
    assert "as the approved WhatsApp template" in resp.text
    assert posted[-1]["ContentSid"] == TEMPLATE
    assert json.loads(posted[-1]["ContentVariables"]) == {"1": "Thinking of you today."}
    with db.session() as s:
        msg = s.scalar(select(Message).where(Message.kind == "peer"))
        assert len(msg.provider_sid) == 34 and msg.status != "held"   # Prism makes up the carrier status
