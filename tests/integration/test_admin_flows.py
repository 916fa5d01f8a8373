"""Flows in the supervisor console, on both databases: check, publish, simulate, roll back, diff."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import func, select

from db.models import AuditEvent, Conversation, Escalation, Event, FlowVersion, Message, Participant, Setting
from tests.integration.test_webhook import replies
from tests.staff import login, make_user
from tests.twilio_signing import sms

CHECKIN = (Path(__file__).resolve().parents[2] / "bot" / "content" / "flows" / "checkin.yaml").read_text()
OLD_GOOD = "Glad to hear it. Every good day counts."
NEW_GOOD = "So glad. Every good day counts."


@pytest.fixture
def sup(db, client):
    make_user(db, "sam@example.org", "supervisor", "Sam Rivera")
    login(client, "sam@example.org")
    client.get("/admin/flows")            # a fresh database publishes the shipped flows (v1)
    return client


def versions(db, name="checkin"):
    with db.session() as s:
        return list(s.scalars(select(FlowVersion.version).where(FlowVersion.name == name)
                              .order_by(FlowVersion.version)))


def line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def post(client, action, source, name="checkin", **extra):
    if action == "publish":
        extra.setdefault("confirm", "yes")      # the confirmation page is tested on its own
    return client.post(f"/admin/flows/{name}", data={"action": action, "source": source, **extra})


def sim_token(html: str) -> str:
    return re.search(r'name="sim" value="([^"]+)"', html)[1]


def transcript(html: str) -> list[str]:
    return [re.sub(r"&#39;", "'", t) for t in re.findall(r'<li class="sim-(?:you|bot)">(.*?)</li>', html, re.S)]


def test_the_list_shows_every_flow_and_its_live_version(sup):
    html = sup.get("/admin/flows").get_data(as_text=True)
    for name in ("checkin", "naloxone", "peer", "risk", "screening", "treatment", "welcome"):
        assert f'data-flow="{name}"' in html
    assert sup.get("/admin/flows/nope").status_code == 404


def test_a_mistake_is_shown_at_its_line_kept_as_a_draft_and_cannot_be_published(sup, db):
    bad = CHECKIN.replace("next: record", "next: recrod", 1)
    line = line_of(bad, "next: recrod")
    resp = post(sup, "check", bad, base="1")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert re.search(rf'<li class="problem error" data-line="{line}">.*?&#39;recrod&#39; is not a node', html, re.S)
    assert re.search(rf'<span id="L{line}" class="ln error"', html)
    assert 'id="cannot-publish"' in html
    with db.session() as s:
        assert s.get(Setting, "flow_draft:checkin").value["source"] == bad
    resp = post(sup, "publish", bad, base="1")
    assert resp.status_code == 422 and "Not published" in resp.get_data(as_text=True)
    assert versions(db) == [1]
    # the draft is what the editor opens with next time, and the text is never markup
    assert "next: recrod" in sup.get("/admin/flows/checkin").get_data(as_text=True)
    hostile = "# </textarea><script>alert(1)</script>\n" + CHECKIN
    html = post(sup, "check", hostile, base="1").get_data(as_text=True)
    assert "&lt;/textarea&gt;&lt;script&gt;" in html and "<script>alert" not in html


def test_publish_adds_a_version_that_new_conversations_use_while_running_ones_finish_on_theirs(app, sup, db):
    web = app.test_client()
    asked = replies(sms(web, "+17735550001", "CHECKIN"))
    assert "How are you doing today?" in asked[0]
    fixed = CHECKIN.replace("How are you doing today?", "How is today treating you?").replace(OLD_GOOD, NEW_GOOD)
    resp = post(sup, "publish", fixed, base="1")
    assert resp.status_code == 302
    assert "Published checkin version 2" in sup.get(resp.headers["Location"]).get_data(as_text=True)
    assert versions(db) == [1, 2]
    assert "How is today treating you?" in replies(sms(web, "+17735550002", "CHECKIN"))[0]
    assert OLD_GOOD in replies(sms(web, "+17735550001", "5"))[0]      # started on v1, ends on v1
    assert NEW_GOOD in replies(sms(web, "+17735550002", "5"))[0]
    with db.session() as s:
        assert sorted(s.scalars(select(Conversation.flow_version).where(Conversation.flow == "checkin"))) == [1, 2]
        event = s.scalar(select(AuditEvent).where(AuditEvent.action == "flow_publish"))
        assert event.detail == {"flow": "checkin", "version": 2, "previous": 1, "warnings": 0,
                                    "before": "v1 live", "after": "v2 live", "texts_changed": 2}
        assert s.get(Setting, "flow_draft:checkin") is None
    resp = post(sup, "publish", fixed, base="2")
    assert resp.status_code == 302 and versions(db) == [1, 2]             # the same text again: nothing new


def test_publishing_over_someone_elses_newer_version_asks_first(sup, db):
    assert post(sup, "publish", CHECKIN.replace("Check in\n", "Check-in\n"), base="1").status_code == 302
    mine = CHECKIN.replace(OLD_GOOD, NEW_GOOD)
    resp = post(sup, "publish", mine, base="1")
    assert resp.status_code == 409 and "version 2 was published while you were editing" in resp.get_data(as_text=True)
    assert 'name="base" value="2"' in resp.get_data(as_text=True)
    assert post(sup, "publish", mine, base="2").status_code == 302
    assert versions(db) == [1, 2, 3]


def test_roll_back_publishes_the_old_text_as_a_new_version_and_the_diff_is_escaped(sup, db):
    changed = CHECKIN.replace(OLD_GOOD, "Glad <b>to</b> hear it & more.")
    assert post(sup, "publish", changed, base="1").status_code == 302
    diff = sup.get("/admin/flows/checkin/diff?a=1&b=2").get_data(as_text=True)
    assert '<span class="d-add">+      en: &#34;Glad &lt;b&gt;to&lt;/b&gt; hear it &amp; more.' in diff
    assert "<b>to</b>" not in diff and "1 line added" in diff
    unconfirmed = sup.post("/admin/flows/checkin/rollback", data={"version": "1"})
    assert unconfirmed.status_code == 302 and "/rollback?version=1" in unconfirmed.headers["Location"]
    assert versions(db) == [1, 2]                                   # nothing happened without a yes
    confirm = sup.get("/admin/flows/checkin/rollback?version=1").get_data(as_text=True)
    assert "0 conversations are in progress on the live version 2" in confirm
    assert "Glad &lt;b&gt;to&lt;/b&gt; hear it &amp; more." in confirm and OLD_GOOD in confirm
    assert sup.post("/admin/flows/checkin/rollback", data={"version": "1", "confirm": "yes"}).status_code == 302
    with db.session() as s:
        rows = {v.version: v.source for v in s.scalars(select(FlowVersion).where(FlowVersion.name == "checkin"))}
        assert sorted(rows) == [1, 2, 3] and rows[3] == rows[1] and rows[2] == changed
        event = s.scalar(select(AuditEvent).where(AuditEvent.action == "flow_rollback"))
        assert event.detail == {"flow": "checkin", "restored": 1, "version": 3, "previous": 2,
                                "before": "v2 live", "after": "v1's text live as v3", "in_progress_on_old": 0}
    assert "v1" in sup.get("/admin/flows/checkin/v/1").get_data(as_text=True)
    assert sup.get("/admin/flows/checkin/v/9").status_code == 404
    assert sup.get("/admin/flows/checkin/diff?a=1&b=draft").status_code == 404     # no draft


def test_the_simulator_runs_the_draft_as_live_and_stores_nothing(sup, db):
    draft = CHECKIN.replace("How are you doing today?", "How is today treating you?")
    html, said = "", []
    token = ""
    for text in ("CHECKIN", "2", "yes"):
        resp = post(sup, "send", draft, message=text, sim=token, base="1")
        assert resp.status_code == 200
        html = resp.get_data(as_text=True)
        token = sim_token(html)
    said = transcript(html)
    assert said[0] == "CHECKIN" and "How is today treating you?" in said[1]
    assert "ticket for a peer: struggling (high)" in html and "988" in html
    with db.session() as s:
        for model in (Participant, Message, Conversation, Escalation, Event):
            assert s.scalar(select(func.count()).select_from(model)) == 0, model
    assert versions(db) == [1]
    # a tampered state is not trusted: the simulation starts over
    resp = post(sup, "send", draft, message="hello", sim=token[:-4] + "AAAA", base="1")
    assert resp.status_code == 200 and transcript(resp.get_data(as_text=True))[0] == "hello"
    # a draft with an error is not simulated
    resp = post(sup, "send", draft.replace("type: ask", "type: asc", 1), message="CHECKIN", base="1")
    assert resp.status_code == 422 and "Fix the errors first" in resp.get_data(as_text=True)


def test_a_new_flow_starts_as_a_draft_and_goes_live_when_published(app, sup, db):
    resp = sup.post("/admin/flows/new", data={"name": "housing"})
    assert resp.headers["Location"].endswith("/admin/flows/housing")
    page = sup.get("/admin/flows/housing").get_data(as_text=True)
    source = re.search(r'<textarea id="source"[^>]*>\n(.*?)</textarea>', page, re.S)[1]
    source = source.replace("&#34;", '"').replace("&#39;", "'")
    assert "housing" in sup.get("/admin/flows").get_data(as_text=True)
    assert post(sup, "publish", source, name="housing", base="0").status_code == 302
    assert versions(db, "housing") == [1]
    assert "Hi from Homeward." in replies(sms(app.test_client(), "+17735550003", "HOUSING"))[0]
    assert sup.post("/admin/flows/new", data={"name": "Bad Name!"}).status_code == 302
    assert versions(db, "Bad Name!") == []


def test_discarding_the_draft_goes_back_to_the_live_text(sup, db):
    post(sup, "check", CHECKIN.replace(OLD_GOOD, NEW_GOOD), base="1")
    assert NEW_GOOD in sup.get("/admin/flows/checkin").get_data(as_text=True)
    assert post(sup, "discard", "").status_code == 302
    page = sup.get("/admin/flows/checkin").get_data(as_text=True)
    assert NEW_GOOD not in page and OLD_GOOD in page
