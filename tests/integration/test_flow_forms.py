"""Editing a flow by form, on both databases: the YAML written keeps its comments and passes the
checker, a broken edit is kept as a draft, and a second conflicting save is refused."""
from __future__ import annotations

import re

from sqlalchemy import select

from core.flows.loader import load_text
from db.models import Setting
from tests.integration.test_admin_flows import CHECKIN, post, sup  # noqa: F401  (fixture)


def rev(html: str) -> str:
    return re.search(r'name="rev" value="([0-9a-f]+)"', html)[1]


def draft_source(db) -> str | None:
    with db.session() as s:
        row = s.scalar(select(Setting).where(Setting.key == "flow_draft:checkin"))
        return row.value["source"] if row else None


def test_the_map_has_a_box_for_every_node_of_every_shipped_flow(sup):
    for name, nodes in (("checkin", ["mood", "record", "route"]), ("peer", ["ticket", "when"])):
        html = sup.get(f"/admin/flows/{name}").get_data(as_text=True)
        assert 'id="flow-map"' in html
        for node in nodes:
            assert f'href="/admin/flows/{name}/node/{node}"' in html


def test_a_form_edit_in_both_languages_writes_yaml_that_keeps_its_comments_and_passes_the_checker(sup, db):
    page = sup.get("/admin/flows/checkin/node/mood").get_data(as_text=True)
    assert "really rough, rough, awful" in page
    resp = sup.post("/admin/flows/checkin/node/mood", data={
        "rev": rev(page), "text-0-en": "Hi {first_name|there}, it's {program}. How's today? Reply 1 (rough) to 5 (great).",
        "text-0-es": "Hola {first_name|}, te escribe {program}. ¿Cómo va hoy? Responde del 1 (mal) al 5 (genial).",
        "choice-0-en": "really rough, rough, awful, terrible, horrible, really bad, the worst",
        "choice-0-es": "muy mal, fatal, horrible, terrible", "choice-1-en": "bad, not great, not good, struggling",
        "choice-1-es": "mal, no muy bien", "choice-2-en": "ok, okay, so so, alright, fine, meh",
        "choice-2-es": "mas o menos, regular, normal, ahi vamos", "choice-3-en": "good, pretty good, well",
        "choice-3-es": "bien", "choice-4-en": "great, really good, amazing, excellent",
        "choice-4-es": "muy bien, excelente, genial"})
    assert resp.status_code == 302
    source = draft_source(db)
    assert source.startswith("# Check-in: how are you today")          # comments kept
    assert '      en: "Hi {first_name|there}, it\'s {program}. How\'s today? Reply 1 (rough) to 5 (great)."' in source
    assert "en: [really rough, rough, awful, terrible, horrible, really bad, the worst]" in source
    assert [ln for ln in source.splitlines() if "nodes:" in ln] == ["nodes:"]
    definition, problems = load_text(source)
    assert definition is not None and not [p for p in problems if p.severity == "error"]
    assert sum(1 for a, b in zip(CHECKIN.splitlines(), source.splitlines()) if a != b) == 3


def test_an_edit_that_breaks_the_checker_is_kept_as_a_draft_with_its_errors(sup, db):
    page = sup.get("/admin/flows/checkin/node/mood").get_data(as_text=True)
    resp = sup.post("/admin/flows/checkin/node/mood", data={
        "rev": rev(page), "text-0-en": "Hey {frist_name}, how are you? Reply 1 to 5.", "text-0-es": "Hola, ¿cómo estás? 1 a 5."})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422 and "Saved as a draft, but it cannot be published yet" in html
    assert "frist_name" in html and "frist_name" in draft_source(db)


def test_a_second_save_from_a_stale_form_is_refused_and_changes_nothing(sup, db):
    page = sup.get("/admin/flows/checkin/node/mood").get_data(as_text=True)
    first = {"rev": rev(page), "text-0-en": "First supervisor's words. Reply 1 to 5.", "text-0-es": "Palabras. Responde 1 a 5."}
    assert sup.post("/admin/flows/checkin/node/mood", data=first).status_code == 302
    second = dict(first, **{"text-0-en": "Second supervisor's words. Reply 1 to 5."})
    resp = sup.post("/admin/flows/checkin/node/mood", data=second)
    assert resp.status_code == 409 and "changed this flow while you were editing it" in resp.get_data(as_text=True)
    assert "First supervisor" in draft_source(db) and "Second supervisor" not in draft_source(db)
    # The YAML view's check is refused the same way.
    stale = post(sup, "check", CHECKIN.replace("How are you doing today?", "Yo?"), base="1", rev=rev(page))
    assert stale.status_code == 409 and "First supervisor" in draft_source(db)


def test_a_choice_and_a_keyword_added_by_form(sup, db):
    page = sup.get("/admin/flows/checkin/node/mood").get_data(as_text=True)
    resp = sup.post("/admin/flows/checkin/node/mood", data={
        "rev": rev(page), "new_value": "skip", "new_words_en": "skip, pass", "new_words_es": "saltar, paso"})
    assert resp.status_code == 302
    assert "      - value: skip\n        words:\n          en: [skip, pass]\n          es: [saltar, paso]\n    save: mood" \
        in draft_source(db)
    page = sup.get("/admin/flows/checkin/keywords").get_data(as_text=True)
    assert sup.post("/admin/flows/checkin/keywords", data={
        "rev": rev(page), "keywords_en": "CHECKIN, CHECK IN, HOWDY", "keywords_es": "CHEQUEO, REPORTE"}).status_code == 302
    assert "en: [CHECKIN, CHECK IN, HOWDY]" in draft_source(db) and "value: skip" in draft_source(db)


def test_the_stigma_lexicon_is_served_for_live_flagging(sup):
    data = sup.get("/admin/flows/stigma.json").get_json()
    assert any("relapse" in e["words"] and e["instead"] == "return to use" for e in data["en"])


def test_publish_first_shows_the_texts_that_change_and_who_is_mid_conversation(sup, db):
    from sqlalchemy import func

    from db.models import FlowVersion
    from tests.integration.test_webhook import replies
    from tests.twilio_signing import sms
    sup_web = sup
    replies(sms(sup_web, "+17735550001", "CHECKIN"))          # one person mid check-in on v1
    changed = CHECKIN.replace("Glad to hear it. Every good day counts.", "So glad. Every good day counts.")
    html = " ".join(post(sup, "publish", changed, base="1", confirm="").get_data(as_text=True).split())
    assert "1 conversation is in progress on the live version 1; it finishes on version 1" in html
    assert "Glad to hear it. Every good day counts." in html and "So glad. Every good day counts." in html
    with db.session() as s:
        assert s.scalar(select(func.max(FlowVersion.version)).where(FlowVersion.name == "checkin")) == 1
    assert "So glad" in draft_source(db)                       # nothing lost while asking


def test_the_guides_are_served_in_the_console_with_working_anchors(sup):
    html = sup.get("/admin/flows/help").get_data(as_text=True)
    assert '<h2 id="editing-and-publishing-in-the-browser">Editing and publishing in the browser</h2>' in html
    assert 'href="#a-first-example"' in html and '<h2 id="a-first-example">' in html
    assert "/admin/flows/help#editing-and-publishing-in-the-browser" in sup.get("/admin/flows/checkin").get_data(as_text=True)
    nudges = sup.get("/admin/nudges/help").get_data(as_text=True)
    assert '<h2 id="the-days">The days</h2>' in nudges and "Day 0</strong> is the day the person is released" in nudges
    assert 'href="/admin/nudges/help"' in sup.get("/admin/nudges").get_data(as_text=True)


def test_a_settings_change_is_audited_with_before_and_after(sup, db):
    from db.models import AuditEvent
    from tests.integration.test_admin_staff import SETTINGS
    assert sup.post("/admin/settings", data=SETTINGS).status_code == 302
    with db.session() as s:
        event = s.scalar(select(AuditEvent).where(AuditEvent.action == "settings_change"))
        assert event.detail["after"]["coverage_hours"] == {"en": "Mon-Sat 8am-8pm", "es": "lun-sáb 8am-8pm"}
        assert event.detail["before"]["coverage_hours"]["en"] != "Mon-Sat 8am-8pm"
