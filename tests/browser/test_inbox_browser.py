"""The peer inbox in headless Chromium against a real server, on SQLite and PostgreSQL."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from core.sms import count_segments
from db.models import CannedReply, Participant
from tests.browser.conftest import sign_in
from tests.staff import PASSWORD, make_person, make_ticket, make_user
from tests.twilio_signing import sms

ON_SHIFT = {d: [["00:00", "24:00"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}  # a peer at work
pytestmark = pytest.mark.browser
PHONE = "+13125552671"


def test_a_peer_triages_an_emergency_from_text_to_resolution(app, db, live_server, page):
    make_user(db, "luis@example.org", "peer", "Luis Ortega", shift=ON_SHIFT, capacity=0)  # full: tickets land unassigned
    make_ticket(db, make_person(db, "+13125550001", "Dee"), "asked_for_peer", "normal")
    sign_in(page, live_server, "luis@example.org", PASSWORD)
    expect(page).to_have_url(re.compile(r"/inbox$"))
    expect(page.locator("tr.ticket")).to_have_count(1)

    assert sms(app.test_client(), PHONE, "my brother is not breathing, he used").status_code == 200
    first = page.locator("tr.ticket").first
    expect(first.locator(".reason")).to_have_text("Overdose reported")  # arrives by polling, no reload
    expect(first.locator(".badge")).to_have_text("urgent")
    expect(first.locator(".assignee")).to_have_text("unassigned")
    first.get_by_role("button", name="Claim").click()
    expect(page.locator(".flash")).to_contain_text("Claimed")
    expect(page.locator("tr.ticket").first.locator(".assignee")).to_have_text("Luis Ortega")

    page.locator("tr.ticket").first.locator("a.person").click()
    expect(page.locator("#thread")).to_contain_text("not breathing")
    box = page.locator("#body")
    box.fill("Luis here. Call 911 now if you have not. I'm calling you.")
    expect(page.locator("#segments")).to_have_text(count_segments(box.input_value()).describe())
    page.get_by_role("button", name="Send text").click()
    expect(page.locator(".flash")).to_contain_text("Sent (1 segment")
    peer_msg = page.locator("#thread li.kind-peer")
    expect(peer_msg).to_contain_text("I'm calling you.")
    expect(peer_msg.locator(".status")).to_have_text("sandbox")

    page.locator("#note-body").fill("Spoke by phone; EMS on the way.")
    page.get_by_role("button", name="Save note").click()
    expect(page.locator("#thread li.note")).to_contain_text("EMS on the way")

    page.locator("#resolve summary").click()
    page.get_by_label("Outcome").select_option("reversal_reported")
    page.get_by_role("button", name="Resolve", exact=True).click()
    expect(page.locator(".flash")).to_contain_text("Resolved: Reversal reported")
    expect(page.locator("tr.ticket")).to_have_count(1)
    expect(page.locator("tr.ticket .reason")).to_have_text("Asked for a peer")


def test_a_script_in_a_text_renders_inert(app, db, live_server, page):
    make_user(db, "luis@example.org", "peer")
    sms(app.test_client(), PHONE, '<script>window.pwned=1</script><img src=x onerror="window.pwned=2">hi')
    sign_in(page, live_server, "luis@example.org", PASSWORD)
    with db.session() as s:
        person_id = s.query(Participant.id).scalar()
    page.goto(f"{live_server}/people/{person_id}")
    expect(page.locator("#thread li.in").first).to_contain_text("<script>window.pwned=1</script>")
    assert page.locator("#thread img").count() == 0
    assert page.evaluate("typeof window.pwned") == "undefined"


def test_a_peer_cannot_open_supervisor_pages(db, live_server, page):
    make_user(db, "luis@example.org", "peer")
    sign_in(page, live_server, "luis@example.org", PASSWORD)
    expect(page.locator("header nav")).not_to_contain_text("Audit log")
    for path in ("/admin/audit", "/admin/canned"):
        resp = page.goto(live_server + path)
        assert resp.status == 403, path
        expect(page.locator("h1")).to_have_text("Not for your role")


def test_logged_out_every_staff_page_redirects_to_login(db, live_server, page):
    person = make_person(db)
    for path in ("/inbox", "/inbox/rows", "/people", "/people/new", f"/people/{person}",
                 f"/people/{person}/edit", "/caseload", "/admin/audit", "/admin/canned"):
        page.goto(live_server + path)
        expect(page).to_have_url(re.compile(r"/login\?next="))
        expect(page.get_by_role("button", name="Sign in")).to_be_visible()


def test_the_queue_works_with_javascript_off(browser, db, live_server):
    make_user(db, "luis@example.org", "peer", "Luis Ortega", shift=ON_SHIFT)
    make_ticket(db, make_person(db), "crisis", "urgent")
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    sign_in(page, live_server, "luis@example.org", PASSWORD)
    page.get_by_role("button", name="Claim").click()
    expect(page.locator("tr.ticket .assignee")).to_have_text("Luis Ortega")
    page.get_by_role("link", name="Mine").click()
    expect(page.locator("tr.ticket")).to_have_count(1)
    context.close()


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_the_segment_counter_agrees_with_the_server_and_canned_replies_fill_the_box(db, live_server, page):
    make_user(db, "luis@example.org", "peer")
    person = make_person(db, language="es")
    with db.session() as s:
        s.add(CannedReply(title="Naloxona", body_en="Free naloxone?", body_es="¿Quieres naloxona gratis? 🙂"))
    sign_in(page, live_server, "luis@example.org", PASSWORD)
    page.goto(f"{live_server}/people/{person}")
    page.get_by_label("Canned reply").select_option(label="Naloxona")
    expect(page.locator("#body")).to_have_value("¿Quieres naloxona gratis? 🙂")
    expect(page.locator("#segments")).to_have_text(count_segments("¿Quieres naloxona gratis? 🙂").describe())
    for text in ("", "hi", "x" * 160, "x" * 161, "Price: 5€ [ok]", "¿Cómo estás? Ñandú", "café ☕",
                 "🙂" * 35, "a\nb", "^{}\\[~]|€" * 20):
        assert page.evaluate("t => window.homewardSegments(t)", text) == count_segments(text).describe(), text
