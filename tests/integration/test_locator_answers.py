"""The locator's answers on the real shipped sites, by text through /twilio/sms, on both
databases: naloxone, treatment, methadone, buprenorphine and syringe services in a big city, a
small town and a rural ZIP, in English and Spanish. Each turn is at most two texts, nearest
first, no line repeated; and a deploy made as the README says has the sites loaded."""
from __future__ import annotations

import csv
import io
import re
import time
from pathlib import Path

import pytest

from bot import site_store
from core.sites_import import decode
from tests.integration.test_webhook import replies
from tests.staff import login, make_user
from tests.twilio_signing import sms

ROOT = Path(__file__).resolve().parents[2]
# the real rows of the states around the three places (the whole files take a minute to load)
STATES = {"IL", "IN", "KS", "CO", "NE", "OK", "OH"}   # OH: where the invented demo sites are
PLACES = {"big city": "60614", "small town": "Ottawa, KS", "rural ZIP": "67861"}   # Leoti, KS
KEYWORDS = {"en": {"naloxone": "NALOXONE", "treatment": "TREATMENT", "methadone": "METHADONE",
                   "buprenorphine": "SUBOXONE", "syringe_services": "SYRINGES"},
            "es": {"naloxone": "NALOXONA", "treatment": "TRATAMIENTO", "methadone": "METADONA",
                   "buprenorphine": "BUPRENORFINA", "syringe_services": "JERINGAS"}}
ORDERED = {"treatment", "methadone", "syringe_services"}   # naloxone, bupe: own kinds, then "often"


def shipped_subset(folder: Path) -> Path:
    """The shipped CSVs with only the rows of STATES (decoded as the import decodes them)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, _ in site_store.DEFAULT_FILES + site_store.DEMO_FILES:
        text = decode((site_store.DEFAULT_DIR / name).read_bytes())
        reader = csv.reader(io.StringIO(text))
        header = next(reader)
        col = next(i for i, h in enumerate(header) if h.lower() in ("state", "st_abbr"))
        out = io.StringIO()
        w = csv.writer(out, lineterminator="\n")
        w.writerow(header)
        w.writerows(row for row in reader if row and row[col] in STATES)
        (folder / name).write_text(out.getvalue(), encoding="utf-8")
    return folder


@pytest.fixture
def released(app, db, tmp_path, monkeypatch):
    """The deploy's release step, run as the Procfile runs it, over the subset of the files."""
    monkeypatch.setattr(site_store, "DEFAULT_DIR", shipped_subset(tmp_path / "sites"))
    out = app.test_cli_runner().invoke(args=["sites", "load-defaults"], catch_exceptions=False)
    assert out.exit_code == 0 and "added" in out.output
    return app


def listings(text: str) -> list[tuple[int, float]]:
    return [(int(m[1]), float(m[2])) for m in re.finditer(r"^(\d+)\) .*?, (\d+(?:\.\d)?) mi\b", text, re.M)]


def test_the_procfile_release_loads_the_sites_and_an_unchanged_deploy_is_fast(released):
    assert "flask --app app sites load-defaults" in (ROOT / "Procfile").read_text().split("release:")[1].splitlines()[0]
    started = time.perf_counter()
    again = released.test_cli_runner().invoke(args=["sites", "load-defaults"], catch_exceptions=False)
    assert time.perf_counter() - started < 5
    assert "already loaded (checksums match)" in again.output and "added" not in again.output
    health = released.test_client().get("/healthz").json["sites"]
    assert health["active"] > 1000 and health["checked_at"] and health["warning"] is None


def test_a_release_retires_the_invented_demo_sites_and_never_offers_one(app, db, tmp_path, monkeypatch):
    """An older release loaded local_demo.csv as if it were the program's own list: the next one
    takes those rows out, so "narcan near 45402" never sends a person to 200 Demo Ave."""
    from core.sites_import import PRESETS
    with db.session() as s:
        site_store.import_file(s, site_store.DEFAULT_DIR / "local_demo.csv", PRESETS["local"])
    client = app.test_client()
    assert "DEMO" in "\n".join(replies(sms(client, "+13125550198", "narcan near 45402")))   # before
    monkeypatch.setattr(site_store, "DEFAULT_DIR", shipped_subset(tmp_path / "sites"))
    out = app.test_cli_runner().invoke(args=["sites", "load-defaults"], catch_exceptions=False)
    assert out.exit_code == 0 and "demo sites retired" in out.output
    text = "\n".join(replies(sms(client, "+13125550199", "narcan near 45402")))
    assert "Dayton" in text and "DEMO" not in text and "555-01" not in text
    demo = app.test_cli_runner().invoke(args=["sites", "load-defaults"], catch_exceptions=False)
    assert "retired" not in demo.output                                  # nothing left to retire


def test_naloxone_60614_after_a_deploy_is_real_places_a_few_miles_away_in_two_texts(released):
    out = replies(sms(released.test_client(), "+13125550100", "NALOXONE 60614"))
    assert len(out) == 2
    assert out[0].startswith("Naloxone near Chicago, IL 60614: no site listed, but these often have it free.")
    assert "within 50 miles" not in "\n".join(out)
    rows = listings(out[0])
    assert len(rows) == 3 and all(miles < 3 for _, miles in rows)
    assert out[1].count("nextdistro.org") == 1 and "1-800-484-3731" in out[1]


@pytest.mark.parametrize("lang", ["en", "es"])
def test_every_need_everywhere_within_two_texts_nearest_first_no_repeats(released, lang):
    client = released.test_client()
    n = 0
    for where, place in PLACES.items():
        for need, word in KEYWORDS[lang].items():
            n += 1
            phone = f"+1312555{n:04d}"
            if lang == "es":
                assert replies(sms(client, phone, "ESPAÑOL"))
            out = replies(sms(client, phone, f"{word} {place}"))
            what = f"{lang} {need} {where}: {out}"
            assert 1 <= len(out) <= 2, what
            lines = [x for t in out for x in t.splitlines()]
            assert len(lines) == len(set(lines)), what
            joined = "\n".join(out)
            assert joined.count("nextdistro.org") <= 1 and joined.count("1-800-484-3731") <= 1, what
            rows = listings(out[0])
            assert [i for i, _ in rows] == list(range(1, len(rows) + 1)), what
            if need in ORDERED:
                assert [m for _, m in rows] == sorted(m for _, m in rows), what
            if where == "big city" and need != "syringe_services":   # no syringe directory is shipped
                assert len(rows) >= 2, what
            if not rows:                                           # nothing near: say so, then national
                assert ("nextdistro.org" in joined or "1-800-662-4357" in joined), what
            if lang == "es":
                assert "cerca de" in out[0] or "No hay" in out[0], what


def test_more_after_a_real_answer_is_the_next_places_in_the_same_shape(released):
    client = released.test_client()
    first = replies(sms(client, "+13125550111", "TREATMENT 60614"))
    more = replies(sms(client, "+13125550111", "MORE"))
    assert len(more) <= 2 and more[0].startswith("More treatment near Chicago, IL 60614:")
    first_numbers = [i for i, _ in listings(first[0])]
    more_numbers = [i for i, _ in listings(more[0])]
    assert more_numbers and more_numbers[0] == first_numbers[-1] + 1
    assert not set(first[0].splitlines()[1:]) & set(more[0].splitlines()[1:])


def test_bad_places_get_one_text_with_the_national_options(released):
    client = released.test_client()
    for i, body in enumerate(("NALOXONE 00000", "TREATMENT xyzzyville", "METADONA 99999")):
        out = replies(sms(client, f"+1312555020{i}", body))
        assert len(out) == 1, out
        assert "nextdistro.org" in out[0] or "1-800-662-4357" in out[0]


def test_zero_sites_shows_a_warning_on_the_console_and_health(app, db, client):
    health = client.get("/healthz").json["sites"]
    assert health["active"] == 0 and "no sites loaded" in health["warning"]
    make_user(db, "sup@example.org", role="supervisor")
    login(client, "sup@example.org")
    page = client.get("/admin").get_data(as_text=True)
    assert 'id="no-sites"' in page and "No resource sites are loaded" in page
    sites_page = client.get("/admin/sites").get_data(as_text=True)
    assert "No sites loaded" in sites_page


def test_the_console_shows_how_many_sites_and_when_checked(released):
    client = released.test_client()
    make_user(released.extensions["homeward.db"], "sup@example.org", role="supervisor")
    login(client, "sup@example.org")
    assert 'id="no-sites"' not in client.get("/admin").get_data(as_text=True)
    page = client.get("/admin/sites").get_data(as_text=True)
    status = re.search(r'<p class="small" id="sites-status">(.*?)</p>', page, re.S)[1]
    # A deploy has the public directories only (no verified dates) until the program loads its own list.
    assert re.search(r"\d+ sites loaded \(0 the program's own\); shipped files last checked \d{4}-", status), status
