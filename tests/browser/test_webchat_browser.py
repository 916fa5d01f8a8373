"""The web chat in headless Chromium against a real server, on SQLite and PostgreSQL: with
JavaScript (sent without a reload, a peer's reply arriving live) and without it (plain posts),
on a phone-sized screen."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from bot.channels.sender import SandboxSender
from db.models import Escalation, Participant
from tests import clock
from tests.staff import make_user
from web import outbound

pytestmark = pytest.mark.browser
PHONE_SCREEN = {"width": 360, "height": 720}


@pytest.fixture
def phone(browser):
    context = browser.new_context(viewport=PHONE_SCREEN)
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


@pytest.fixture
def no_js(browser):
    context = browser.new_context(java_script_enabled=False, viewport=PHONE_SCREEN)
    context.set_default_timeout(10_000)
    yield context
    context.close()


def peer_replies(db, body: str) -> None:
    uid = make_user(db, "luis@example.org", "peer", "Luis Ortega")
    with db.session() as s:
        person_id = s.scalar(select(Participant.id))
    sent = outbound.send_reply(db, SandboxSender(), person_id, None, uid, body, True, clock.NOW)
    assert sent.ok, sent.text


def test_chat_with_javascript_an_emergency_and_a_peer_reply_arriving_live(app, db, live_server, phone):
    app.config["CHAT_POLL_SECONDS"] = 1
    page = phone
    page.goto(live_server + "/chat")
    expect(page.get_by_role("heading", name="Chat with Homeward")).to_be_visible()
    expect(page.get_by_role("note")).to_contain_text("call 911 now")
    box = page.get_by_label("Your message")
    expect(box).to_be_focused()
    box.fill("hello")
    page.get_by_role("button", name="Send").click()                 # the first message: a plain post
    log = page.get_by_role("log")
    expect(log.locator("li.out").last).to_contain_text("Reply YES or NO.")
    expect(page.locator(".chat-code .code")).to_have_text(re.compile(r"^[A-Z2-9]{4}-[A-Z2-9]{4}$"))

    page.evaluate("window.stillHere = true")
    box.fill("my friend is not breathing, his lips are blue")
    page.get_by_role("button", name="Send").click()                 # sent by fetch, no reload
    expect(log).to_contain_text("Call 911 now")
    expect(box).to_have_value("")
    expect(box).to_be_focused()
    assert page.evaluate("window.stillHere") is True
    with db.session() as s:
        ticket = s.scalar(select(Escalation))
        assert (ticket.reason, ticket.priority) == ("emergency", "urgent")

    peer_replies(db, "Luis here. <b>Are you safe?</b> I'm calling 911 with you.")
    reply = log.locator("li.kind-peer")
    expect(reply).to_contain_text("Luis (peer)")                     # arrives by polling
    expect(reply.locator(".body")).to_have_text("Luis here. <b>Are you safe?</b> I'm calling 911 with you.")
    assert page.evaluate("document.querySelectorAll('#messages b').length") == 0
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")   # no sideways scroll


def test_chat_without_javascript_and_picking_it_up_on_another_device(app, db, live_server, no_js):
    page = no_js.new_page()
    page.goto(live_server + "/chat")
    expect(page.locator("noscript")).to_have_count(1)
    page.get_by_label("Your message").fill("hi")
    page.get_by_role("button", name="Send").click()
    expect(page).to_have_url(live_server + "/chat#latest")
    expect(page.get_by_role("log").locator("li.out").last).to_contain_text("Reply YES or NO.")
    page.get_by_label("Your message").fill("someone overdosed and won't wake up")
    page.get_by_role("button", name="Send").click()
    expect(page.get_by_role("log")).to_contain_text("Call 911 now")
    with db.session() as s:
        assert s.scalar(select(Escalation.priority)) == "urgent"
    code = page.locator(".chat-code .code").inner_text()

    peer_replies(db, "Luis here, stay with them.")
    page.reload()
    expect(page.get_by_role("log").locator("li.kind-peer")).to_contain_text("Luis here, stay with them.")

    other = no_js.browser.new_context(java_script_enabled=False, viewport=PHONE_SCREEN).new_page()
    other.goto(live_server + "/chat")
    expect(other.get_by_role("log").locator("li")).to_have_count(0)
    other.get_by_role("link", name="Have a chat code? Continue a chat").click()
    other.get_by_label("Chat code").fill("nope-nope")
    other.get_by_role("button", name="Continue").click()
    expect(other.get_by_role("alert")).to_contain_text("doesn't match")
    other.get_by_label("Chat code").fill(code.lower())
    other.get_by_role("button", name="Continue").click()
    expect(other.get_by_role("log")).to_contain_text("Luis here, stay with them.")
    other.get_by_label("Your message").fill("<script>window.x=1</script>still here")
    other.get_by_role("button", name="Send").click()
    expect(other.get_by_role("log").locator("li.in").last).to_have_text(
        "You<script>window.x=1</script>still here")
    page.reload()
    expect(page.get_by_role("log")).to_contain_text("still here")         # one chat, two devices
    other.context.close()
