"""Ids and dates a database cannot hold get a 404 or a clear answer, never a 500 (issue 16, 7).

The test walks the app's whole URL map, so a route added later is covered too."""
from __future__ import annotations

import re

import pytest

from tests.conftest import make_test_app
from tests.staff import login, make_person, make_user

HUGE = "99999999999999999999"
QUERY = {name: HUGE for name in ("page", "canned", "peer", "person", "user", "after", "a", "b", "cursor")}
QUERY.update(start="0001-01-01", end="0001-01-01", release="0001-01-01", next="/%0D%0A//evil.example")
FORM = dict(QUERY, contact_id=HUGE, ticket_id=HUGE, base=HUGE, version=HUGE, from_peer=HUGE, to_peer=HUGE,
            expected=HUGE, other=HUGE, send_at="9999-12-31T23:59", release_date="0001-01-01", body="hi")
ARG = re.compile(r"<(?:(\w+):)?(\w+)>")


def _urls(app, ids: dict[str, str]):
    for rule in app.url_map.iter_rules():
        if rule.endpoint in ("static", "auth.logout"):   # stay signed in for the whole walk
            continue
        path = ARG.sub(lambda m: ids.get(m[2], HUGE) if (m[1] or "") == "int" else "x", rule.rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield method, path


@pytest.fixture
def admin_client(db_url, db):
    app = make_test_app(db_url, TWILIO_ACCOUNT_SID="", TWILIO_AUTH_TOKEN="")
    app.config["PROPAGATE_EXCEPTIONS"] = False       # a crash shows as the 500 a user would see
    make_user(db, "admin@example.org", role="admin")
    client = app.test_client()
    login(client, "admin@example.org")
    yield app, client
    app.extensions["homeward.db"].engine.dispose()


@pytest.mark.parametrize("real_ids", [False, True], ids=["huge-ids", "real-ids-huge-params"])
def test_no_route_answers_500_to_numbers_and_dates_out_of_range(admin_client, db, real_ids):
    app, client = admin_client
    ids = {}
    if real_ids:
        person = make_person(db)
        ids = {"person_id": str(person), "user_id": str(make_user(db, "peer@example.org"))}
    crashed = []
    for method, path in _urls(app, ids):
        if method == "GET":
            resp = client.get(path, query_string=QUERY)
        else:
            resp = client.open(path, method=method, query_string=QUERY, data=FORM)
        if resp.status_code >= 500:
            crashed.append(f"{method} {path} -> {resp.status_code}")
    assert crashed == []
    assert client.get("/people").status_code == 200              # the walk ran signed in throughout


def test_report_from_year_one_says_the_date_is_out_of_range(admin_client):
    _, client = admin_client
    resp = client.get("/admin/report?start=0001-01-01")
    assert resp.status_code == 200
    assert "0001-01-01" in resp.get_data(as_text=True)        # named back to the supervisor


def test_login_next_with_a_line_break_goes_to_the_inbox(db_url, db):
    app = make_test_app(db_url)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    make_user(db, "peer@example.org")
    client = app.test_client()
    from tests.staff import PASSWORD
    for target in ("/%0D%0A//evil.example", "//evil.example", "/\\evil.example", "https://evil.example/"):
        resp = client.post("/login?next=" + target, data={"email": "peer@example.org", "password": PASSWORD})
        assert resp.status_code == 302, target
        assert resp.headers["Location"] == "/inbox", target
        client.post("/logout")
    resp = client.post("/login?next=/people%3Fq%3Dx", data={"email": "peer@example.org", "password": PASSWORD})
    assert resp.headers["Location"] == "/people?q=x"
