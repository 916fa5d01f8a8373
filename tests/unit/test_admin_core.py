"""The supervisor console's pure parts: the flow simulator, shift parsing, the nudge checker's
lines and the diff rows."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from core.flows.loader import load_text
from core.flows.registry import load_registry
from scheduler import nudge_settings
from web import flow_sim
from web.admin.flows import diff_rows
from web.admin.staff.forms import format_day, parse_day, shift_summary

FLOWS = Path(__file__).resolve().parents[2] / "bot" / "content" / "flows"
NOW = datetime(2026, 3, 10, 15, 0, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def published():
    return list(load_registry(FLOWS).flows.values())


def draft_of(name: str, old: str, new: str):
    text = (FLOWS / f"{name}.yaml").read_text().replace(old, new)
    d, problems = load_text(text, f"{name}.yaml")
    assert d is not None and not [p for p in problems if p.severity == "error"]
    return d


def texts(sim, who="bot"):
    return [e["text"] for e in sim["log"] if e["who"] == who]


def test_the_draft_replaces_its_published_version_and_runs_through_decide(published):
    draft = draft_of("checkin", "How are you doing today?", "How is today, really?")
    registry = flow_sim.registry_with(draft, published)
    sim = flow_sim.send(flow_sim.new_sim(), "CHECKIN", registry, NOW)
    assert "How is today, really?" in texts(sim)[0]
    sim = flow_sim.send(sim, "2", registry, NOW)
    assert any("report event checkin: mood=2" in t for t in texts(sim, "effect"))
    sim = flow_sim.send(sim, "yes", registry, NOW)
    assert any(t.startswith("ticket for a peer: struggling (high)") for t in texts(sim, "effect"))
    assert sim["state"] is None
    json.dumps(sim)                                   # it travels in the page


def test_stop_and_safety_come_before_the_draft(published):
    registry = flow_sim.registry_with(draft_of("checkin", "Check in", "Check-in"), published)
    sim = flow_sim.send(flow_sim.new_sim(), "CHECKIN", registry, NOW)
    crisis = flow_sim.send(sim, "i want to kill myself", registry, NOW)
    assert "988" in texts(crisis)[-1] and any("crisis (urgent)" in t for t in texts(crisis, "effect"))
    stopped = flow_sim.send(sim, "STOP", registry, NOW)
    assert stopped["opted_out"] and stopped["state"] is None
    assert texts(flow_sim.send(stopped, "CHECKIN", registry, NOW)) == texts(stopped)   # nothing more


def test_first_contact_gets_the_welcome_and_spanish_works(published):
    registry = flow_sim.registry_with(draft_of("welcome", "\n", "\n"), published)
    sim = flow_sim.send(flow_sim.new_sim("es"), "hola", registry, NOW)
    assert sim["state"]["flow"] == "welcome" and sim["lang"] == "es"
    plain = flow_sim.send(flow_sim.new_sim("en", new=False), "hello there", registry, NOW)
    assert plain["state"] is None                     # the menu, not the welcome


def test_staying_silent_fires_the_timer_then_ends(published):
    registry = flow_sim.registry_with(draft_of("checkin", "\n", "\n"), published)
    sim = flow_sim.send(flow_sim.new_sim(), "CHECKIN", registry, NOW)
    due = datetime.fromisoformat(sim["state"]["timeout_at"])
    reminded = flow_sim.wait(sim, registry, NOW)
    assert "Just checking in, no pressure" in texts(reminded)[-1]
    assert datetime.fromisoformat(reminded["clock"]) == due
    ended = flow_sim.wait(reminded, registry, NOW)
    assert ended["state"] is None and "conversation ended: timed_out" in texts(ended, "effect")
    assert "Nothing is waiting" in flow_sim.wait(ended, registry, NOW)["log"][-1]["text"]


def test_the_transcript_is_bounded_and_a_mangled_sim_is_refused(published):
    registry = flow_sim.registry_with(draft_of("checkin", "\n", "\n"), published)
    sim = flow_sim.new_sim()
    for i in range(60):
        sim = flow_sim.send(sim, "MENU", registry, NOW + timedelta(seconds=i))
    assert len(sim["log"]) == flow_sim.MAX_LOG
    assert flow_sim.well_formed(sim) and not flow_sim.well_formed({"state": 3}) and not flow_sim.well_formed([])


@pytest.mark.parametrize("text, spans", [
    ("", []), ("9:00-17:00", [["09:00", "17:00"]]),
    ("14:00-18:00, 09:00-13:00", [["09:00", "13:00"], ["14:00", "18:00"]]),
    ("22:00-24:00", [["22:00", "24:00"]]), ("08:30 to 12:15; 13:00–17:00", [["08:30", "12:15"], ["13:00", "17:00"]]),
    ("9am-1pm, 2pm-5:30pm", [["09:00", "13:00"], ["14:00", "17:30"]]),   # the sites' parser: am/pm too
])
def test_shift_spans(text, spans):
    assert parse_day(text) == spans
    assert parse_day(format_day(spans)) == spans


@pytest.mark.parametrize("text, why", [("22:00-06:00", "night shift"), ("9-5", "needs minutes or am/pm"),
                                       ("09:00-12:00, 11:00-13:00", "overlap"), ("25:00-26:00", "not a time of day"),
                                       ("10:00-10:00", "same time"), ("lunch", "not a span")])
def test_bad_shift_spans(text, why):
    with pytest.raises(ValueError, match=why):
        parse_day(text)


def test_shift_summary():
    assert shift_summary(None) == "no shift: off duty"
    assert shift_summary({"mon": [["09:00", "17:00"]], "wed": [["09:00", "12:00"], ["13:00", "17:00"]]}) == \
        "Mon 09:00-17:00; Wed 09:00-12:00, 13:00-17:00"


def test_nudge_checker_points_at_the_line():
    text = nudge_settings.shipped_text()
    schedule, findings = nudge_settings.check(text)
    assert schedule is not None and findings == []
    bad = text.replace('checkin_time: "10:00"', 'checkin_time: "25:00"')
    line = bad.splitlines().index('checkin_time: "25:00"') + 1
    schedule, findings = nudge_settings.check(bad)
    assert schedule is None and findings[0].line == line and "24-hour time" in findings[0].message
    broken = text.replace("quiet_hours:\n  start:", "quiet_hours:\n start:")
    _, findings = nudge_settings.check(broken)
    assert findings[0].message.startswith("not valid YAML") and 30 < findings[0].line < 60


def test_text_costs_name_each_texts_line():
    text = nudge_settings.shipped_text()
    schedule, _ = nudge_settings.check(text)
    costs = nudge_settings.text_costs(schedule, text)
    assert {c.lang for c in costs} == {"en", "es"} and all(1 <= c.segments <= 2 for c in costs)
    first = costs[0]
    assert first.text.split("{")[0].strip()[:10] in text.splitlines()[first.line - 1]


def test_diff_rows_mark_added_and_removed_lines():
    rows = diff_rows("a\nb\nc\n", "a\nB\nc\n<script>\n")
    assert ("del", "-b") in rows and ("add", "+B") in rows and ("add", "+<script>") in rows
    assert rows[0][0] == "hunk"
