"""The flow map and step forms in headless Chromium: what a supervisor who never saw YAML does."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import sign_in
from tests.browser.test_admin_browser import versions
from tests.staff import PASSWORD, make_user

pytestmark = pytest.mark.browser
SHIPPED = {"checkin": "mood", "naloxone": "intro", "peer": "ticket", "risk": None, "screening": None,
           "treatment": None, "welcome": None}


def test_every_shipped_flow_is_drawn_and_a_box_opens_its_form(db, live_server, page):
    make_user(db, "sam@example.org", "supervisor", "Sam Rivera")
    sign_in(page, live_server, "sam@example.org", PASSWORD)
    from core import CONTENT
    from core.flows.loader import load_file
    for path in sorted((CONTENT / "flows").glob("*.yaml")):
        definition = load_file(str(path))[0]
        page.goto(f"{live_server}/admin/flows/{definition.name}")
        boxes = page.locator("#flow-map g.node")
        expect(boxes.first).to_be_visible()
        assert boxes.count() == len(definition.nodes), definition.name      # one box per step
        assert page.locator("#flow-map .arrow").count() >= boxes.count() - 1
        assert page.locator("#flow-map g.unreachable, #flow-map g.dead-end").count() == 0
    page.goto(f"{live_server}/admin/flows/checkin")
    page.locator('#flow-map a[data-node="mood"]').click()
    expect(page.get_by_role("heading", name="Flow checkin: step “mood”")).to_be_visible()


def test_a_text_edited_in_both_languages_with_live_checks_then_published(db, live_server, page):
    make_user(db, "sam@example.org", "supervisor", "Sam Rivera")
    sign_in(page, live_server, "sam@example.org", PASSWORD)
    page.goto(f"{live_server}/admin/flows/checkin/node/mood")
    en, es = page.get_by_label("Message (English)"), page.get_by_label("Message (Spanish)")
    en.fill("")
    en.press_sequentially("Hi, no relapse talk here")
    field = page.locator(".text-field", has=en)
    expect(field.locator(".stigma")).to_contain_text("“relapse” is stigmatizing; person-first: return to use")
    expect(field.locator(".seg")).to_contain_text("1 segment (GSM-7")
    en.fill("Hi {first_name|there}, it's {program}. How's today? Reply 1 (rough) to 5 (great).")
    expect(field.locator(".stigma")).to_have_text("")
    es.fill("Hola {first_name|}, te escribe {program}. ¿Cómo va hoy? Responde del 1 (mal) al 5 (genial).")
    expect(page.locator(".text-field", has=es).locator(".seg")).to_contain_text("segment")
    page.get_by_role("button", name="Save as draft and check").click()
    expect(page.locator(".flash")).to_contain_text("Saved as a draft and checked: no errors")
    page.get_by_role("button", name="Publish as version 2").click()
    expect(page.locator("#in-progress")).to_contain_text("0 conversations are in progress on the live version 1")
    expect(page.locator("#text-diff")).to_contain_text("How's today? Reply 1 (rough) to 5 (great).")
    expect(page.locator("#text-diff")).to_contain_text("¿Cómo va hoy?")
    assert versions(db) == [1]
    page.get_by_role("button", name="Yes, publish version 2").click()
    expect(page.locator(".flash")).to_contain_text("Published checkin version 2")
    assert versions(db) == [1, 2]


def test_a_broken_edit_is_kept_as_a_draft_and_a_stale_save_is_refused(db, live_server, page, browser):
    make_user(db, "sam@example.org", "supervisor", "Sam Rivera")
    make_user(db, "ana@example.org", "supervisor", "Ana Cruz")
    sign_in(page, live_server, "sam@example.org", PASSWORD)
    page.goto(f"{live_server}/admin/flows/checkin/node/mood")
    other = browser.new_context().new_page()
    sign_in(other, live_server, "ana@example.org", PASSWORD)
    other.goto(f"{live_server}/admin/flows/checkin/node/mood")
    page.get_by_label("Message (English)").fill("Hey {frist_name}, how are you? Reply 1 to 5.")
    page.get_by_role("button", name="Save as draft and check").click()
    expect(page.locator(".flash")).to_contain_text("Saved as a draft, but it cannot be published yet")
    expect(page.locator("#problems")).to_contain_text("frist_name")
    page.goto(f"{live_server}/admin/flows/checkin")
    expect(page.locator("#draft-status")).to_contain_text("Draft by Sam Rivera")
    other.get_by_label("Message (English)").fill("Ana's words. Reply 1 to 5.")
    other.get_by_role("button", name="Save as draft and check").click()
    expect(other.locator(".flash")).to_contain_text("Sam Rivera changed this flow while you were editing it")
    expect(other.get_by_label("Message (English)")).to_have_value("Ana's words. Reply 1 to 5.")
    other.context.close()


def test_a_rollback_asks_first_and_shows_the_texts_that_change(db, live_server, page):
    make_user(db, "sam@example.org", "supervisor", "Sam Rivera")
    sign_in(page, live_server, "sam@example.org", PASSWORD)
    page.goto(f"{live_server}/admin/flows/checkin/node/mood")
    page.get_by_label("Message (English)").fill("Hi, it's {program}. How's today? Reply 1 (rough) to 5 (great).")
    page.get_by_role("button", name="Save as draft and check").click()
    page.get_by_role("button", name="Publish as version 2").click()
    page.get_by_role("button", name="Yes, publish version 2").click()
    page.get_by_role("link", name="Roll back to v1").click()
    expect(page.locator("#in-progress")).to_contain_text("0 conversations are in progress on the live version 2")
    expect(page.locator("#text-diff")).to_contain_text("How's today?")
    expect(page.locator("#text-diff")).to_contain_text("How are you doing today?")
    assert versions(db) == [1, 2]
    page.get_by_role("button", name="Yes, roll back to v1").click()
    expect(page.locator(".flash")).to_contain_text("Rolled back: version 1's text is live again as version 3")
    assert versions(db) == [1, 2, 3]


def test_the_simulator_says_which_peer_facts_it_used_and_follows_the_choice(db, live_server, page):
    make_user(db, "sam@example.org", "supervisor", "Sam Rivera")
    sign_in(page, live_server, "sam@example.org", PASSWORD)
    page.goto(f"{live_server}/admin/flows/peer")
    expect(page.locator("#sim-facts")).to_contain_text("Using the program's facts now: no peer is on shift")
    for duty, said in (("as if a peer is on duty", "A peer is working now"),
                       ("as if no peer is on duty", "Mon-Fri")):
        page.locator("summary", has_text="Start over").click()
        page.get_by_label("Peers").select_option(label=duty)
        page.get_by_role("button", name="Start over").click()
        expect(page.locator("#sim-facts")).to_contain_text("Simulating " + duty)
        page.get_by_label("Text as the participant").fill("PEER")
        page.get_by_role("button", name="Send", exact=True).click()
        expect(page.locator("#sim-log")).to_contain_text(said)


def test_yaml_view_wraps_long_lines_and_its_numbers_stay_on_their_lines(db, live_server, page):
    from tests.browser.test_admin_browser import CHECKIN
    make_user(db, "sam@example.org", "supervisor", "Sam Rivera")
    sign_in(page, live_server, "sam@example.org", PASSWORD)
    page.goto(f"{live_server}/admin/flows/checkin")
    broken = CHECKIN.replace("next: record", "next: recrod", 1)
    page.locator("#source").fill(broken)
    page.get_by_role("button", name="Check and keep as draft").click()
    bad = next(i for i, ln in enumerate(broken.splitlines(), 1) if "recrod" in ln)
    long_line = next(i for i, ln in enumerate(broken.splitlines(), 1) if len(ln) > 110)
    expect(page.locator(f"#L{bad}.error")).to_be_visible()
    box = page.locator("#source")
    assert box.evaluate("b => b.scrollWidth <= b.clientWidth")                   # nothing scrolls sideways
    top = lambda n: page.locator(f"#L{n}").bounding_box()["y"]  # noqa: E731
    height = lambda n: page.locator(f"#L{n}").bounding_box()["height"]  # noqa: E731
    plain = height(next(i for i, ln in enumerate(broken.splitlines(), 1) if ln == "schema: 1"))
    assert abs(height(bad) - plain) < 0.5 and abs(top(bad + 1) - top(bad) - plain) < 0.5   # no slip after a mark
    assert height(long_line) >= 2 * plain - 0.5                                  # a wrapped line keeps one number
    last = len(broken.splitlines())
    gutter_end = top(last) + height(last) - page.locator("#L1").bounding_box()["y"]
    content = box.evaluate("b => b.scrollHeight - parseFloat(getComputedStyle(b).paddingTop)"
                           " - parseFloat(getComputedStyle(b).paddingBottom)")
    # the last number ends where the text does (the text ends with a newline: one empty row more)
    assert abs(gutter_end - (content - plain)) < 2
