"""The inbox's pure parts: the reply rule, enrollment validation, how times read."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from bot import enrollment
from web import present
from core import reply_policy
from core.reply_policy import ContactState

UTC = timezone.utc
SMS = ContactState("sms", False, None)
NY_2AM = datetime(2026, 3, 10, 7, 0, tzinfo=UTC)
NY_NOON = datetime(2026, 3, 10, 16, 0, tzinfo=UTC)


def check(body="hi", opted_out=False, contact=SMS, at=NY_NOON, last_in=None, tz="America/New_York"):
    return reply_policy.check(body, opted_out, contact, tz, last_in, at)


def test_refusals_come_before_anything_else():
    assert "opted out" in check(opted_out=True).refusal
    assert "opted out" in check(contact=ContactState("sms", True, None)).refusal
    assert "21211" in check(contact=ContactState("sms", False, "21211")).refusal
    assert "no number" in check(contact=None).refusal
    assert check(body="   ").refusal == "Write a message first."
    assert "10 segments" in check(body="x" * 1600).refusal
    assert check().refusal is None


def test_quiet_hours_are_local_and_waived_when_the_person_just_wrote():
    assert check(at=NY_2AM).quiet and not check(at=NY_NOON).quiet
    assert not check(at=NY_2AM, last_in=NY_2AM - timedelta(minutes=59)).quiet
    assert check(at=NY_2AM, last_in=NY_2AM - timedelta(minutes=61)).quiet
    assert check(at=NY_2AM, tz="Pacific/Honolulu").quiet  # 21:00 the evening before, there
    assert not check(at=datetime(2026, 3, 10, 6, 59, tzinfo=UTC), tz="Pacific/Honolulu").quiet  # 20:59


def test_a_peer_reply_to_web_chat_at_night_needs_no_quiet_hours_confirmation():
    assert not check(at=NY_2AM, contact=ContactState("webchat", False, None)).quiet   # nothing buzzes
    assert check(at=NY_2AM, contact=ContactState("whatsapp", False, None)).quiet


def test_validate_cleans_a_good_form_and_names_every_bad_field():
    clean, errors = enrollment.validate({"phone": "312 555 2671", "release_date": "2026-03-01", "language": "es",
                                         "timezone": "America/Chicago", "checkin_time": "09:05",
                                         "consent": "on", "consent_channel": "phone", "peer_id": "4"},
                                        date(2026, 3, 10))
    assert errors == {}
    assert (clean.address, clean.release_date, clean.peer_id) == ("sms:+13125552671", date(2026, 3, 1), 4)
    _, errors = enrollment.validate({"phone": "call me", "release_date": "1/3/26", "language": "fr",
                                     "timezone": "EST5", "checkin_time": "9am", "peer_id": "luis"},
                                    date(2026, 3, 10))
    assert set(errors) == {"phone", "release_date", "language", "timezone", "checkin_time", "peer_id", "consent"}
    _, errors = enrollment.validate({}, date(2026, 3, 10), new=False)
    assert errors == {}
    _, errors = enrollment.validate({"release_date": "2016-03-01"}, date(2026, 3, 10), new=False)
    assert "three years" in errors["release_date"]


def test_how_times_read():
    assert present.duration(timedelta(seconds=42)) == "<1 min"
    assert present.duration(timedelta(minutes=-12)) == "12 min"
    assert present.duration(timedelta(hours=3, minutes=5)) == "3 h 05 min"
    assert present.duration(timedelta(days=2, hours=4)) == "2 d 4 h"
    due = NY_NOON + timedelta(minutes=3)
    assert present.sla_text(due, None, NY_NOON) == ("3 min left", "soon")
    assert present.sla_text(due, None, due + timedelta(minutes=7)) == ("overdue 7 min", "overdue")
    assert present.sla_text(due, NY_NOON, due + timedelta(hours=1))[0] == "answered"
    # 23:30 UTC on Mar 9 is still Mar 9 in Chicago's evening: day 0 for a release that day
    assert present.day_since_release(date(2026, 3, 9), "America/Chicago", datetime(2026, 3, 10, 3, 0, tzinfo=UTC)) == 0
    assert present.release_label(-1) == "released in 1 day" and present.release_label(5) == "day 5"
    assert present.masked("sms:+13125552671") == "+1******2671"
    assert present.masked("whatsapp:+13125552671") == "whatsapp:+1******2671"


def test_a_queue_row_reads_in_words_from_one_call():
    import dataclasses

    from web.queries import QueueRow
    row = QueueRow(id=1, participant_id=7, name=None, address="sms:+13125552671", reason="emergency",
                   priority="urgent", waiting_since=NY_NOON - timedelta(minutes=9), sla_due_at=NY_NOON - timedelta(minutes=4),
                   first_response_at=None, assignee_id=None, assignee_name=None, reopened_count=0, language="es",
                   release_date=date(2026, 3, 6), timezone="America/New_York", last_text="help\u202e " + "y" * 300,
                   last_text_at=NY_NOON - timedelta(minutes=9))
    [(same, cells)] = present.queue_cells([row], NY_NOON)
    assert same is row
    assert cells.name == "Person #7" and cells.address == "+1******2671" and cells.language == "Spanish"
    assert cells.day == "day 4" and cells.reason == "Overdose reported" and cells.waiting == "9 min"
    assert (cells.sla, cells.sla_class) == ("overdue 4 min", "overdue")
    assert "\u202e" not in cells.preview and len(cells.preview) == 120 and len(cells.title) == 200
    [(_, quiet)] = present.queue_cells([dataclasses.replace(row, last_text=None)], NY_NOON)
    assert quiet.preview is None and quiet.title is None
