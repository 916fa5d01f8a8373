"""The nudge schedule in the supervisor console, on both databases."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from db.models import AuditEvent, Setting
from core import policy
from tests.staff import login, make_user
from scheduler import nudge_settings

SHIPPED = nudge_settings.shipped_text()
DAYS = "days: [0, 1, 2, 3, 4, 5, 7, 10, 14, 17, 21, 28]"


@pytest.fixture
def sup(db, client):
    make_user(db, "sam@example.org", "supervisor", "Sam Rivera")
    login(client, "sam@example.org")
    return client


def base_of(html: str) -> str:
    return re.search(r'name="base" value="(\w+)"', html)[1]


def stored(db):
    with db.session() as s:
        row = s.get(Setting, "nudges_yaml")
        return row.value if row else None


def test_an_error_is_shown_at_its_line_and_nothing_is_saved(sup, db):
    base = base_of(sup.get("/admin/nudges").get_data(as_text=True))
    bad = SHIPPED.replace(DAYS, DAYS.replace("28]", "128]"))
    line = bad.splitlines().index("  " + DAYS.replace("28]", "128]")) + 1
    resp = sup.post("/admin/nudges", data={"text": bad, "action": "save", "base": base})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422 and "Not saved" in html
    assert re.search(rf'<li class="problem error" data-line="{line}">.*?got 128', html, re.S)
    assert re.search(rf'<span id="L{line}" class="ln error"', html)
    assert stored(db) is None


def test_saving_makes_the_edit_the_schedule_in_force_until_restored(app, sup, db):
    base = base_of(sup.get("/admin/nudges").get_data(as_text=True))
    edited = SHIPPED.replace(DAYS, "days: [0, 1, 2, 3, 5, 7, 10, 14, 17, 21, 28]").replace(
        'checkin_time: "10:00"', 'checkin_time: "11:00"')
    resp = sup.post("/admin/nudges", data={"text": edited, "action": "save", "base": base})
    assert resp.status_code == 302
    assert stored(db) == edited
    schedule = nudge_settings.current_schedule(db)
    assert 4 not in schedule.days and schedule.checkin_time.hour == 11
    assert "as edited here" in sup.get("/admin/nudges").get_data(as_text=True)
    # someone else's page, loaded before the save, cannot silently overwrite it
    resp = sup.post("/admin/nudges", data={"text": SHIPPED, "action": "save", "base": base})
    assert resp.status_code == 409 and stored(db) == edited
    assert sup.post("/admin/nudges", data={"action": "restore"}).status_code == 302
    assert stored(db) is None and nudge_settings.current_schedule(db).days == policy.load_schedule().days
    with db.session() as s:
        assert [e.action for e in s.scalars(select(AuditEvent).where(AuditEvent.action.like("nudges%"))
                                            .order_by(AuditEvent.id))] == ["nudges_save", "nudges_restore"]
        saved = s.scalar(select(AuditEvent).where(AuditEvent.action == "nudges_save")).detail
        assert "days 0, 1, 2, 3, 4, 5," in saved["before"] and "days 0, 1, 2, 3, 5," in saved["after"]
        assert "check-in 10:00" in saved["before"] and "check-in 11:00" in saved["after"]


def test_preview_plans_a_release_in_the_chosen_time_zone_and_language(sup):
    html = sup.get("/admin/nudges?release=2026-03-02&tz=America/Los_Angeles&lang=es&first_name=Marisol"
                   "&peer_name=Luis").get_data(as_text=True)
    rows = re.findall(r'<tr class="planned kind-(\w+)"><td>(.*?)</td><td class="num">(\d+)', html)
    schedule = policy.load_schedule()
    assert len(rows) == len(schedule.days) + 1 and rows[-1][0] == "closing"
    assert rows[0][1].startswith("Mon Mar 2, 10:") and rows[0][2] == "0"     # 10:00 + spread, LA time
    assert "Hola Marisol" in html and "Luis" in html
    now_rows = re.findall(r'<tr class="planned', sup.get(
        "/admin/nudges?release=2020-01-01&enrolled=now").get_data(as_text=True))
    assert now_rows == []                                                       # long past: nothing left to send


def test_preview_of_unsaved_text_and_segment_costs(sup):
    base = base_of(sup.get("/admin/nudges").get_data(as_text=True))
    edited = SHIPPED.replace(DAYS, "days: [0, 7]")
    resp = sup.post("/admin/nudges", data={"text": edited, "action": "preview", "base": base,
                                           "release": "2026-03-02", "tz": "America/New_York", "lang": "en"})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    days = re.findall(r'<tr class="planned kind-\w+"><td>.*?</td><td class="num">(\d+)', html)
    assert days[:2] == ["0", "7"]
    assert re.search(r"\d segments? \((?:GSM-7|UCS-2), \d+ units\)", html)
    assert 'id="costs"' in html


def test_the_live_schedule_follows_saves_without_a_restart(sup, db):
    live = nudge_settings.LiveSchedule(db)
    shipped = live()
    assert live() is shipped                                   # unchanged text: not parsed again
    base = base_of(sup.get("/admin/nudges").get_data(as_text=True))
    edited = SHIPPED.replace('spread_minutes: 20', 'spread_minutes: 5')
    assert sup.post("/admin/nudges", data={"text": edited, "action": "save", "base": base}).status_code == 302
    assert live().spread_minutes == 5 and live() is live()
    sup.post("/admin/nudges", data={"action": "restore"})
    assert live().spread_minutes == shipped.spread_minutes
