"""The supervisor console in headless Chromium against a real server."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from db.models import Conversation, FlowVersion
from tests.browser.conftest import sign_in
from tests.integration.test_webhook import replies
from tests.report_seed import NOW, seed_program
from tests.staff import PASSWORD, make_user
from tests.twilio_signing import sms

pytestmark = pytest.mark.browser
CHECKIN = (Path(__file__).resolve().parents[2] / "bot" / "content" / "flows" / "checkin.yaml").read_text()
OLD_Q, NEW_Q = "How are you doing today?", "How is today treating you?"
OLD_END, NEW_END = "Glad to hear it. Every good day counts.", "So glad. Every good day counts."
CONSOLE = ["/admin", "/admin/flows", "/admin/flows/checkin", "/admin/flows/checkin/v/1", "/admin/flows/checkin/diff",
           "/admin/nudges", "/admin/staff", "/admin/settings", "/admin/report", "/admin/canned", "/admin/audit"]


def versions(db):
    with db.session() as s:
        return list(s.scalars(select(FlowVersion.version).where(FlowVersion.name == "checkin")
                              .order_by(FlowVersion.version)))


def test_a_mistake_shows_at_its_line_and_blocks_publishing_then_the_fix_goes_live(app, db, live_server, page):
    make_user(db, "sam@example.org", "supervisor", "Sam Rivera")
    texter = app.test_client()
    assert OLD_Q in replies(sms(texter, "+17735550001", "CHECKIN"))[0]      # a conversation running on v1

    sign_in(page, live_server, "sam@example.org", PASSWORD)
    page.get_by_role("link", name="Console").click()
    page.get_by_role("link", name="Flows").first.click()
    page.get_by_role("link", name="checkin", exact=True).click()
    expect(page.locator("h1")).to_contain_text("live: v1")

    bad = CHECKIN.replace("next: record", "next: recrod", 1)
    line = next(i for i, text in enumerate(bad.splitlines(), 1) if "next: recrod" in text)
    page.locator("#source").fill(bad)
    page.get_by_role("button", name="Check and keep as draft").click()
    problem = page.locator(f'#problems li.error[data-line="{line}"]')
    expect(problem).to_contain_text("'recrod' is not a node in this flow")
    expect(page.locator(f"#L{line}")).to_have_class(re.compile(r"\berror\b"))
    expect(page.locator("#cannot-publish")).to_be_visible()
    problem.get_by_role("link", name=f"line {line}").click()               # jumps to the line in the text
    selected = page.evaluate("() => { const t = document.getElementById('source');"
                             " return t.value.slice(t.selectionStart, t.selectionEnd); }")
    assert selected.strip() == "next: recrod"

    page.get_by_role("button", name="Publish as version 2").click()
    expect(page.locator(".flash.error")).to_contain_text("Not published")
    expect(page.locator(f"#L{line}")).to_have_class(re.compile(r"\berror\b"))
    assert versions(db) == [1]

    page.locator("#source").fill(CHECKIN.replace(OLD_Q, NEW_Q).replace(OLD_END, NEW_END))
    page.get_by_role("button", name="Publish as version 2").click()
    expect(page.locator("#text-diff")).to_contain_text(NEW_Q)            # asks first, showing the texts
    page.get_by_role("button", name="Yes, publish version 2").click()
    expect(page.locator(".flash")).to_contain_text("Published checkin version 2")
    expect(page.locator("h1")).to_contain_text("live: v2")
    expect(page.locator("#no-problems")).to_be_visible()
    assert versions(db) == [1, 2]

    assert NEW_Q in replies(sms(texter, "+17735550002", "CHECKIN"))[0]     # new conversations: v2
    assert OLD_END in replies(sms(texter, "+17735550001", "5"))[0]         # the running one finishes on v1
    assert NEW_END in replies(sms(texter, "+17735550002", "5"))[0]
    with db.session() as s:
        assert sorted(s.scalars(select(Conversation.flow_version).where(Conversation.flow == "checkin"))) == [1, 2]

    page.get_by_role("link", name="changes from v1").click()
    expect(page.locator("#diff .d-add")).to_contain_text([NEW_Q, NEW_END])


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_the_simulator_texts_the_draft_with_enter_and_a_silent_wait(db, live_server, page):
    make_user(db, "sam@example.org", "supervisor", "Sam Rivera")
    sign_in(page, live_server, "sam@example.org", PASSWORD)
    page.goto(live_server + "/admin/flows/checkin")
    page.locator("#source").fill(CHECKIN.replace(OLD_Q, NEW_Q))
    box = page.get_by_label("Text as the participant")
    box.fill("CHECKIN")
    box.press("Enter")                                  # Enter sends (the first button in the form)
    log = page.locator("#sim-log")
    expect(log.locator("li.sim-bot").last).to_contain_text(NEW_Q)
    expect(page.locator("#source")).to_have_value(re.compile(re.escape(NEW_Q)))   # the edit survives
    page.get_by_role("button", name="Stay silent (the timer fires)").click()
    expect(log.locator("li.sim-bot").last).to_contain_text("Just checking in, no pressure")
    box = page.get_by_label("Text as the participant")
    box.fill("2")
    box.press("Enter")
    expect(log).to_contain_text("report event checkin: mood=2")
    expect(log.locator("li.sim-bot").last).to_contain_text("Would you like a peer to reach out today?")
    with db.session() as s:
        assert s.scalars(select(Conversation)).first() is None                     # nothing stored


def test_the_report_draws_its_charts_switches_period_and_downloads_every_csv(app, db, live_server, page):
    app.extensions["homeward.clock"] = lambda: NOW
    make_user(db, "sam@example.org", "supervisor", "Sam Rivera")
    seed_program(db)
    sign_in(page, live_server, "sam@example.org", PASSWORD)
    page.get_by_role("link", name="Report").first.click()
    page.get_by_label("From", exact=True).fill("2026-03-10")
    page.get_by_role("button", name="Show").click()
    expect(page).to_have_url(re.compile(r"start=2026-03-10"))
    for name in ("reach", "engagement", "checkins", "risk", "escalations", "response", "response_week", "locator",
                 "requests", "naloxone", "outcomes", "peer_weeks"):
        chart = page.locator(f"#chart-{name} svg.pygal-chart")
        expect(chart).to_be_visible()
        expect(chart.locator(".no_data")).to_have_count(0)
    drawn = "sel => [...document.querySelectorAll(sel)].filter(r => r.getBBox().height > 0.5).length"
    assert page.evaluate(drawn, "#chart-escalations svg .series rect.rect") == 5     # one bar per reason
    assert page.evaluate(drawn, "#chart-checkins svg .series rect.rect") == 2        # day 2: 0% answered
    expect(page.locator("#chart-naloxone svg .slice path")).to_have_count(2)
    expect(page.locator("#chart-escalations svg")).to_contain_text("asked for peer")
    expect(page.locator("#chart-locator svg")).to_contain_text("fallback only")
    expect(page.locator("#kpis")).to_contain_text("reached within 7 days of release · 4 of 6")
    expect(page.locator("#table-reach")).to_contain_text("66.7")
    # the charts are drawn without JavaScript (the only scripts are the shared urgent-alert files)
    assert page.evaluate("document.querySelectorAll('svg script, script:not([src])').length") == 0
    names = page.eval_on_selector_all("section.report-section", "els => els.map(e => e.id.slice(8))")
    assert len(names) == 16
    for i, name in enumerate(names):
        if i and i % 8 == 0:
            page.reload()           # Chromium holds back a page's downloads after ten or so
        with page.expect_download() as download:
            page.locator(f"#section-{name}").get_by_role("link", name="CSV").click()
        assert download.value.suggested_filename == f"homeward-{name}-2026-03-10-to-2026-03-20.csv"
        text = Path(download.value.path()).read_text()
        assert len(text.splitlines()) >= 2, name                                    # a header and rows
        if name == "reach":
            assert "<5" in text                                                     # small cells hidden
    # a period with nothing in it: small lines, no block over a chart
    page.get_by_label("From", exact=True).fill("2026-01-01")
    page.get_by_label("To", exact=True).fill("2026-01-31")
    page.get_by_role("button", name="Show").click()
    expect(page).to_have_url(re.compile(r"end=2026-01-31"))
    expect(page.locator("#nodata-reach")).to_have_text("No data yet for this period.")
    expect(page.locator("#chart-reach")).to_have_count(0)
    expect(page.locator(".no_data")).to_have_count(0)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_peer_cannot_reach_any_console_page(db, live_server, page):
    make_user(db, "luis@example.org", "peer", "Luis Ortega")
    sign_in(page, live_server, "luis@example.org", PASSWORD)
    nav = page.locator("header nav")
    expect(nav).to_contain_text("People")
    for label in ("Console", "Report", "Audit log"):
        expect(nav.get_by_role("link", name=label)).to_have_count(0)
    for path in CONSOLE:
        resp = page.goto(live_server + path)
        assert resp.status == 403, path
        expect(page.locator("h1")).to_have_text("Not for your role")
