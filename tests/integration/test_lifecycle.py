"""The one lifecycle through every door, on both databases: opt-out belongs to the number on every
channel (issue 16, item 3), STOP then START plans the days ahead again, the staff form plans,
everyone gets a peer, and two first texts on two channels make one person."""
from __future__ import annotations

import threading
from datetime import date, datetime, timedelta, timezone

from sqlalchemy import func, select

from bot.runtime import Inbound
from db.models import Contact, Participant, ScheduledMessage, Setting
from tests.staff import login, make_person, make_user
from web import api_tokens

NOW = datetime(2026, 6, 1, 15, 0, tzinfo=timezone.utc)          # Mon 11:00 in New York
NUMBER = "+13125550140"


def fixed_clock(app, at):
    app.extensions["homeward.clock"] = lambda: at


def text(app, body, at, channel="sms", number=NUMBER):
    return app.extensions["homeward.runtime"].handle(
        Inbound(channel, f"{channel}:{number}", body, f"SM{body[:6]}{at.timestamp()}{channel}"), at)


def bearer(db):
    with db.session() as s:
        tok = api_tokens.create_token(s, "County jail", ["participants:write", "participants:read"], None, NOW)[1]
    return {"Authorization": f"Bearer {tok}"}


def api_enroll(client, headers, channel="sms", number=NUMBER, external_id="DOC-1"):
    return client.post("/api/v1/participants", headers=headers, json={
        "external_id": external_id, "phone": number, "channel": channel, "release_date": "2026-06-01",
        "consent": True, "consent_channel": "in_person", "first_name": "Ana"})


def pending(db, pid=None):
    with db.session() as s:
        q = select(func.count()).select_from(ScheduledMessage).where(ScheduledMessage.state == "pending")
        return s.scalar(q.where(ScheduledMessage.participant_id == pid) if pid else q)


def test_a_number_that_stopped_on_sms_cannot_be_enrolled_on_whatsapp_through_any_door(app, client, db):
    """Issue 16, item 3: the cross-channel opt-out bypass stays closed."""
    make_user(db, "luis@example.org", "peer", "Luis Ortega")
    fixed_clock(app, NOW)
    text(app, "hi", NOW)
    text(app, "STOP", NOW + timedelta(minutes=1))
    headers = bearer(db)
    resp = api_enroll(client, headers, channel="whatsapp")
    assert resp.status_code == 409 and resp.get_json()["error"]["code"] == "opted_out"
    login(client, "luis@example.org")
    form = {"phone": NUMBER, "channel": "whatsapp", "release_date": "2026-06-01", "language": "en",
            "consent": "1", "consent_channel": "in_person", "timezone": "America/New_York"}
    page = client.post("/people/new", data=form)
    assert page.status_code == 409 and "texting START" in page.get_data(as_text=True)
    result = app.test_cli_runner().invoke(args=["participants", "enroll", "--phone", NUMBER, "--release-date",
                                                "2026-06-01", "--now", NOW.isoformat()])
    assert result.exit_code != 0 and "opted out" in result.output
    assert pending(db) == 0
    # A first WhatsApp message from that number joins the opted-out person and plans nothing.
    reply = text(app, "hola", NOW + timedelta(minutes=5), channel="whatsapp")
    assert reply.replies == []
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(Participant)) == 1
        assert all(c.opted_out_at is not None for c in s.scalars(select(Contact)))


def test_start_on_whatsapp_lifts_the_sms_stop_and_plans_the_days_ahead(app, client, db):
    make_user(db, "luis@example.org", "peer", "Luis Ortega")
    fixed_clock(app, NOW)
    assert api_enroll(client, bearer(db)).status_code == 201
    with db.session() as s:
        pid = s.scalar(select(Participant.id))
    before = pending(db, pid)
    assert before > 15
    text(app, "STOP", NOW + timedelta(days=6))
    assert pending(db, pid) == 0
    back = text(app, "START", NOW + timedelta(days=9), channel="whatsapp")
    assert "Welcome back" in back.replies[0]
    with db.session() as s:
        rows = list(s.scalars(select(ScheduledMessage).where(ScheduledMessage.participant_id == pid,
                                                             ScheduledMessage.state == "pending")))
        assert all(c.opted_out_at is None for c in s.scalars(select(Contact)))
    assert rows and min(r.due_at for r in rows) > NOW + timedelta(days=9)       # nothing missed is sent
    assert {r.dedupe_key.split(":")[1] for r in rows} >= {"10", "14", "21"}
    assert len(rows) == before - 7                                               # days 1-5, 7 and 0 gone


def test_the_staff_form_plans_checkins_and_an_edit_replans_them(app, client, db):
    peer = make_user(db, "luis@example.org", "peer", "Luis Ortega")
    fixed_clock(app, NOW)
    login(client, "luis@example.org")
    form = {"phone": NUMBER, "release_date": "2026-06-01", "language": "en", "first_name": "Ana",
            "consent": "1", "consent_channel": "in_person", "timezone": "America/New_York",
            "checkin_time": "10:00", "peer_id": str(peer)}
    resp = client.post("/people/new", data=form, follow_redirects=True)
    assert "check-ins planned" in resp.get_data(as_text=True)
    with db.session() as s:
        person = s.scalar(select(Participant))
        day1 = s.scalar(select(ScheduledMessage).where(ScheduledMessage.dedupe_key == "nudge:1:2026-06-01"))
        assert day1.due_at.astimezone(timezone(timedelta(hours=-4))).hour == 10
    client.post(f"/people/{person.id}/edit", data={**form, "checkin_time": "18:00"})
    with db.session() as s:
        day1 = s.scalar(select(ScheduledMessage).where(ScheduledMessage.dedupe_key == "nudge:1:2026-06-01"))
        assert day1.state == "pending" and day1.due_at.astimezone(timezone(timedelta(hours=-4))).hour == 18


def test_someone_who_joins_by_text_gets_the_least_loaded_peer_and_their_time(app, db):
    busy = make_user(db, "busy@example.org", "peer", "Bea Busy")
    free = make_user(db, "free@example.org", "peer", "Fran Free")
    make_person(db, "+13125550001", "Old", peer_id=busy)
    at = NOW
    for body in ("JOIN", "yes", "1", "ana", "today", "evening"):
        at += timedelta(minutes=1)
        result = text(app, body, at)
    assert "You're all set" in result.replies[-1]
    with db.session() as s:
        person = s.scalar(select(Participant).join(Contact).where(Contact.address == f"sms:{NUMBER}"))
        assert (person.status, person.assigned_peer_id, person.checkin_time) == ("active", free, "18:00")
        first = s.scalar(select(ScheduledMessage).where(ScheduledMessage.participant_id == person.id,
                                                        ScheduledMessage.state == "pending")
                         .order_by(ScheduledMessage.due_at).limit(1))
        assert 18 <= first.due_at.astimezone(timezone(timedelta(hours=-4))).hour < 19


def test_when_every_peer_is_full_the_person_is_on_the_supervisors_unassigned_list(app, client, db):
    make_user(db, "luis@example.org", "peer", "Luis Ortega")
    make_user(db, "sam@example.org", "supervisor", "Sam Rivera")
    with db.session() as s:
        s.add(Setting(key="caseload_room", value=1))
    make_person(db, "+13125550001", "Old", peer_id=1)
    for i, body in enumerate(("JOIN", "yes")):
        text(app, body, NOW + timedelta(minutes=i))
    with db.session() as s:
        person = s.scalar(select(Participant).where(Participant.first_name.is_(None)))
        assert person.status == "active" and person.assigned_peer_id is None
    login(client, "sam@example.org")
    page = client.get("/caseload").get_data(as_text=True)
    assert "Nobody has these people yet" in page and f"/people/{person.id}" in page


def test_two_first_texts_from_one_number_on_sms_and_whatsapp_at_once_make_one_person(app, db):
    barrier, results = threading.Barrier(2), []

    def first(channel):
        barrier.wait()
        results.append(text(app, "hi", NOW, channel=channel))

    threads = [threading.Thread(target=first, args=(c,)) for c in ("sms", "whatsapp")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(results) == 2 and not any(r.failed for r in results)
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(Participant)) == 1
        assert sorted(s.scalars(select(Contact.address))) == [f"sms:{NUMBER}", f"whatsapp:{NUMBER}"]


def test_demo_data_has_a_life(app, db):
    """What `make run` loads after the accounts, flows and sites (those have their own tests)."""
    from cli.demo import _demo_people
    from db.models import Escalation, Message
    make_user(db, "peer@homeward.example", "peer", "Luis Ortega")
    schedule = app.extensions["homeward.schedule"]()
    with app.app_context():
        _demo_people(db, "America/New_York", schedule, NOW)
    with db.session() as s:
        people = list(s.scalars(select(Participant).where(Participant.status == "active")))
        assert len(people) >= 4 and all(p.assigned_peer_id for p in people)
        assert len({p.release_date for p in people}) >= 4        # several days since release
        planned = {p.first_name: pending(db, p.id) for p in people}
        assert all(n > 0 for n in planned.values()), planned
        assert s.scalar(select(func.count()).select_from(Message)) >= 5
        tickets = {(t.priority, t.status, t.outcome) for t in s.scalars(select(Escalation))}
        assert ("urgent", "open", None) in tickets and ("normal", "resolved", "reached") in tickets
    with app.app_context():
        _demo_people(db, "America/New_York", schedule, NOW)
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(Participant)) == len(people)   # added once


def test_web_chat_never_talks_about_texts_rates_or_a_checkin_time(client, db):
    from tests.integration.test_webchat import bubbles, say
    for body in ("hello", "yes", "1", "skip", "yesterday", "HELP"):
        say(client, body)
    said = " ".join(text for side, text in bubbles(client.get("/chat").text) if side == "out")
    assert "Got it: you got home" in said and "You&#39;re all set" in said
    for words in ("rates may apply", "text you", "your texts", "check-in? Like 9am", "STOP to stop texts"):
        assert words not in said, words
    assert "Type STOP to end this chat" in said            # HELP, worded for the chat
