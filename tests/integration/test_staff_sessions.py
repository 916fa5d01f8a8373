"""Staff sessions the server can end, sign-in failures that reveal nothing, passwords that are
hard to guess (issue 16, 8, 10 and 11), on both databases."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from db.models import AuditEvent, User
from tests.conftest import make_test_app
from tests.staff import PASSWORD, login, make_person, make_user

T0 = datetime(2026, 3, 10, 15, 0, tzinfo=timezone.utc)
NEW_PASSWORD = "plum velvet harbour ninety"


@pytest.fixture
def clock(app):
    at = {"now": T0}
    app.extensions["homeward.clock"] = lambda: at["now"]
    return at


def _cookie(client) -> str:
    return client.get_cookie("session").value


def _client_with(app, cookie: str):
    other = app.test_client()
    other.set_cookie("session", cookie)
    return other


def test_a_copied_cookie_stops_working_after_sign_out(app, client, db, clock):
    make_user(db, "luis@example.org")
    person = make_person(db)
    login(client, "luis@example.org")
    stolen = _cookie(client)
    assert _client_with(app, stolen).get(f"/people/{person}").status_code == 200
    elsewhere = app.test_client()
    login(elsewhere, "luis@example.org")                         # the same account on another device
    client.post("/logout")
    for cookie in (stolen, _cookie(elsewhere)):
        resp = _client_with(app, cookie).get(f"/people/{person}")
        assert resp.status_code == 302 and resp.headers["Location"].startswith("/login")


def test_an_admin_password_reset_ends_the_accounts_sessions(app, client, db, clock):
    peer = make_user(db, "luis@example.org")
    make_user(db, "sam@example.org", "admin")
    login(client, "luis@example.org")
    admin = app.test_client()
    login(admin, "sam@example.org")
    assert admin.post(f"/admin/staff/{peer}/password").status_code == 200
    assert client.get("/inbox").status_code == 302


def test_sessions_end_after_30_idle_minutes_and_after_12_hours(app, client, db, clock):
    make_user(db, "luis@example.org")
    login(client, "luis@example.org")
    clock["now"] = T0 + timedelta(minutes=29)
    assert client.get("/inbox").status_code == 200
    clock["now"] += timedelta(minutes=29)                          # active every 29 minutes: still in
    assert client.get("/inbox").status_code == 200
    clock["now"] += timedelta(minutes=31)
    resp = client.get("/inbox")
    assert resp.status_code == 302 and resp.headers["Location"].startswith("/login")
    assert "without activity" in client.get("/login").get_data(as_text=True)
    login(client, "luis@example.org")
    start = clock["now"]
    while clock["now"] < start + timedelta(hours=11, minutes=50):
        clock["now"] += timedelta(minutes=20)
        assert client.get("/inbox").status_code == 200
    clock["now"] = start + timedelta(hours=12, minutes=1)
    assert client.get("/inbox").status_code == 302                 # the absolute limit


def test_a_background_poll_does_not_keep_a_session_alive(app, client, db, clock):
    make_user(db, "luis@example.org")
    login(client, "luis@example.org")
    for minutes in (10, 20, 30):
        clock["now"] = T0 + timedelta(minutes=minutes)
        assert client.get("/inbox/rows", headers={"X-Requested-With": "fetch"}).status_code == 200
    clock["now"] = T0 + timedelta(minutes=31)
    assert client.get("/inbox").status_code == 302


def test_every_page_poll_says_it_is_a_background_refresh():
    """The alert poll runs on every staff page and the thread's poll on every person page: without
    the header each one counted as activity, and a tab left open never signed out."""
    from pathlib import Path
    static = Path(__file__).resolve().parents[2] / "web" / "static"
    for name in ("alerts.js", "inbox.js", "person.js"):
        assert '"X-Requested-With"' in (static / name).read_text(encoding="utf-8"), name


def test_limits_are_configurable(db_url, db):
    app = make_test_app(db_url, SESSION_IDLE_MINUTES=5)
    at = {"now": T0}
    app.extensions["homeward.clock"] = lambda: at["now"]
    make_user(db, "luis@example.org")
    client = app.test_client()
    login(client, "luis@example.org")
    at["now"] = T0 + timedelta(minutes=6)
    assert client.get("/inbox").status_code == 302
    app.extensions["homeward.db"].engine.dispose()


def test_staff_change_their_own_password_and_other_sessions_end(app, client, db, clock):
    make_user(db, "luis@example.org", name="Luis Ortega")
    login(client, "luis@example.org")
    laptop = app.test_client()
    login(laptop, "luis@example.org")
    assert "Change your password" in client.get("/account/password").get_data(as_text=True)
    wrong = client.post("/account/password", data={"current": "nope", "new": NEW_PASSWORD, "again": NEW_PASSWORD})
    assert wrong.status_code == 422 and "not your current password" in wrong.get_data(as_text=True)
    weak = client.post("/account/password", data={"current": PASSWORD, "new": "a" * 10, "again": "a" * 10})
    assert weak.status_code == 422 and "too easy to guess" in weak.get_data(as_text=True)
    common = client.post("/account/password", data={"current": PASSWORD, "new": "qwerty123456",
                                                     "again": "qwerty123456"})
    assert common.status_code == 422 and "most common passwords" in common.get_data(as_text=True)
    mine = client.post("/account/password", data={"current": PASSWORD, "new": "Luis Ortega 2026",
                                                   "again": "Luis Ortega 2026"})
    assert mine.status_code == 422                                  # their own name is a known word
    ok = client.post("/account/password", data={"current": PASSWORD, "new": NEW_PASSWORD, "again": NEW_PASSWORD})
    assert ok.status_code == 302
    assert client.get("/inbox").status_code == 200                  # this session goes on
    assert laptop.get("/inbox").status_code == 302                  # the other one ended
    fresh = app.test_client()
    assert fresh.post("/login", data={"email": "luis@example.org", "password": PASSWORD}).status_code == 401
    login(fresh, "luis@example.org", NEW_PASSWORD)
    with db.session() as s:
        assert s.scalar(select(AuditEvent.action).where(AuditEvent.action == "password_changed")) is not None


# -- account probing -----------------------------------------------------------------------------

def test_every_sign_in_failure_gets_the_same_answer_and_costs_one_hash(app, db, monkeypatch):
    from web import auth
    make_user(db, "luis@example.org")
    make_user(db, "gone@example.org", active=False)
    checked = []
    real = auth.check_password_hash
    monkeypatch.setattr(auth, "check_password_hash", lambda h, p: checked.append(h) or real(h, p))
    answers = set()
    for i, email in enumerate(("nobody@example.org", "luis@example.org", "gone@example.org")):
        resp = app.test_client().post("/login", data={"email": email, "password": "wrong password"},
                                      environ_base={"REMOTE_ADDR": f"192.0.2.{i}"})
        answers.add((resp.status_code, re.search(r'class="flash error"[^>]*>([^<]+)<', resp.get_data(as_text=True))[1]))
    assert len(answers) == 1 and answers.pop()[0] == 401
    assert len(checked) == 3 and checked[0] == auth.DUMMY_HASH and checked[2] == auth.DUMMY_HASH


def test_failures_hold_back_the_address_not_the_account(app, db):
    """Forty wrong passwords for one account from one address, a minute apart in pairs: from the
    twentieth on that address waits; the owner, from their own address, signs in at once."""
    at = {"now": T0}
    app.extensions["homeward.clock"] = lambda: at["now"]
    make_user(db, "luis@example.org")
    attacker, codes = {"REMOTE_ADDR": "203.0.113.66"}, []
    for i in range(40):
        at["now"] = T0 + timedelta(seconds=20 * i)
        codes.append(app.test_client().post("/login", data={"email": "luis@example.org", "password": f"guess {i}"},
                                            environ_base=attacker).status_code)
    assert codes[:20] == [401] * 20 and set(codes[20:]) == {429}
    owner = app.test_client().post("/login", data={"email": "luis@example.org", "password": PASSWORD},
                                   environ_base={"REMOTE_ADDR": "198.51.100.20"})
    assert owner.status_code == 302
    blocked = app.test_client().post("/login", data={"email": "luis@example.org", "password": PASSWORD},
                                     environ_base=attacker)
    assert blocked.status_code == 429 and "This account is locked" not in blocked.get_data(as_text=True)
    at["now"] += timedelta(minutes=16)                              # the window passes
    assert app.test_client().post("/login", data={"email": "luis@example.org", "password": PASSWORD},
                                  environ_base=attacker).status_code == 302


# -- passwords in the CLI ------------------------------------------------------------------------

def test_cli_refuses_weak_and_common_passwords(app, db):
    runner = app.test_cli_runner()
    for weak, why in (("aaaaaaaaaa", "too easy to guess"), ("password123", "most common passwords"),
                      ("short", "at least 10")):
        out = runner.invoke(args=["users", "create", "--email", "luis@example.org", "--role", "peer",
                                  "--password", weak])
        assert out.exit_code == 2 and why in out.output, out.output
    ok = runner.invoke(args=["users", "create", "--email", "luis@example.org", "--role", "peer",
                             "--password", NEW_PASSWORD])
    assert ok.exit_code == 0
    again = runner.invoke(args=["users", "password", "--email", "luis@example.org", "--password", "qwertyuiop"])
    assert again.exit_code == 2 and "most common passwords" in again.output
    with db.session() as s:
        assert s.scalar(select(User.session_version)) == 0            # a refused change ends nothing
    reset = runner.invoke(args=["users", "password", "--email", "luis@example.org", "--password",
                                "amber quarry lantern six"])
    assert reset.exit_code == 0
    with db.session() as s:
        assert s.scalar(select(User.session_version)) == 1            # every old session ends

