"""The Content-Security-Policy breaks nothing a person uses (issue 16, 9): staff pages, the
report's charts and the web chat run in Chromium with no CSP violation, and a page of this site
cannot be framed."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import sign_in
from tests.report_seed import NOW, seed_program
from tests.staff import PASSWORD, make_person, make_user

pytestmark = pytest.mark.browser


def _violations(page) -> list[str]:
    seen: list[str] = []
    page.on("console", lambda m: seen.append(m.text) if "Content Security Policy" in m.text else None)
    page.evaluate("() => 0")
    return seen


def test_staff_pages_and_charts_run_under_the_policy(app, db, live_server, page):
    app.extensions["homeward.clock"] = lambda: NOW
    make_user(db, "sam@example.org", "supervisor", "Sam Rivera")
    seed_program(db)
    person = make_person(db, "+13125550123", "Bea")
    seen = _violations(page)
    sign_in(page, live_server, "sam@example.org", PASSWORD)
    for path in ("/inbox", f"/people/{person}", "/admin/flows/checkin", "/admin/nudges",
                 "/admin/report?start=2026-03-10"):
        page.goto(live_server + path)
        expect(page.locator("h1").first).to_be_visible()
    fill = page.evaluate("getComputedStyle(document.querySelector('#chart-escalations svg .background')).fill")
    assert fill == "rgb(255, 255, 255)"               # the chart's own stylesheet applied (its nonce)
    page.goto(f"{live_server}/people/{person}")
    page.get_by_label("Message", exact=True).fill("hola")   # segments.js runs: the counter updates
    expect(page.locator("#segments")).to_have_text("1 segment (GSM-7, 4 units)")
    assert seen == []


def test_the_chat_runs_under_the_policy(live_server, page):
    seen = _violations(page)
    page.goto(live_server + "/chat")
    page.get_by_label("Your message").fill("hi")
    page.get_by_role("button", name="Send").click()
    expect(page.locator("#messages li").nth(1)).to_be_visible()     # chat.js posted it and drew the answer
    assert seen == []


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_person_page_cannot_be_framed(db, live_server, page):
    make_user(db, "sam@example.org", "peer", "Sam Rivera")
    person = make_person(db)
    sign_in(page, live_server, "sam@example.org", PASSWORD)
    with page.expect_console_message(lambda m: "frame-ancestors" in m.text) as refused:
        page.set_content(f'<iframe id="f" src="{live_server}/people/{person}"></iframe>')
    assert "has been blocked" in refused.value.text
    expect(page.frame_locator("#f").locator("form")).to_have_count(0)    # no reply form in the frame
