"""What a person gets back from the locator, on the real shipped sites: at most two texts, the
nearest places first, one line each, no line or resource twice, honest naloxone answers in any
city, and one text with the national options for a place that does not exist."""
from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone

import pytest

from core import locator as L
from core.locator import wording as W
from core.sms import count_segments
from tests.unit.test_locator import grid, site

NOW = datetime(2025, 3, 4, 15, 30, tzinfo=timezone.utc)      # Tuesday 9:30 in Chicago
PLACES = {"big city": "60614", "small town": "Ottawa, KS", "rural ZIP": "82190"}  # Yellowstone WY
NEEDS = ("naloxone", "treatment", "methadone", "buprenorphine", "syringe_services")


def listed(text: str) -> list[tuple[int, float]]:
    """(number, miles) of every listing line."""
    return [(int(m[1]), float(m[2])) for m in re.finditer(r"^(\d+)\) .*?, (\d+(?:\.\d)?) mi\b", text, re.M)]


def lines_of(texts) -> list[str]:
    return [x.strip() for t in texts for x in re.split(r"\n|(?<=[.?!]) ", t) if x.strip()]


@pytest.mark.parametrize("lang", ["en", "es"])
@pytest.mark.parametrize("need", NEEDS)
@pytest.mark.parametrize("where", PLACES)
def test_two_texts_nearest_first_no_repeats(where, need, lang):
    r = L.answer(need, PLACES[where], lang, grid(), NOW)
    assert r.status == "found"
    assert 1 <= len(r.texts) <= 2
    assert all(count_segments(t).segments <= 2 for t in r.texts), r.texts
    rows = listed(r.texts[0])
    assert [n for n, _ in rows] == list(range(1, len(rows) + 1))
    miles = [d for _, d in rows]
    assert miles == sorted(miles) or need in L.OFTEN       # own sites, then places that often have it
    lines = lines_of(r.texts)
    assert len(lines) == len(set(lines)), r.texts
    joined = "\n".join(r.texts)
    assert joined.count("nextdistro.org") <= 1 and joined.count("1-800-484-3731") <= 1
    if lang == "en":
        assert all(count_segments(t).encoding == "GSM-7" for t in r.texts)


def test_naloxone_in_chicago_is_real_places_a_mile_away_not_none_within_50():
    r = L.answer(None, "NALOXONE 60614", "en", grid(), NOW)
    first, second = r.texts
    assert first.startswith("Naloxone near Chicago, IL 60614: no site listed, but these often have it free. Call ahead:")
    assert "within 50 miles" not in first and len(listed(first)) == 3
    assert all(d < 2 for _, d in listed(first))
    assert "Pharmacies sell naloxone without a prescription" in second and second.count("nextdistro.org") == 1
    assert "Never Use Alone: 1-800-484-3731" in second and "Reply MORE" in second


def test_program_sites_come_before_places_that_often_have_naloxone():
    r = L.answer("naloxone", "45402", "en", grid(), NOW)
    rows = r.texts[0].splitlines()
    assert rows[0] == "Naloxone near Dayton, OH 45402:"
    assert rows[1].startswith("1) DEMO ") and "open now til 5pm" in "\n".join(rows)


def test_each_listing_is_one_line_and_one_segment_with_phone_and_hours():
    r = L.answer("naloxone", "45402", "en", grid(), NOW)
    for line in r.texts[0].splitlines()[1:]:
        assert count_segments(line).segments == 1
    assert "937-555-0101" in r.texts[0]


def test_a_broken_phone_or_no_coordinates_is_never_shown_half_formed():
    good = site(id=1, name="Good Place", lat=39.7563, phone="(937) 555-0100")
    bad_phone = site(id=2, name="Bad Phone Place", lat=39.7573, address="2 Main St", phone="555-01")
    no_coords = site(id=3, name="Nowhere Place", lat=0.0, lon=0.0, address="3 Main St")
    r = L.answer("naloxone", "45402", "en", L.GridIndex([good, bad_phone, no_coords]), NOW)
    assert "Good Place" in r.texts[0] and "937-555-0100" in r.texts[0]
    assert "Bad Phone Place" in r.texts[0] and "555-01" not in r.texts[0].replace("555-0100", "")
    assert "Nowhere" not in "\n".join(r.texts)
    assert L.phone_text("n/a") == "" and L.phone_text("+1 (312) 555-0100 ext. 4") == "312-555-0100 x4"


def test_long_and_unicode_names_are_shortened_and_folded_in_english():
    s = site(name="Centro Médico Comunitario de Rehabilitación y Tratamiento Integral “Sí” " * 3 + "😀",
             address="1234 Avenida Muñoz Rivera, Edificio Ñandú, Suite 500", hours={"tue": [["09:00", "17:00"]]})
    en = L.answer("naloxone", "45402", "en", L.GridIndex([s]), NOW).texts[0]
    assert count_segments(en).encoding == "GSM-7" and count_segments(en).segments <= 2
    assert ".." in en and "937-555-0100" in en and "open now til 12pm" not in en
    es = L.answer("naloxone", "45402", "es", L.GridIndex([s]), NOW).texts[0]
    assert count_segments(es).segments <= 2 and "abierto hasta 5pm" in es


def test_short_address_and_tidy_name():
    assert W.short_address("1200 North Main Street, Suite 300") == "1200 N Main St"
    assert W.short_address("55 West Avenue Building 9 Suite 23") == "55 W Ave"
    assert W.tidy_name("SOUTHERN REGION COMM HEALTH CTR") == "Southern Region Comm Health CTR"
    assert W.tidy_name("BHG XXIV, LLC") == "BHG XXIV, LLC" and W.tidy_name("Howard Brown") == "Howard Brown"


def test_today_hours_when_closed_now_and_closed_today():
    later = site(hours={"tue": [["13:00", "17:00"]]})
    assert W.status_text(later, NOW, "en", None) == "today 1pm-5pm"
    assert W.status_text(site(hours={"mon": [["09:00", "17:00"]]}), NOW, "es", None) == "cerrado hoy"
    assert W.status_text(site(), NOW, "en", None) == ""


@pytest.mark.parametrize("lang", ["en", "es"])
@pytest.mark.parametrize("text", ["00000", "99999", "xyzzyville, ZZ", "zzqx wwv", "Atlantis, OH", "Gotham City, NY"])
def test_bad_places_get_one_text_with_the_national_options(text, lang):
    for need, national in (("naloxone", "nextdistro.org"), ("treatment", "1-800-662-4357"),
                           ("housing", "211")):
        r = L.answer(need, text, lang, grid(), NOW)
        assert r.status == "not_found" and len(r.texts) == 1
        assert national in r.texts[0] and count_segments(r.texts[0]).segments <= 2


def test_a_territory_with_no_data_says_so_in_one_text():
    r = L.answer("methadone", "96799", "es", grid(), NOW)       # American Samoa: no OTP
    assert len(r.texts) == 1 and "Pago Pago, AS 96799" in r.texts[0] and "1-800-662-4357" in r.texts[0]


def test_never_use_alone_at_most_once_a_day():
    first = L.answer("naloxone", "60614", "en", grid(), NOW)
    assert "1-800-484-3731" in first.texts[1] and first.place["nua"] == "2025-03-04"
    again = L.answer("syringe_services", "60614", "en", grid(), NOW + timedelta(hours=2), last_place=first.place)
    assert "1-800-484-3731" not in "\n".join(again.texts)
    page2 = L.more(first.place, "en", grid(), NOW)
    assert "1-800-484-3731" not in "\n".join(page2.texts)
    tomorrow = L.answer("naloxone", "60614", "en", grid(), NOW + timedelta(days=1), last_place=again.place)
    assert "1-800-484-3731" in "\n".join(tomorrow.texts)


def test_near_me_uses_the_remembered_place_and_never_maine():
    first = L.answer("naloxone", "60614", "en", grid(), NOW)
    r = L.answer("treatment", "near me", "en", grid(), NOW, last_place=first.place)
    assert r.texts[0].startswith("Treatment near Chicago, IL 60614:")
    assert L.answer("naloxone", "cerca de mi", "es", grid(), NOW).status == "need_place"


def test_reentry_needs_the_programs_own_resources_then_211():
    food = site(id=9, name="Second Chance Pantry", kinds=("food",), phone="937-555-0199")
    r = L.answer(None, "food near 45402", "en", L.GridIndex([food]), NOW)
    assert r.texts[0].startswith("Food near Dayton, OH 45402:\n1) Second Chance Pantry")
    assert "call 211" in r.texts[1]
    none = L.answer("housing", "60614", "es", grid(), NOW)
    assert len(none.texts) == 1 and "211" in none.texts[0] and "vivienda" in none.texts[0]
    for text, need in (("need a job", "job"), ("lost my state id", "id"), ("snap benefits", "benefits"),
                       ("shelter tonight", "housing"), ("fentanyl test strips", "test_strips"), ("detox", "detox")):
        assert L.need_from_text(text) == need


def test_more_follows_the_same_shape_and_ends_honestly():
    r = L.answer("vending_machine", "45402", "en", grid(), NOW)
    assert len(r.texts) <= 2 and "Vending Machine" in r.texts[0]
    nxt = L.more(r.place, "en", grid(), NOW)
    assert len(nxt.texts) == 1 and nxt.texts[0].startswith("No more places within 50 miles.")
    assert "nextdistro.org" in nxt.texts[0]


def test_ambiguous_asks_once_then_answers_for_the_pick():
    ask = L.answer("naloxone", "Springfield", "en", grid(), NOW)
    assert ask.status == "ambiguous" and "1) Springfield, IL" in ask.texts[0]
    picked = L.answer(None, "3", "en", grid(), NOW, last_place=ask.place)
    assert picked.status == "found" and picked.texts[0].startswith("Naloxone near Springfield, MO")
    again = L.answer(None, "hmm not sure", "en", grid(), NOW, last_place=ask.place)
    assert again.place["label"] == "Springfield, IL"                        # never asks twice


def test_every_locator_text_exists_in_both_languages():
    def walk(node, path=""):
        if isinstance(node, dict) and set(node) == {"en", "es"}:
            yield path, node
        elif isinstance(node, dict):
            for k, v in node.items():
                yield from walk(v, f"{path}.{k}".strip("."))
    found = list(walk(W.catalogue()))
    assert len(found) > 20
    for path, entry in found:
        assert entry["en"] and entry["es"], path
        if isinstance(entry["en"], str):
            assert "usted" not in entry["es"].lower() and " llame " not in f" {entry['es'].lower()} ", path
