"""The inbox a peer would choose, in headless Chromium against a real server (SQLite and
PostgreSQL): urgent alerts on any page, inert previews, the live thread, keyboard work, canned
replies without a reload, collision, the ticket history and the phone layout. Every wait is on
a DOM condition, never a fixed sleep."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import sign_in
from tests.staff import PASSWORD, inbound, make_person, make_ticket, make_user
from tests.twilio_signing import sms

ON_SHIFT = {d: [["00:00", "24:00"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}  # a peer at work
pytestmark = pytest.mark.browser
PHONE = "+13125552671"
NOON = datetime(2026, 3, 10, 16, 0, tzinfo=timezone.utc)   # Tuesday 12:00 in New York: not quiet hours


@pytest.fixture(autouse=True)
def pinned_clock(app):
    """The staff pages' "now"; texts sent through the webhook keep their own clock, which only
    the thread's order depends on."""
    app.extensions["homeward.clock"] = lambda: NOON

# A stand-in for the browser's Notification API, so the test sees exactly what would appear on a
# lock screen and can walk the permission path (default -> asked -> granted) deterministically.
FAKE_NOTIFICATIONS = """
window.__shown = [];
window.Notification = function (title, options) { window.__shown.push({title: title, body: (options || {}).body}); };
window.Notification.permission = "default";
window.Notification.requestPermission = function () {
  window.Notification.permission = "granted"; return Promise.resolve("granted");
};
"""


def test_an_urgent_text_alerts_a_peer_on_another_page(app, db, live_server, browser):
    make_user(db, "luis@example.org", "peer", "Luis Ortega")
    context = browser.new_context(viewport={"width": 1100, "height": 800})
    context.set_default_timeout(10_000)
    context.add_init_script(FAKE_NOTIFICATIONS)
    page = context.new_page()
    sign_in(page, live_server, "luis@example.org", PASSWORD)
    page.goto(live_server + "/caseload")
    expect(page).to_have_title(re.compile(r"^Caseload"))
    banner = page.locator("#urgent-banner")
    expect(banner).to_be_hidden()
    page.evaluate("window.__sameDocument = true")

    assert sms(app.test_client(), PHONE, "my brother is not breathing, he used").status_code == 200
    expect(banner).to_be_visible()
    expect(banner.locator(".what")).to_have_text("Urgent: Overdose reported")
    expect(page).to_have_title(re.compile(r"^\(1\) Caseload"))
    assert page.evaluate("window.__sameDocument") is True           # no reload
    assert page.evaluate("window.homewardAlerts.sounds") == 1      # the chime, once
    assert page.evaluate("window.__shown") == []                    # no permission yet
    allow = page.get_by_role("button", name="Show these as notifications")
    allow.click()
    expect(allow).to_be_hidden()

    sms(app.test_client(), "+13125550002", "i want to die")
    expect(page).to_have_title(re.compile(r"^\(2\) Caseload"))
    page.wait_for_function("window.__shown.length === 1")
    shown = page.evaluate("window.__shown")[0]
    assert shown["title"] == "Urgent: Crisis"
    assert "die" not in str(shown) and "2671" not in str(shown)   # the reason, never the words
    assert page.evaluate("window.homewardAlerts.sounds") == 2
    banner.locator("a.go").click()
    expect(page.locator("#thread")).to_contain_text("i want to die")
    context.close()


def test_with_the_sound_off_the_banner_still_shows_and_nothing_plays(app, db, live_server, page):
    make_user(db, "luis@example.org", "peer", "Luis Ortega")
    sign_in(page, live_server, "luis@example.org", PASSWORD)
    page.get_by_role("button", name="Turn it off").click()
    expect(page.locator("#sound-pref strong")).to_have_text("off")
    sms(app.test_client(), PHONE, "he's not breathing")
    expect(page.locator("#urgent-banner .what")).to_have_text("Urgent: Overdose reported")
    page.wait_for_function("document.getElementById('urgent-banner').dataset.updated")
    assert page.evaluate("window.homewardAlerts.sounds") == 0


def test_the_preview_is_escaped_and_on_one_line(app, db, live_server, page):
    make_user(db, "luis@example.org", "peer", "Luis Ortega")
    hostile = '<script>window.pwned=1</script><img src=x onerror="window.pwned=2">\u202eevil\n' + "x" * 1600
    sms(app.test_client(), PHONE, "i want to die " + hostile)
    sign_in(page, live_server, "luis@example.org", PASSWORD)
    preview = page.locator("tr.ticket .preview")
    expect(preview).to_contain_text("<script>window.pwned=1</script><img src=x")
    assert page.locator("tr.ticket img").count() == 0
    assert page.evaluate("typeof window.pwned") == "undefined"
    box = preview.bounding_box()
    line = page.evaluate("parseFloat(getComputedStyle(document.querySelector('tr.ticket .preview')).lineHeight)")
    assert box["height"] <= line * 1.2                      # one line, whatever the length
    assert "\u202e" not in preview.inner_text()
    expect(page.locator("tr.ticket .reason")).to_have_text("Crisis")


def test_a_new_text_appears_live_on_the_person_page(app, db, live_server, page):
    make_user(db, "luis@example.org", "peer", "Luis Ortega")
    person = make_person(db, PHONE, "Ana")
    inbound(db, person, "hi", NOON - timedelta(minutes=1))
    sign_in(page, live_server, "luis@example.org", PASSWORD)
    page.goto(f"{live_server}/people/{person}")
    expect(page.locator("#thread li.in")).to_have_count(1)
    page.evaluate("window.__sameDocument = true")
    sms(app.test_client(), PHONE, "can someone call me <tonight>")
    expect(page.locator("#thread li.in").last).to_contain_text("can someone call me <tonight>")
    expect(page.locator("#thread li.out").last).to_be_visible()     # the bot's answer came too
    assert page.evaluate("window.__sameDocument") is True
    at_bottom = page.evaluate("(() => { const t = document.getElementById('thread');"
                              " return t.scrollHeight - t.scrollTop - t.clientHeight < 80; })()")
    assert at_bottom


def test_claim_reply_and_resolve_from_the_keyboard(app, db, live_server, page):
    make_user(db, "luis@example.org", "peer", "Luis Ortega", shift=ON_SHIFT)
    first = make_person(db, "+13125550001", "Dee")
    second = make_person(db, "+13125550002", "Bo")
    make_ticket(db, first, "crisis", "urgent", NOON)
    make_ticket(db, second, "peer_request", "normal", NOON)
    sign_in(page, live_server, "luis@example.org", PASSWORD)
    expect(page.locator("tr.ticket")).to_have_count(2)
    page.wait_for_selector("html[data-queue-keys=ready]", state="attached")
    page.keyboard.press("j")
    page.keyboard.press("j")
    expect(page.locator("tr.ticket.selected")).to_contain_text("Bo")
    page.keyboard.press("k")
    expect(page.locator("tr.ticket.selected")).to_contain_text("Dee")
    page.keyboard.press("c")
    expect(page.locator(".flash")).to_contain_text("Claimed")
    expect(page.locator("tr.ticket").first.locator(".assignee")).to_have_text("Luis Ortega")
    page.wait_for_selector("html[data-queue-keys=ready]", state="attached")
    page.keyboard.press("j")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(rf"/people/{first}$"))
    page.wait_for_selector("html[data-person-keys=ready]", state="attached")
    page.keyboard.press("r")
    expect(page.locator("#body")).to_be_focused()
    page.keyboard.type("Luis here. I'm calling you now.")
    page.keyboard.press("Control+Enter")
    expect(page.locator(".flash")).to_contain_text("Sent (1 segment")
    expect(page.locator("#thread li.kind-peer")).to_contain_text("I'm calling you now.")
    page.wait_for_selector("html[data-person-keys=ready]", state="attached")
    page.keyboard.press("e")
    expect(page.get_by_label("Outcome")).to_be_focused()
    page.keyboard.press("ArrowDown")                      # "Reached"
    page.keyboard.press("Tab")
    page.keyboard.type("Talked; safe tonight.")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    expect(page.locator(".flash")).to_contain_text("Resolved: Reached")
    page.wait_for_selector("html[data-queue-keys=ready]", state="attached")
    page.keyboard.press("/")
    expect(page.locator("#search")).to_be_focused()
    page.keyboard.press("Escape")
    page.keyboard.press("?")
    expect(page.locator("#shortcuts dl")).to_be_visible()
    expect(page.locator("#shortcuts")).to_contain_text("claim")


def test_a_canned_reply_goes_into_the_box_without_a_reload(app, db, live_server, page):
    make_user(db, "luis@example.org", "peer", "Luis Ortega")
    person = make_person(db, PHONE, "Ana", language="es")
    sign_in(page, live_server, "luis@example.org", PASSWORD)
    page.goto(f"{live_server}/people/{person}")
    page.wait_for_selector("html[data-person-keys=ready]", state="attached")
    page.evaluate("window.__sameDocument = true")
    page.locator("#canned").evaluate("s => { s.value = s.options[5].value; }")   # I'll call you at…, no change event
    page.get_by_role("button", name="Use", exact=True).click()
    box = page.locator("#body")
    expect(box).to_have_value(re.compile(r"^Hola Ana, soy Luis\. Te llamo a las … desde"))
    expect(box).to_be_focused()
    assert page.evaluate("window.__sameDocument") is True
    page.keyboard.type("3pm")                            # the … was selected: typing replaces it
    expect(box).to_have_value(re.compile(r"Te llamo a las 3pm desde"))
    expect(page.locator("#segments")).to_contain_text("segment")


def test_two_peers_see_each_other_on_the_same_person(app, db, live_server, browser):
    make_user(db, "luis@example.org", "peer", "Luis Ortega")
    make_user(db, "dee@example.org", "peer", "Dee Okafor")
    person = make_person(db, PHONE, "Ana")
    inbound(db, person, "hello?", NOON)
    pages = []
    for email in ("luis@example.org", "dee@example.org"):
        context = browser.new_context()
        context.set_default_timeout(10_000)
        pg = context.new_page()
        sign_in(pg, live_server, email, PASSWORD)
        pg.goto(f"{live_server}/people/{person}")
        pages.append(pg)
    luis, dee = pages
    expect(luis.locator("#presence")).to_have_text("Dee is viewing")
    expect(dee.locator("#presence")).to_have_text("Luis is viewing")
    luis.locator("#body").fill("On it, ")
    expect(dee.locator("#presence")).to_have_text("Luis is replying")
    for pg in pages:
        pg.context.close()


def test_the_history_panel_after_resolve(app, db, live_server, page):
    make_user(db, "luis@example.org", "peer", "Luis Ortega")
    person = make_person(db, PHONE, "Ana")
    msg = inbound(db, person, "he is not breathing", NOON - timedelta(minutes=4))
    make_ticket(db, person, "emergency", "urgent", NOON - timedelta(minutes=4), sla_minutes=5, message_id=msg)
    sign_in(page, live_server, "luis@example.org", PASSWORD)
    page.get_by_role("button", name="Claim").click()
    page.locator("tr.ticket a.person").click()
    page.locator("#body").fill("Calling you now.")
    page.get_by_role("button", name="Send text").click()
    page.locator("#resolve summary").click()
    page.get_by_label("Outcome").select_option("reversal_reported")
    page.get_by_label("Closing note").fill("EMS came; he is OK.")
    page.get_by_role("button", name="Resolve", exact=True).click()
    expect(page.locator(".flash")).to_contain_text("Resolved: Reversal reported")
    page.go_back()
    page.reload()
    history = page.locator("#history li.ticket-history").first
    expect(history).to_contain_text("Overdose reported")
    expect(history).to_contain_text("Claimed")
    expect(history).to_contain_text("by Luis Ortega")
    expect(history.locator(".first-response")).to_have_text("First response after 4 min")
    expect(history.locator(".outcome")).to_contain_text("Reversal reported")
    expect(history).to_contain_text("Note: EMS came; he is OK.")
    expect(page.locator("#ticket")).to_have_count(0)                # nothing open any more


def test_on_a_phone_the_reply_box_is_in_reach(app, db, live_server, browser):
    make_user(db, "luis@example.org", "peer", "Luis Ortega")
    person = make_person(db, PHONE, "Ana")
    start = NOON - timedelta(hours=5)
    for i in range(120):
        inbound(db, person, f"message {i} " + "words " * 20, start + timedelta(minutes=i))
    make_ticket(db, person, "crisis", "urgent", NOON)
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    context.set_default_timeout(10_000)
    page = context.new_page()
    sign_in(page, live_server, "luis@example.org", PASSWORD)
    page.goto(f"{live_server}/people/{person}")
    expect(page.locator("#thread li.in").last).to_contain_text("message 119")
    reply = page.locator("#body")
    box = reply.bounding_box()
    assert box is not None and box["y"] + box["height"] <= 844, box      # visible without scrolling
    newest = page.locator("#thread li.in").last.bounding_box()
    assert 0 <= newest["y"] < 844                                          # the newest text is in view
    page.mouse.wheel(0, 4000)                                              # scroll the page, not the thread
    box = reply.bounding_box()
    assert 0 <= box["y"] and box["y"] + box["height"] <= 844              # sticky: still in reach
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390                                                    # nothing runs off the side
    context.close()
