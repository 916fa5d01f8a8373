"""The program report on both databases: numbers from a seeded program, charts, CSV, range."""
from __future__ import annotations

import csv
import io
import re

import pytest
from sqlalchemy import select

from db.models import AuditEvent
from tests.report_seed import NOW, seed_program
from tests.staff import login, make_user

RANGE = "start=2026-03-10&end=2026-03-20"
TABLES = ("people", "reach", "engagement", "checkins", "risk", "escalations", "response", "response_week",
          "response_peer", "locator", "requests", "naloxone", "outcomes", "peers", "peer_weeks", "events")


@pytest.fixture
def sup(app, db, client):
    app.extensions["homeward.clock"] = lambda: NOW
    make_user(db, "sam@example.org", "supervisor", "Sam Rivera")
    login(client, "sam@example.org")
    seed_program(db)
    return client


def table(html: str, name: str) -> list[list[str]]:
    body = re.search(rf'<table class="queue data" id="table-{name}">.*?<tbody>(.*?)</tbody>', html, re.S)[1]
    return [re.findall(r"<td[^>]*>(.*?)</td>", row) for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)]


def test_the_report_shows_the_seeded_numbers_and_draws_every_chart(sup):
    resp = sup.get(f"/admin/report?{RANGE}")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and resp.headers["Cache-Control"] == "no-store"
    people = {r[0]: r[1:] for r in table(html, "people")}
    assert people["Enrolled"] == ["6", "6"] and people["Active"] == ["3", "–"]
    assert people["Opted out"] == ["1", "1"] and people["Completed"] == ["1", "–"]
    assert table(html, "checkins") == [["0", "3", "2", "66.7"], ["1", "3", "1", "33.3"], ["2", "3", "0", "0.0"]]
    assert table(html, "risk") == [["2026-03-09", "1", "0", "2"], ["2026-03-16", "0", "1", "0"]]
    assert ["asked_for_peer", "0", "0", "1", "1"] in table(html, "escalations")
    response = {r[0]: r[1:] for r in table(html, "response")}
    assert response["urgent"] == ["5", "2", "2", "7.5", "12.0", "1", "1", "50.0"]
    assert response["normal"] == ["240", "2", "1", "30.0", "30.0", "1", "1", "50.0"]
    # reach: 2 of 6 within 72 h, 4 of 6 within 7 days (Cy texted on day 3, a peer reached Evander)
    assert table(html, "reach") == [["2026-03-09", "6", "6", "2", "33.3", "6", "4", "66.7", "0", "0", "–"]]
    assert table(html, "engagement") == [["1", "6", "3", "50.0", "2", "33.3", "2", "33.3", "50.0", "50.0"]]
    assert 'reached within 7 days of release · 4 of 6' in html.replace("</span><span class=\"what\">", " ")
    # the miscount fixed: "none within 50 miles" is not a place found
    assert table(html, "locator") == [["naloxone", "1", "1", "1", "0", "3"], ["treatment", "1", "0", "0", "0", "1"]]
    assert table(html, "requests") == [["asked for a peer", "1", "1"], ["emergency (overdose now)", "1", "1"],
                                       ["crisis (thoughts of suicide)", "1", "1"]]
    assert table(html, "peers") == [["Pat Lee", "3", "1", "2", "1.0"], ["Quinn Ortiz", "1", "0", "1", "0.5"]]
    assert table(html, "peer_weeks") == [["2026-03-16", "Pat Lee", "2"], ["2026-03-16", "Quinn Ortiz", "1"]]
    by_peer = {(r[0], r[1]): r[2:] for r in table(html, "response_peer")}
    assert by_peer[("Pat Lee", "urgent")] == ["2", "2", "7.5", "12.0", "1", "1", "50.0"]
    assert by_peer[("unassigned", "normal")] == ["1", "0", "–", "–", "0", "1", "0.0"]
    weeks = {(r[0], r[1]): r[2:] for r in table(html, "response_week")}
    assert weeks[("2026-03-09", "high")] == ["1", "1", "20.0", "20.0", "1", "0", "100.0"]
    assert table(html, "naloxone")[:2] == [["has naloxone", "2", "66.7"], ["does not", "1", "33.3"]]
    outcomes = dict(tuple(r) for r in table(html, "outcomes"))
    assert outcomes["Reversal reported"] == "1" and outcomes["Referred to treatment"] == "1"
    assert ["safety", "kind emergency", "1"] in table(html, "events")
    charts = re.findall(r'<figure class="chart" id="chart-(\w+)".*?</figure>', html, re.S)
    assert charts == ["reach", "engagement", "checkins", "response", "response_week", "locator", "requests",
                      "outcomes", "escalations", "naloxone", "risk", "peer_weeks"]
    for name in charts:
        svg = re.search(rf'id="chart-{name}".*?(<svg.*?</svg>)', html, re.S)[1]
        assert 'class="pygal-chart"' in svg and "No data in this period" not in svg, name
    main = html.split("<main>")[1].split("</main>")[0]
    assert "<script" not in main and not re.search(r"https?://(?!www\.w3\.org/2000/svg)", main)


def test_the_report_is_de_identified(sup):
    html = sup.get(f"/admin/report?{RANGE}").get_data(as_text=True)
    files = "".join(sup.get(f"/admin/report/{name}.csv?{RANGE}").get_data(as_text=True) for name in TABLES)
    for name in ("Anneliese", "Benedikt", "Cyprian", "Delphine", "Evander", "Faustina", "Gulnara", "+1312555",
                 "(seed)"):
        assert name not in html.split("<main>")[1] and name not in files, name


def test_every_table_downloads_as_csv_and_downloads_are_audited(sup, db):
    for name in TABLES:
        resp = sup.get(f"/admin/report/{name}.csv?{RANGE}")
        assert resp.status_code == 200 and resp.mimetype == "text/csv"
        assert f"homeward-{name}-2026-03-10-to-2026-03-20.csv" in resp.headers["Content-Disposition"]
        rows = list(csv.reader(io.StringIO(resp.get_data(as_text=True))))
        assert len(rows[0]) >= 2
    rows = list(csv.reader(io.StringIO(sup.get(f"/admin/report/checkins.csv?{RANGE}").get_data(as_text=True))))
    assert rows == [["day since release", "check-ins sent", "answered", "response rate %"],
                    ["0", "3", "2", "66.7"], ["1", "3", "1", "33.3"], ["2", "3", "0", "0.0"]]
    # fewer than 5 people: hidden in the export, and the rate beside it blanked
    rows = list(csv.reader(io.StringIO(sup.get(f"/admin/report/reach.csv?{RANGE}").get_data(as_text=True))))
    assert rows[1] == ["2026-03-09", "6", "6", "<5", "", "6", "<5", "", "0", "0", ""]
    rows = list(csv.reader(io.StringIO(sup.get(f"/admin/report/requests.csv?{RANGE}").get_data(as_text=True))))
    assert rows[1] == ["asked for a peer", "1", "<5"]
    assert sup.get("/admin/report/nope.csv").status_code == 404
    with db.session() as s:
        exports = list(s.scalars(select(AuditEvent).where(AuditEvent.action == "report_export")))
    assert len(exports) == len(TABLES) + 3
    assert exports[0].detail == {"table": "people", "start": "2026-03-10", "end": "2026-03-20"}


def test_the_date_range_filters_and_bad_dates_are_said(sup):
    html = sup.get("/admin/report?start=2026-01-01&end=2026-01-31").get_data(as_text=True)
    assert table(html, "checkins") == [["Nothing in this period."]]
    assert "No data in this period" not in html                                 # no block over empty charts
    assert re.findall(r'<figure class="chart" id="chart-(\w+)"', html) == ["naloxone"]   # "now", not the period
    assert re.findall(r'id="nodata-(\w+)">No data yet for this period.', html)[:3] == ["reach", "engagement", "checkins"]
    people = {r[0]: r[1:] for r in table(html, "people")}
    assert people["Enrolled"] == ["6", "0"]                         # "now" counts stay
    html = sup.get("/admin/report?start=soon&end=2026-03-20").get_data(as_text=True)
    assert "“soon” is not a date" in html and 'name="start" value="2026-02-19"' in html
    html = sup.get("/admin/report").get_data(as_text=True)           # the last 30 days up to today
    assert 'name="start" value="2026-02-19"' in html and 'name="end" value="2026-03-20"' in html


def test_a_peer_sees_only_their_own_numbers(app, db, client):
    app.extensions["homeward.clock"] = lambda: NOW
    seed_program(db)
    make_user(db, "pat@example.org", "peer", "Pat Lee")
    login(client, "pat@example.org")
    assert client.get(f"/admin/report?{RANGE}").status_code == 403
    assert client.get(f"/admin/report/reach.csv?{RANGE}").status_code == 403
    html = client.get(f"/admin/report/mine?{RANGE}").get_data(as_text=True)
    assert "Your numbers" in html and "Quinn Ortiz" not in html and 'id="table-reach"' not in html
    by_peer = [r[:3] for r in table(html, "response_peer")]
    assert by_peer == [["Pat Lee", "urgent", "2"], ["Pat Lee", "high", "1"]]
    assert table(html, "peer_weeks") == [["2026-03-16", "Pat Lee", "2"]]
    rows = list(csv.reader(io.StringIO(client.get(f"/admin/report/peer_weeks.csv?{RANGE}").get_data(as_text=True))))
    assert rows == [["week", "peer", "handled"], ["2026-03-16", "Pat Lee", "2"]]
