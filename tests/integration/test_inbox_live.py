"""The inbox a peer would choose: what each person said and why, filters and search, urgent
alerts, snooze, hours-aware assignment, the live person page, history and canned replies.
Every test runs on SQLite and PostgreSQL; "now" is pinned through the app's clock."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from bot import tickets
from bot.escalations import open_escalation
from db.models import AuditEvent, CannedReply, Escalation, Event, Message, Participant, StaffPresence, User
from tests.staff import inbound, login, make_person, make_ticket, make_user
from tests.twilio_signing import sms

NY_NOON = datetime(2026, 3, 10, 16, 0, tzinfo=timezone.utc)   # Tuesday 12:00 in New York
NY = "America/New_York"


ON_SHIFT = {d: [["00:00", "24:00"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}  # a peer at work


@pytest.fixture
def peer(app, db, client):
    uid = make_user(db, "luis@example.org", "peer", "Luis Ortega", shift=ON_SHIFT)
    login(client, "luis@example.org")
    app.extensions["homeward.clock"] = lambda: NY_NOON
    return uid


def rows(client, query=""):
    html = client.get("/inbox/rows" + query).get_data(as_text=True)
    return re.findall(r'<tr class="ticket p-\w+" data-ticket="(\d+)"', html), html


def test_each_row_says_what_the_person_wrote_and_why_in_words(client, db, peer):
    ana = make_person(db, "+13125550001", "Ana", release=NY_NOON.date() - timedelta(days=4), language="es")
    inbound(db, ana, "<img src=x onerror=alert(1)>\u202eno respira\n" + "y" * 1600, NY_NOON - timedelta(minutes=3))
    make_ticket(db, ana, "emergency", "urgent", NY_NOON - timedelta(minutes=9), sla_minutes=5)
    _, html = rows(client)
    row = re.search(r'<tr class="ticket.*?</tr>', html, re.S).group(0)
    assert 'class="reason">Overdose reported<' in row
    assert "&lt;img src=x onerror=alert(1)&gt; no respira yyy" in row and "<img" not in row
    assert "\u202e" not in row and "y" * 130 not in row.split('title=')[0]   # cut to one line
    assert '<span class="lang">Spanish</span>' in row and '<span class="day">day 4</span>' in row
    assert 'class="sla overdue"' in row and "overdue 4 min" in row


def test_filters_by_reason_priority_language_and_whose(client, db, peer):
    ana = make_person(db, "+13125550001", "Ana", language="es")
    bo = make_person(db, "+13125550002", "Bo")
    cy = make_person(db, "+13125550003", "Cy")
    t_ana = make_ticket(db, ana, "crisis", "urgent", NY_NOON)
    t_bo = make_ticket(db, bo, "peer_request", "normal", NY_NOON, assignee_id=peer)
    t_cy = make_ticket(db, cy, "high_risk", "high", NY_NOON)
    assert rows(client, "?reason=crisis")[0] == [str(t_ana)]
    assert rows(client, "?priority=high")[0] == [str(t_cy)]
    assert rows(client, "?language=es")[0] == [str(t_ana)]
    assert rows(client, "?view=mine")[0] == [str(t_bo)]
    assert rows(client, "?view=unassigned")[0] == [str(t_ana), str(t_cy)]
    assert rows(client, "?reason=nonsense")[0] == [str(t_ana), str(t_cy), str(t_bo)]   # unknown: ignored
    page = client.get("/inbox?reason=crisis").get_data(as_text=True)
    assert '<option value="crisis" selected>Crisis</option>' in page
    assert 'href="/inbox?view=mine&amp;reason=crisis"' in page   # tabs keep the filter
    counts = dict(re.findall(r'data-view="(\w+)">\w+ <span class="count">(\d+)</span>', page))
    assert counts == {"all": "1", "mine": "0", "unassigned": "1"}
    client.post(f"/inbox/{t_cy}/snooze", data={"at": "3pm"})
    counts = dict(re.findall(r'data-view="(\w+)">\w+ <span class="count">(\d+)</span>',
                             client.get("/inbox?language=en").get_data(as_text=True)))
    assert counts == {"all": "1", "mine": "1", "unassigned": "0"}   # Cy is snoozed, Bo is mine
    counts = dict(re.findall(r'data-view="(\w+)">\w+ <span class="count">(\d+)</span>',
                             client.get("/inbox").get_data(as_text=True)))
    assert counts == {"all": "2", "mine": "1", "unassigned": "1"}


def test_search_finds_people_by_first_name_last_four_digits_or_external_id(client, db, peer):
    ana = make_person(db, "+13125552671", "Ana", external_id="DOC-48213")
    make_person(db, "+13125559999", "Andre")
    make_person(db, "+13125550000", "Bo")

    def found(q):
        html = client.get("/inbox", query_string={"q": q}).get_data(as_text=True)
        section = html.split('id="search-results"')[1].split("</section>")[0]
        return re.findall(r'<a href="/people/\d+">([^<]+)</a>', section)
    assert found("an") == ["Ana", "Andre"]
    assert found("2671") == ["Ana"]
    assert found("DOC-48213") == ["Ana"]
    assert found(f"#{ana}") == ["Ana"]
    assert found("zz") == []
    assert "Nobody matches" in client.get("/inbox?q=zz").get_data(as_text=True)
    with db.session() as s:
        searches = [e.detail for e in s.scalars(select(AuditEvent).where(AuditEvent.action == "search_people"))]
    assert searches and all("q" not in d and "2671" not in str(d) for d in searches)


def test_search_by_name_is_a_case_blind_prefix_with_no_wildcards(client, db, peer):
    """The name match is served by an index (a range on SQLite, LIKE on PostgreSQL): the same
    people either way, and what a peer types is never a pattern."""
    make_person(db, "+13125552671", "ana")
    make_person(db, "+13125559999", "Andre")
    make_person(db, "+13125550000", "Diana")
    make_person(db, "+13125550001", "A_n%z")

    def found(q):
        html = client.get("/inbox", query_string={"q": q}).get_data(as_text=True)
        return re.findall(r'<a href="/people/\d+">([^<]+)</a>', html.split('id="search-results"')[1].split("</section>")[0])
    assert sorted(found("AN")) == ["Andre", "ana"]
    assert found("andrez") == [] and found("na") == []   # the start of the name, not the middle
    assert found("a%") == [] and found("a_") == ["A_n%z"] and found("a_n%") == ["A_n%z"]
    assert found("diana") == ["Diana"]


def test_the_updates_feed_names_urgent_reasons_never_what_was_written(client, db, peer):
    ana = make_person(db, "+13125550001", "Ana")
    inbound(db, ana, "he is not breathing", NY_NOON)
    make_ticket(db, ana, "emergency", "urgent", NY_NOON)
    make_ticket(db, make_person(db, "+13125550002", "Bo"), "crisis", "urgent", NY_NOON, first_response_at=NY_NOON)
    make_ticket(db, make_person(db, "+13125550003", "Cy"), "peer_request", "normal", NY_NOON)
    data = client.get("/inbox/updates").get_json()
    assert data["urgent"] == 1 and [t["reason"] for t in data["tickets"]] == ["Overdose reported"]
    assert data["tickets"][0]["url"] == f"/people/{ana}" and data["sound"] is True
    assert "breathing" not in str(data) and "Ana" not in str(data) and "2671" not in str(data)
    assert data["overdue"] == []    # peers are not the supervisors' alarm


def test_the_updates_feed_counts_every_urgent_ticket_and_names_the_newest_few(client, db, peer):
    assert client.get("/inbox/updates").get_json()["urgent"] == 0
    ids = [make_ticket(db, make_person(db, f"+131255501{i:02d}", f"P{i}"), "crisis", "urgent", NY_NOON)
           for i in range(12)]
    make_ticket(db, make_person(db, "+13125550200", "Snoozed"), "crisis", "urgent", NY_NOON,
                snoozed_until=NY_NOON + timedelta(hours=1))
    data = client.get("/inbox/updates").get_json()
    assert data["urgent"] == 12 and [t["id"] for t in data["tickets"]] == ids[::-1][:10]


def test_sound_can_be_turned_off_per_user(app, client, db, peer):
    other = app.test_client()
    make_user(db, "dee@example.org", "peer", "Dee", shift=ON_SHIFT)
    login(other, "dee@example.org")
    resp = client.post("/inbox/preferences", data={"alert_sound": "0", "next": "/caseload"})
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/caseload")
    assert client.get("/inbox/updates").get_json()["sound"] is False
    assert other.get("/inbox/updates").get_json()["sound"] is True
    assert "Alert sound for urgent tickets: <strong>off</strong>" in client.get("/caseload").get_data(as_text=True)


def test_supervisors_on_shift_hear_of_urgent_tickets_past_sla_with_nobody_on_them(app, db, client):
    app.extensions["homeward.clock"] = lambda: NY_NOON
    make_user(db, "sam@example.org", "supervisor", "Sam", shift={"tue": [["09:00", "17:00"]]})
    make_user(db, "night@example.org", "supervisor", "Nia", shift={"tue": [["18:00", "23:00"]]})
    off_peer = make_user(db, "zed@example.org", "peer", "Zed", shift={"mon": [["09:00", "17:00"]]})
    late = make_ticket(db, make_person(db, "+13125550001", "Ana"), "crisis", "urgent",
                       NY_NOON - timedelta(minutes=10), sla_minutes=5)
    parked = make_ticket(db, make_person(db, "+13125550002", "Bo"), "emergency", "urgent",
                         NY_NOON - timedelta(minutes=20), sla_minutes=5, assignee_id=off_peer)
    make_ticket(db, make_person(db, "+13125550003", "Cy"), "emergency", "urgent", NY_NOON, sla_minutes=5)
    login(client, "sam@example.org")
    overdue = client.get("/inbox/updates").get_json()["overdue"]
    assert [t["id"] for t in overdue] == [parked, late]        # the longest overdue first
    assert [t["reason"] for t in overdue] == ["Overdose reported", "Crisis"]
    night = app.test_client()
    login(night, "night@example.org")
    assert night.get("/inbox/updates").get_json()["overdue"] == []   # not on shift now


def test_a_ticket_for_an_off_shift_or_full_peer_goes_to_the_on_shift_queue(app, db, client):
    app.extensions["homeward.clock"] = lambda: NY_NOON
    away = make_user(db, "luis@example.org", "peer", "Luis Ortega", shift={"mon": [["09:00", "17:00"]]})
    full = make_user(db, "dee@example.org", "peer", "Dee", capacity=0, shift={"tue": [["09:00", "17:00"]]})
    with db.session() as s:
        mine = s.get(Participant, make_person(db, "+13125550001", "Ana", peer_id=away))
        theirs = s.get(Participant, make_person(db, "+13125550002", "Bo", peer_id=full))
        assert open_escalation(s, mine, "crisis", "urgent", "", NY_NOON, tz=NY).assignee_id is None
        assert open_escalation(s, theirs, "crisis", "urgent", "", NY_NOON, tz=NY).assignee_id is None
    parked = make_ticket(db, make_person(db, "+13125550003", "Cy"), "peer_request", "normal", NY_NOON,
                         assignee_id=away)
    make_user(db, "ana@example.org", "peer", "Ana Diaz", shift={"tue": [["09:00", "17:00"]]})
    login(client, "ana@example.org")
    ids, html = rows(client, "?view=unassigned")
    assert str(parked) in ids and len(ids) == 3               # "Unassigned" is the on-shift queue
    assert "Luis Ortega <span class=\"muted small\">(off shift)</span>" in html


def test_an_on_shift_peer_with_room_gets_their_own_persons_ticket(app, db):
    luis = make_user(db, "luis@example.org", "peer", "Luis Ortega", shift={"tue": [["09:00", "17:00"]]})
    with db.session() as s:
        person = s.get(Participant, make_person(db, peer_id=luis))
        assert open_escalation(s, person, "crisis", "urgent", "", NY_NOON, tz=NY).assignee_id == luis


def test_snoozed_leaves_the_queue_and_comes_back_at_its_time(app, client, db, peer):
    ana = make_person(db, "+13125550001", "Ana")
    tid = make_ticket(db, ana, "peer_request", "normal", NY_NOON - timedelta(hours=1))
    resp = client.post(f"/inbox/{tid}/snooze", data={"at": "3pm"})
    assert resp.status_code == 302
    assert "Snoozed until Tue Mar 10, 15:00" in client.get("/inbox").get_data(as_text=True)
    assert rows(client)[0] == [] and 'data-snoozed="%d"' % tid in rows(client)[1]
    assert client.get("/inbox/rows?view=unassigned").get_data(as_text=True).count('class="ticket ') == 0
    app.extensions["homeward.clock"] = lambda: NY_NOON + timedelta(hours=3)   # 15:00 New York
    login(client, "luis@example.org")                  # three hours later: a new session
    assert rows(client)[0] == [str(tid)]
    bad = client.post(f"/inbox/{tid}/snooze", data={"at": "soonish"}, follow_redirects=True)
    assert "Give a time like 15:00 or 3pm." in bad.get_data(as_text=True)


def test_a_snoozed_ticket_comes_back_sooner_when_the_person_writes(app, client, db, peer):
    ana = make_person(db, "+13125552671", "Ana")
    tid = make_ticket(db, ana, "peer_request", "normal", NY_NOON - timedelta(hours=1))
    client.post(f"/inbox/{tid}/snooze", data={"preset": "tomorrow"})
    assert rows(client)[0] == []
    assert sms(app.test_client(), "+13125552671", "hey are you there").status_code == 200
    assert rows(client)[0] == [str(tid)]


def test_the_live_poll_brings_new_texts_statuses_and_who_else_is_here(app, client, db, peer):
    ana = make_person(db, "+13125550001", "Ana")
    first = inbound(db, ana, "hi", NY_NOON - timedelta(minutes=5))
    page = client.get(f"/people/{ana}").get_data(as_text=True)
    assert f'data-last-message="{first}"' in page
    with db.session() as s:
        out = Message(participant_id=ana, direction="out", channel="sms", kind="peer", body="hello", status="queued",
                      author_id=peer, created_at=NY_NOON, updated_at=NY_NOON)
        s.add(out)
        s.flush()
        out_id = out.id
    newer = inbound(db, ana, "<b>still here</b>", NY_NOON)
    data = client.post(f"/people/{ana}/live", json={"message": first, "watch": [out_id]}).get_json()
    assert data["html"].count("data-message=") == 2 and "&lt;b&gt;still here&lt;/b&gt;" in data["html"]
    assert data["last"]["message"] == newer and data["statuses"][str(out_id)]["status"] == "queued"
    with db.session() as s:
        s.get(Message, out_id).status = "delivered"
    data = client.post(f"/people/{ana}/live", json={"message": newer, "watch": [out_id]}).get_json()
    assert data["html"] == "" and ">delivered<" in data["statuses"][str(out_id)]["html"]
    assert data["others"] == []
    dee = app.test_client()
    make_user(db, "dee@example.org", "peer", "Dee Okafor")
    login(dee, "dee@example.org")
    dee.post(f"/people/{ana}/live", json={"message": newer, "replying": True})
    assert client.post(f"/people/{ana}/live", json={"message": newer}).get_json()["others"] == ["Dee is replying"]
    assert dee.post(f"/people/{ana}/live", json={"message": newer}).get_json()["others"] == ["Luis is viewing"]
    app.extensions["homeward.clock"] = lambda: NY_NOON + timedelta(minutes=2)   # Dee's tab went quiet
    assert client.post(f"/people/{ana}/live", json={"message": newer}).get_json()["others"] == []
    assert client.post("/people/999999/live", json={}).status_code == 404


def test_the_live_poll_says_whose_ticket_it_is_and_brings_new_notes_and_events(app, client, db, peer):
    """The poll first asks whether anything is new at all; when something is, it still brings
    every kind, and the ticket's assignee comes with the answer either way."""
    ana = make_person(db, "+13125550001", "Ana")
    first = inbound(db, ana, "hi", NY_NOON - timedelta(minutes=5))
    tid = make_ticket(db, ana, "peer_request", "normal", NY_NOON - timedelta(minutes=5))
    quiet = client.post(f"/people/{ana}/live", json={"message": first}).get_json()
    assert quiet["html"] == "" and quiet["ticket"] == {"id": tid, "assignee": None}
    assert quiet["last"] == {"message": first, "note": 0, "event": 0}
    client.post(f"/inbox/{tid}/claim", data={"expected": ""})
    client.post(f"/people/{ana}/note", data={"body": "called, no answer"})
    with db.session() as s:
        s.add(Event(participant_id=ana, name="checkin", data={"mood": 3}, created_at=NY_NOON))
    data = client.post(f"/people/{ana}/live", json={"message": first}).get_json()
    assert data["ticket"] == {"id": tid, "assignee": "Luis Ortega"}
    assert "called, no answer" in data["html"] and "Checked in: 3 of 5" in data["html"]
    assert "data-message=" not in data["html"] and data["last"]["note"] > 0 and data["last"]["event"] > 0
    again = client.post(f"/people/{ana}/live", json={"message": first, **{k: data["last"][k] for k in ("note", "event")}})
    assert again.get_json()["html"] == ""


def test_the_person_page_shows_no_internals_and_the_history_after_resolve(app, client, db, peer):
    ana = make_person(db, "+13125552671", "Ana", fields={"consent": True, "naloxone_on_hand": "yes", "last_place": {
        "lat": 39.7435, "lon": -84.1792, "label": "Dayton, OH", "zip": "45402", "radius": 5}}, risk_tier="high")
    msg = inbound(db, ana, "he's not breathing", NY_NOON - timedelta(minutes=10))
    tid = make_ticket(db, ana, "emergency", "urgent", NY_NOON - timedelta(minutes=10), message_id=msg,
                      note="classifier: en.emergency.not_breathing\npeer_request: Asked to talk with a peer "
                           "(peer_request).\npeer_request: Asked to talk with a peer (peer_request).")
    with db.session() as s:
        s.add_all([Event(participant_id=ana, name="safety", data={"kind": "emergency"}, created_at=NY_NOON),
                   Event(participant_id=ana, name="checkin", data={"mood": 2}, created_at=NY_NOON),
                   Event(participant_id=ana, name="locator", data={"need": "naloxone", "status": "found"},
                         created_at=NY_NOON)])
    client.post(f"/inbox/{tid}/claim", data={"expected": ""})
    with db.session() as s:
        tickets.responded(s, ana, peer, NY_NOON + timedelta(minutes=3))
    page = client.get(f"/people/{ana}").get_data(as_text=True)
    for raw in ("classifier", "en.emergency", "'lat'", "True", "peer_request", "last place", "{'"):
        assert raw not in page, raw
    assert page.count("Asked for a peer") == 1 and "Emergency detected (not breathing)" in page
    assert "Checked in: 2 of 5" in page and "Asked for naloxone near Dayton, OH 45402" in page
    assert "<dt>Risk tier</dt><dd>High</dd>" in page and "<dt>Naloxone on hand</dt><dd>yes</dd>" in page
    client.post(f"/people/{ana}/resolve", data={"ticket_id": tid, "outcome": "reversal_reported",
                                                "note": "EMS came; he is OK."})
    history = client.get(f"/people/{ana}").get_data(as_text=True).split('id="history"')[1].split("</section>")[0]
    assert "Overdose reported" in history and "Claimed Tue Mar 10, 12:00 by Luis Ortega" in history
    assert "First response after 13 min" in history
    assert "Resolved Tue Mar 10, 12:00: <strong>Reversal reported</strong>" in history
    assert "Note: EMS came; he is OK." in history


def test_canned_replies_fill_the_name_and_refuse_unknown_placeholders(app, client, db, peer):
    make_user(db, "sam@example.org", "supervisor", "Sam")
    sup = app.test_client()
    login(sup, "sam@example.org")
    ana = make_person(db, "+13125550001", "Ana", language="es")
    page = client.get(f"/people/{ana}").get_data(as_text=True)   # nothing saved yet: the starter set
    assert 'data-body="Hola Ana, soy Luis, compañero de Homeward.' in page
    resp = sup.post("/admin/canned", data={"title": "Oops", "body_en": "Hi {frist_name}", "body_es": "Hola {nombre}"},
                    follow_redirects=True)
    text = resp.get_data(as_text=True)
    assert "Not saved. English: “{frist_name}” is not a placeholder" in text and "Spanish: “{nombre}”" in text
    with db.session() as s:
        assert s.scalar(select(CannedReply.id)) is None
    sup.post("/admin/canned/starter")
    sup.post("/admin/canned/starter")   # twice: nothing doubled
    with db.session() as s:
        assert len(list(s.scalars(select(CannedReply)))) == 5
        cid = s.scalar(select(CannedReply.id).where(CannedReply.title == "First contact"))
    draft = client.get(f"/people/{ana}?canned={cid}").get_data(as_text=True)
    assert "Hola Ana, soy Luis, compañero de Homeward." in draft.split('id="body"')[1].split("</textarea>")[0]


def test_a_web_chat_person_gets_no_segment_count(client, db, peer):
    from db.models import Contact
    ana = make_person(db, None, "Ana")
    with db.session() as s:
        s.add(Contact(participant_id=ana, channel="webchat", address="webchat:abc"))
    page = client.get(f"/people/{ana}").get_data(as_text=True)
    assert '<output id="segments" for="body" data-channel="webchat">web chat</output>' in page
