"""Staff accounts, program settings and who may open the console, on both databases."""
from __future__ import annotations

import re
from datetime import datetime, timezone

import pytest
from sqlalchemy import select

from bot.escalations import open_escalation, sla_minutes
from db.models import AuditEvent, Escalation, FlowVersion, Participant, Setting, User
from tests.staff import PASSWORD, login, make_person, make_ticket, make_user

ADMIN_GETS = ["/admin", "/admin/flows", "/admin/flows/checkin", "/admin/flows/checkin/v/1",
              "/admin/flows/checkin/diff", "/admin/nudges", "/admin/staff", "/admin/staff/1", "/admin/settings",
              "/admin/report", "/admin/report/people.csv"]
ADMIN_POSTS = ["/admin/flows/new", "/admin/flows/checkin", "/admin/flows/checkin/rollback", "/admin/nudges",
               "/admin/staff", "/admin/staff/1", "/admin/staff/1/password", "/admin/settings"]
SETTINGS = {"program_name": "Homeward", "contact_en": "Call us: (312) 555-0100",
            "contact_es": "Llámanos: (312) 555-0100",
            "coverage_en": "Mon-Sat 8am-8pm", "coverage_es": "lun-sáb 8am-8pm", "sla_urgent": "3", "sla_high": "20",
            "sla_normal": "120", "sender_rate": "2.5", "sender_daily_cap": "5000"}


def users(db):
    with db.session() as s:
        return {u.email: u for u in s.scalars(select(User))}


def actions(db, prefix=""):
    with db.session() as s:
        return [(e.action, e.detail) for e in s.scalars(
            select(AuditEvent).where(AuditEvent.action.like(prefix + "%")).order_by(AuditEvent.id))]


@pytest.fixture
def sup(db, client):
    make_user(db, "sam@example.org", "supervisor", "Sam Rivera")
    login(client, "sam@example.org")
    return client


# -- access ----------------------------------------------------------------------------------------

def test_logged_out_every_console_page_redirects_to_login(client, db):
    for url in ADMIN_GETS + ADMIN_POSTS:
        resp = client.get(url) if url in ADMIN_GETS else client.post(url, data={"name": "x", "version": "1"})
        assert resp.status_code == 302 and resp.headers["Location"].startswith("/login"), url


def test_a_peer_gets_403_everywhere_in_the_console_and_changes_nothing(app, db, client):
    make_user(db, "luis@example.org", "peer", "Luis Ortega")
    login(client, "luis@example.org")
    for url in ADMIN_GETS:
        assert client.get(url).status_code == 403, url
    data = {"name": "x", "email": "x@example.org", "role": "admin", "version": "1", "action": "publish",
            "source": "schema: 1", "text": "x", **SETTINGS}
    for url in ADMIN_POSTS:
        assert client.post(url, data=data).status_code == 403, url
    with db.session() as s:
        assert s.scalars(select(FlowVersion)).first() is None and s.scalars(select(Setting)).first() is None
        assert [u.email for u in s.scalars(select(User))] == ["luis@example.org"]
    nav = client.get("/inbox").get_data(as_text=True)
    assert 'href="/admin/report"' not in nav and 'href="/admin"' not in nav


def test_csrf_is_enforced_on_console_forms(db_url):
    from tests import dbs
    from tests.conftest import make_test_app
    app = make_test_app(db_url, WTF_CSRF_ENABLED=True)
    db = app.extensions["homeward.db"]
    dbs.wipe(db.engine)
    make_user(db, "sam@example.org", "supervisor")
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)[1]
    client.post("/login", data={"email": "sam@example.org", "password": PASSWORD, "csrf_token": token})
    assert client.post("/admin/settings", data=SETTINGS).status_code == 400
    assert client.post("/admin/flows/new", data={"name": "housing"}).status_code == 400
    page = client.get("/admin/settings").get_data(as_text=True)
    token = re.search(r'id="csrf_token" name="csrf_token" type="hidden" value="([^"]+)"', page)[1]
    assert client.post("/admin/settings", data={**SETTINGS, "csrf_token": token}).status_code == 302
    db.engine.dispose()


# -- staff -----------------------------------------------------------------------------------------

def test_create_an_account_shows_its_password_once_and_it_signs_in(app, sup, db):
    resp = sup.post("/admin/staff", data={"name": "Dee Okafor", "email": "Dee@Example.org", "role": "peer",
                                          "capacity": "12"})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and resp.headers["Cache-Control"] == "no-store"
    password = re.search(r'class="password-once">([^<]+)<', html)[1]
    dee = users(db)["dee@example.org"]
    assert (dee.name, dee.role, dee.capacity, dee.active) == ("Dee Okafor", "peer", 12, True)
    assert password not in dee.password_hash and password not in str(actions(db))
    assert app.test_client().post("/login", data={"email": "dee@example.org", "password": password}).status_code == 302
    assert "password-once" not in sup.get("/admin/staff").get_data(as_text=True)
    dup = sup.post("/admin/staff", data={"name": "D", "email": "dee@example.org", "role": "peer", "capacity": "1"})
    assert dup.status_code == 422 and "already an account" in dup.get_data(as_text=True)
    bad = sup.post("/admin/staff", data={"name": "", "email": "nope", "role": "peer", "capacity": "-1"})
    assert bad.status_code == 422 and len(users(db)) == 2
    assert actions(db, "staff") == [("staff_create", {"staff_id": dee.id, "role": "peer"})]


def test_only_an_admin_makes_or_changes_an_admin(app, sup, db):
    admin_id = make_user(db, "ada@example.org", "admin", "Ada Admin")
    assert sup.post("/admin/staff", data={"name": "X", "email": "x@example.org", "role": "admin",
                                          "capacity": "1"}).status_code == 403
    assert sup.get(f"/admin/staff/{admin_id}").status_code == 403
    peer_id = make_user(db, "luis@example.org", "peer", "Luis Ortega")
    assert sup.post(f"/admin/staff/{peer_id}", data={"name": "Luis", "role": "admin", "capacity": "5",
                                                     "active": "y"}).status_code == 403
    ada = app.test_client()
    login(ada, "ada@example.org")
    assert ada.post(f"/admin/staff/{peer_id}", data={"name": "Luis Ortega", "role": "supervisor", "capacity": "5",
                                                     "active": "y"}).status_code == 302
    assert users(db)["luis@example.org"].role == "supervisor"
    assert ("staff_edit", {"staff_id": peer_id, "changed": ["capacity", "role"], "role": "peer->supervisor"}) \
        in actions(db, "staff")


def test_deactivating_ends_sign_in_and_returns_open_tickets_to_the_queue(app, sup, db):
    peer_id = make_user(db, "luis@example.org", "peer", "Luis Ortega")
    open_ticket = make_ticket(db, make_person(db), assignee_id=peer_id)
    closed = make_ticket(db, make_person(db, "+13125550002", "Bo"), assignee_id=peer_id, status="resolved")
    luis = app.test_client()
    login(luis, "luis@example.org")
    assert luis.get("/inbox").status_code == 200
    resp = sup.post(f"/admin/staff/{peer_id}", data={"name": "Luis Ortega", "role": "peer", "capacity": "25"})
    assert resp.status_code == 302
    assert "1 open ticket went back" in sup.get("/admin/staff").get_data(as_text=True)
    with db.session() as s:
        assert s.get(Escalation, open_ticket).assignee_id is None and s.get(Escalation, closed).assignee_id == peer_id
        assert s.get(User, peer_id).active is False
    assert luis.get("/inbox").status_code == 302                                  # signed out at once
    assert app.test_client().post("/login", data={"email": "luis@example.org", "password": PASSWORD}).status_code == 401
    assert ("staff_deactivate", {"staff_id": peer_id, "tickets_released": 1}) in actions(db, "staff")


def test_nobody_deactivates_or_demotes_themselves(sup, db):
    me = users(db)["sam@example.org"]
    resp = sup.post(f"/admin/staff/{me.id}", data={"name": "Sam", "role": "peer", "capacity": "25"})
    assert resp.status_code == 422 and "cannot change your own role" in resp.get_data(as_text=True)
    assert users(db)["sam@example.org"].role == "supervisor" and users(db)["sam@example.org"].active


def test_shifts_and_capacity_feed_auto_assignment(sup, db):
    peer_id = make_user(db, "luis@example.org", "peer", "Luis Ortega")
    resp = sup.post(f"/admin/staff/{peer_id}", data={"name": "Luis Ortega", "role": "peer", "capacity": "3",
                                                     "active": "y", "tue": "22:00-06:00"})
    assert resp.status_code == 422 and "split a night shift" in resp.get_data(as_text=True)
    resp = sup.post(f"/admin/staff/{peer_id}", data={"name": "Luis Ortega", "role": "peer", "capacity": "3",
                                                     "active": "y", "tue": "09:00-12:00, 13:00-17:00"})
    assert resp.status_code == 302
    with db.session() as s:
        luis = s.get(User, peer_id)
        assert luis.shift == {"tue": [["09:00", "12:00"], ["13:00", "17:00"]]} and luis.capacity == 3
        person = s.get(Participant, make_person(db, peer_id=None))
        tuesday_2pm = datetime(2026, 3, 10, 18, 0, tzinfo=timezone.utc)       # 14:00 in New York
        tuesday_1230 = datetime(2026, 3, 10, 16, 30, tzinfo=timezone.utc)
        ny = "America/New_York"
        assert open_escalation(s, person, "crisis", "urgent", "", tuesday_1230, tz=ny).assignee_id is None
        s.query(Escalation).delete()
        assert open_escalation(s, person, "crisis", "urgent", "", tuesday_2pm, tz=ny).assignee_id == peer_id
    page = sup.get(f"/admin/staff/{peer_id}").get_data(as_text=True)
    assert 'value="09:00-12:00, 13:00-17:00"' in page
    assert "Tue 09:00-12:00, 13:00-17:00" in sup.get("/admin/staff").get_data(as_text=True)


def test_a_supervisors_own_number_is_checked_and_kept_in_e164(sup, db):
    sup_id = make_user(db, "nia@example.org", "supervisor", "Nia Park", shift={"tue": [["09:00", "17:00"]]})
    form = {"name": "Nia Park", "role": "supervisor", "capacity": "25", "active": "y", "tue": "09:00-17:00"}
    for bad in ("555-0100", "+1 999 555 0100", "call me", "0"):
        resp = sup.post(f"/admin/staff/{sup_id}", data={**form, "phone": bad})
        html = resp.get_data(as_text=True)
        assert resp.status_code == 422 and "That is not a phone number we can text" in html, bad
        assert f'value="{bad}"' in html                          # what was typed stays, to be fixed
        assert users(db)["nia@example.org"].phone is None
    assert sup.post(f"/admin/staff/{sup_id}", data={**form, "phone": "(312) 555-0111"}).status_code == 302
    assert users(db)["nia@example.org"].phone == "+13125550111"
    assert 'value="+13125550111"' in sup.get(f"/admin/staff/{sup_id}").get_data(as_text=True)
    assert ("staff_edit", {"staff_id": sup_id, "changed": ["phone"]}) in actions(db, "staff")
    assert "0111" not in str(actions(db))                        # the audit says what changed, not the number
    assert sup.post(f"/admin/staff/{sup_id}", data={**form, "phone": ""}).status_code == 302
    assert users(db)["nia@example.org"].phone is None            # blank: no texts
    resp = sup.post("/admin/staff", data={"name": "Oli", "email": "oli@example.org", "role": "supervisor",
                                          "capacity": "5", "phone": "+44 7911 123456"})
    assert resp.status_code == 200 and users(db)["oli@example.org"].phone == "+447911123456"


def test_shifts_are_read_in_the_programs_own_time_zone(db_url, db):
    """A program in Los Angeles: at 4:30 pm there (7:30 pm in New York) an emergency text goes to
    the peer whose shift runs 9 to 5, Los Angeles time."""
    from bot.runtime import Inbound
    from tests.conftest import make_test_app
    app = make_test_app(db_url, PROGRAM_TIMEZONE="America/Los_Angeles")
    peer_id = make_user(db, "luis@example.org", "peer", "Luis Ortega", shift={"tue": [["09:00", "17:00"]]})
    tuesday_430pm_la = datetime(2026, 3, 10, 23, 30, tzinfo=timezone.utc)
    result = app.extensions["homeward.runtime"].handle(
        Inbound("sms", "sms:+13105550199", "my friend is not breathing", "SM" + "7" * 32), tuesday_430pm_la)
    assert any("911" in reply for reply in result.replies)
    with db.session() as s:
        ticket = s.scalar(select(Escalation))
        assert ticket.priority == "urgent" and ticket.assignee_id == peer_id
    app.extensions["homeward.db"].engine.dispose()


def test_a_new_password_replaces_the_old_and_unlocks(app, sup, db):
    peer_id = make_user(db, "luis@example.org", "peer", "Luis Ortega", failed_logins=4)
    html = sup.post(f"/admin/staff/{peer_id}/password").get_data(as_text=True)
    password = re.search(r'class="password-once">([^<]+)<', html)[1]
    client = app.test_client()
    assert client.post("/login", data={"email": "luis@example.org", "password": PASSWORD}).status_code == 401
    assert client.post("/login", data={"email": "luis@example.org", "password": password}).status_code == 302
    assert ("staff_password_reset", {"staff_id": peer_id}) in actions(db, "staff")


# -- settings --------------------------------------------------------------------------------------

def test_settings_are_saved_where_the_runtime_and_worker_read_them(app, sup, db):
    page = sup.get("/admin/settings").get_data(as_text=True)
    assert 'value="240"' in page and 'value="Mon-Fri 9am-5pm"' in page
    assert sup.post("/admin/settings", data=SETTINGS).status_code == 302
    with db.session() as s:
        values = {row.key: row.value for row in s.scalars(select(Setting))}
        assert sla_minutes(s) == {"urgent": 3, "high": 20, "normal": 120}
        person = s.get(Participant, make_person(db))
        now = datetime(2026, 3, 10, 18, 0, tzinfo=timezone.utc)
        ticket = open_escalation(s, person, "crisis", "urgent", "", now, tz="America/New_York")
        assert (ticket.sla_due_at - now).total_seconds() == 180
    assert values["sender_rate_per_second"] == 2.5 and values["sender_daily_cap"] == 5000
    assert values["contact_line"] == {"en": "Call us: (312) 555-0100", "es": "Llámanos: (312) 555-0100"}
    assert values["coverage_hours"] == {"en": "Mon-Sat 8am-8pm", "es": "lun-sáb 8am-8pm"}
    assert "program_name" not in values                                            # unchanged: not written
    from cli.worker import _setting
    assert _setting(db, "sender_rate_per_second", 1.0) == 2.5
    (action, detail), = actions(db, "settings")
    assert detail["changed"] == ["contact_line", "coverage_hours", "sender_daily_cap", "sender_rate_per_second",
                                 "sla_minutes"]
    assert sup.post("/admin/settings", data=SETTINGS).status_code == 302 and len(actions(db, "settings")) == 1
    blank_cap = sup.post("/admin/settings", data={**SETTINGS, "sender_daily_cap": ""})
    assert blank_cap.status_code == 302
    with db.session() as s:
        assert s.get(Setting, "sender_daily_cap").value is None


@pytest.mark.parametrize("field, value, message", [
    ("sla_high", "2", "urgent ≤ high ≤ normal"), ("sla_urgent", "0", "between 1 and 10080"),
    ("sender_rate", "500", "between 0.05 and 100"), ("program_name", "", "This field is required"),
    ("program_name", "x" * 41, "longer than 40"),
])
def test_settings_are_validated(sup, db, field, value, message):
    resp = sup.post("/admin/settings", data={**SETTINGS, field: value})
    assert resp.status_code == 422 and message in resp.get_data(as_text=True).replace("&lt;", "<")
    with db.session() as s:
        assert s.scalars(select(Setting)).first() is None
