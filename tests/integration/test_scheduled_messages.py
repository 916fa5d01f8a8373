"""A peer schedules a one-off text; the worker sends it at that local time, once."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from sqlalchemy import select

from db.models import Message, Participant, ScheduledMessage
from tests.staff import login, make_person, make_user

NOW = datetime(2025, 6, 10, 16, 0, tzinfo=timezone.utc)    # the app's clock: 11:00 in Chicago
RELEASED = NOW.date() - timedelta(days=3)


def pin(app):
    app.extensions["homeward.clock"] = lambda: NOW


def test_peer_schedules_a_message_for_their_morning_and_the_worker_sends_it(app, client, db):
    pin(app)
    peer = make_user(db, "luis@example.org", name="Luis Ortega")
    pid = make_person(db, peer_id=peer, tz="America/Chicago", release=RELEASED)
    login(client, "luis@example.org")
    tomorrow = (NOW.astimezone(ZoneInfo("America/Chicago")) + timedelta(days=1)).date()
    resp = client.post(f"/people/{pid}/schedule", data={"body": "Morning! Still on for the clinic at 11?",
                                                        "send_at": f"{tomorrow}T10:15"}, follow_redirects=True)
    assert "Scheduled for" in resp.get_data(as_text=True)
    assert "Still on for the clinic" in resp.get_data(as_text=True)            # listed under upcoming texts
    with db.session() as s:
        row = s.scalar(select(ScheduledMessage).where(ScheduledMessage.kind == "peer"))
        assert row.due_at.astimezone(ZoneInfo("America/Chicago")).strftime("%H:%M") == "10:15"
        assert row.author_id == peer
    due = row.due_at
    out = app.test_cli_runner().invoke(args=["worker", "--now", (due + timedelta(minutes=1)).isoformat()])
    assert "sent 1" in out.output
    with db.session() as s:
        msg = s.scalar(select(Message).where(Message.kind == "peer"))
        assert msg.body == "Morning! Still on for the clinic at 11?" and msg.author_id == peer


def test_scheduling_is_refused_in_quiet_hours_in_the_past_and_for_opted_out(app, client, db):
    pin(app)
    make_user(db, "luis@example.org")
    pid = make_person(db, release=RELEASED)
    login(client, "luis@example.org")
    tomorrow = (NOW.astimezone(ZoneInfo("America/New_York")) + timedelta(days=1)).date()
    night = client.post(f"/people/{pid}/schedule", data={"body": "hi", "send_at": f"{tomorrow}T23:30"},
                        follow_redirects=True)
    assert "quiet hours" in night.get_data(as_text=True)
    past = client.post(f"/people/{pid}/schedule", data={"body": "hi", "send_at": "2020-01-01T10:00"},
                       follow_redirects=True)
    assert "has passed" in past.get_data(as_text=True)
    with db.session() as s:
        s.get(Participant, pid).opted_out_at = NOW
    stopped = client.post(f"/people/{pid}/schedule", data={"body": "hi", "send_at": f"{tomorrow}T10:00"},
                          follow_redirects=True)
    assert "opted out" in stopped.get_data(as_text=True)
    with db.session() as s:
        assert s.scalar(select(ScheduledMessage)) is None


def test_a_scheduled_message_can_be_cancelled(app, client, db):
    pin(app)
    make_user(db, "luis@example.org")
    pid = make_person(db, release=RELEASED)
    login(client, "luis@example.org")
    tomorrow = (NOW.astimezone(ZoneInfo("America/New_York")) + timedelta(days=1)).date()
    client.post(f"/people/{pid}/schedule", data={"body": "see you", "send_at": f"{tomorrow}T12:00"})
    with db.session() as s:
        row_id = s.scalar(select(ScheduledMessage.id))
    client.post(f"/people/{pid}/scheduled/{row_id}/cancel")
    with db.session() as s:
        assert s.get(ScheduledMessage, row_id).state == "cancelled"
