"""What a peer reads in the inbox: reasons, events and fields in words, one-line previews,
canned replies filled in and checked, and "follow up at 3pm" read in the program's time zone."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from core.sms import count_segments
from web import canned, present, words

UTC = timezone.utc
NY_NOON = datetime(2026, 3, 10, 16, 0, tzinfo=UTC)   # a Tuesday, 12:00 in New York


@pytest.mark.parametrize("code, text", [
    ("emergency", "Overdose reported"), ("crisis", "Crisis"), ("peer_request", "Asked for a peer"),
    ("high_risk", "Risk check: high"), ("something_new", "Something new")])
def test_reasons_read_as_words(code, text):
    assert words.reason(code) == text


def test_no_contact_counts_the_days_since_the_last_text():
    assert words.reason("no_contact", NY_NOON - timedelta(days=5, hours=3), NY_NOON) == "No reply for 5 days"
    assert words.reason("no_contact", NY_NOON - timedelta(hours=3), NY_NOON) == "No reply for 1 day"
    assert words.reason("no_contact") == "No reply to check-ins"


def test_a_ticket_note_reads_as_distinct_plain_lines():
    note = ("classifier: en.emergency.not_breathing\npeer_request: Asked to talk with a peer (peer_request).\n"
            "peer_request: Asked to talk with a peer (peer_request).\nreopened: new message (was reached)\n"
            "crisis: classifier: es.crisis.quiero_morir")
    assert words.note_lines(note) == ["Emergency detected (not breathing)", "Asked for a peer",
                                      "Reopened: a new message (was: Reached)", "Crisis detected (quiero morir)"]
    assert words.note_lines("") == []


def test_events_read_as_words_and_bookkeeping_is_left_out():
    assert words.event("safety", {"kind": "emergency"}) == "Emergency detected"
    assert words.event("checkin", {"mood": 2}) == "Checked in: 2 of 5"
    assert words.event("locator", {"need": "treatment", "status": "found"}, "Dayton, OH 45402") == \
        "Asked for treatment near Dayton, OH 45402"
    assert words.event("locator", {"need": "naloxone", "status": "none"}) == "Asked for naloxone"
    assert words.event("risk_check", {"tier": "high", "score": "7"}) == "Risk check: high"
    assert words.event("answer_not_understood", {"flow": "x"}) is None
    assert words.event("flow_ended", {"x": {"y": 1}}) == "Flow ended"


def test_fields_are_plain_words_never_dicts_or_booleans():
    facts = dict(words.person_facts({"consent": True, "naloxone_on_hand": "no", "mood": 4,
                                     "last_place": {"lat": 39.7, "lon": -84.1, "label": "Dayton, OH",
                                                    "zip": "45402", "radius": 5}}, "moderate"))
    assert facts == {"Risk tier": "Moderate", "Naloxone on hand": "no", "Last check-in": "4 of 5",
                     "Last asked about": "places near Dayton, OH 45402"}
    assert dict(words.person_facts({}, None)) == {"Risk tier": "not assessed", "Naloxone on hand": "not asked"}
    assert not any("{" in v or v in ("True", "False") for v in facts.values())


@pytest.mark.parametrize("body, shown", [
    ("<b>hi</b>\nthere", "<b>hi</b> there"),                 # escaping is the template's; one line here
    ("abc\u202edcba\u2066x\u2069", "abc dcba x"),            # bidi overrides and isolates dropped
    ("a\u200bb\x00c", "a b c"),
    ("y" * 1600, "y" * 119 + "…"),
    ("", "")])
def test_a_preview_is_one_line_without_invisible_characters(body, shown):
    assert words.preview(body) == shown


def test_canned_replies_fill_in_the_first_name_or_read_well_without_it():
    assert canned.fill("Hi {first_name}, it's {peer_name}.", "Ana", "Luis Ortega") == "Hi Ana, it's Luis."
    assert canned.fill("Hi {first_name}, it's {peer_name}.", None, "Luis Ortega") == "Hi, it's Luis."
    assert canned.fill("{first_name}, naloxone works.", None, "Luis") == "Naloxone works."


def test_a_canned_reply_with_an_unknown_placeholder_or_a_stigmatizing_word_is_refused():
    assert canned.problems("Hi {first_name}", "en") == []
    assert canned.problems("Hi {frist_name}", "en") == [
        "“{frist_name}” is not a placeholder we can fill. Use {first_name} or {peer_name}."]
    assert canned.problems("Hi {first_name", "en") == ["A “{” or “}” is left unmatched."]
    assert any("labels a person" in p for p in canned.problems("Are you clean of being an addict?", "en"))
    assert any("SMS segments" in p for p in canned.problems("x" * 400, "en"))


def test_the_starter_set_ships_both_languages_within_two_segments():
    titles = [c.title for c in canned.starter()]
    assert titles == ["First contact", "How are you holding up", "Naloxone pointer", "Treatment pointer",
                      "I'll call you at…"]
    for c in canned.starter():
        for body, lang in ((c.body_en, "en"), (c.body_es, "es")):
            assert canned.problems(body, lang) == [], (c.title, lang)
            assert count_segments(canned.fill(body, "Maximiliano", "Maximiliano")).segments <= 2
    assert all("usted" not in c.body_es.lower() for c in canned.starter())


@pytest.mark.parametrize("text, local", [
    ("3pm", "2026-03-10 15:00"), ("15:00", "2026-03-10 15:00"), ("3:30 pm", "2026-03-10 15:30"),
    ("9am", "2026-03-11 09:00"),            # 9am has passed at noon: tomorrow
    ("12pm", "2026-03-11 12:00"), ("12am", "2026-03-11 00:00")])
def test_follow_up_at_is_read_in_the_programs_time_zone(text, local):
    until = present.snooze_time(text, "", NY_NOON, "America/New_York")
    assert until.astimezone(present.ZoneInfo("America/New_York")).strftime("%Y-%m-%d %H:%M") == local


def test_follow_up_presets_and_bad_times():
    assert present.snooze_time("", "1h", NY_NOON, "America/New_York") == NY_NOON + timedelta(hours=1)
    assert present.snooze_time("", "tomorrow", NY_NOON, "America/Los_Angeles") == \
        datetime(2026, 3, 11, 16, 0, tzinfo=UTC)   # 9am in Los Angeles
    for bad in ("", "soon", "25:00", "13pm", "3:75"):
        with pytest.raises(ValueError, match="like 15:00 or 3pm"):
            present.snooze_time(bad, "", NY_NOON, "America/New_York")
