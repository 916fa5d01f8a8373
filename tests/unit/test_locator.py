"""The locator against the real ~29,000 sites: the grid never misses a nearer site, answers match
a brute-force scan, open-now is judged in the site's zone, and every text fits two segments."""
import functools
import json
import math
import random
from datetime import date, datetime, timezone
from pathlib import Path

import pytest
import zipcodes
from hypothesis import given, settings, strategies as st

from core import locator as L
from core import sites_import as si
from core.locator import SiteRecord
from core.sms import count_segments

SITES = Path(__file__).resolve().parents[2] / "bot" / "content" / "sites"
NOW = datetime(2025, 3, 4, 15, 30, tzinfo=timezone.utc)      # Tuesday 10:30 in Dayton


@functools.cache
def real_sites() -> tuple[SiteRecord, ...]:
    out = []
    for name, preset in (("opioid_treatment_programs.csv", "otp"),
                         ("substance_use_treatment.csv", "treatment"),
                         ("health_centers.csv", "health_centers"), ("local_demo.csv", "local")):
        out += [i.site for i in si.import_csv((SITES / name).read_bytes(), preset).sites]
    return tuple(out)


@functools.cache
def grid() -> L.GridIndex:
    return L.GridIndex(real_sites())


@functools.cache
def by_need(need):
    kinds, r = L.NEEDS[need], math.radians
    return [(math.sin(r(s.lat)), math.cos(r(s.lat)), math.sin(r(s.lon)), math.cos(r(s.lon)), s)
            for s in real_sites() if kinds & set(s.kinds)]


def brute_nearest(origin, need, n, max_miles=math.inf):
    """Independent of the grid: a haversine over every site, sorted, one per real place.
    a = hav(dlat) + cos cos hav(dlon), from precomputed sines and cosines: no calls per site."""
    p1, l1 = math.radians(origin[0]), math.radians(origin[1])
    s1, c1, sl1, cl1 = math.sin(p1), math.cos(p1), math.sin(l1), math.cos(l1)
    a_max = math.sin(min(math.pi, max_miles / L.EARTH_MILES) / 2) ** 2 if max_miles < math.inf else 2.0
    scored = []
    for s2, c2, sl2, cl2, s in by_need(need):
        cc = c1 * c2
        a = (1 - cc - s1 * s2) / 2 + cc * (1 - cl1 * cl2 - sl1 * sl2) / 2
        if a <= a_max + 1e-9:
            d = 2 * L.EARTH_MILES * math.asin(min(1.0, math.sqrt(max(0.0, a))))
            if d <= max_miles + 1e-6:
                scored.append((d, s.name, s.address, s))
    scored.sort(key=lambda t: t[:3])
    out = []
    for d, _, _, s in scored:
        if not any(L.same_site(s, k) for _, k in out):
            out.append((d, s))
            if len(out) == n:
                break
    return out


def origins(k, seed=4):
    rnd = random.Random(seed)
    zips = [z for z in zipcodes.list_all() if z["zip_code_type"] == "STANDARD" and float(z["lat"])]
    pts = [(float(z["lat"]), float(z["long"])) for z in rnd.sample(zips, k // 2)]
    pts += [(rnd.uniform(25, 49), rnd.uniform(-124, -67)) for _ in range(k - len(pts))]
    return pts


# --- vocabulary and geometry -----------------------------------------------------------------
@pytest.mark.parametrize("text, need", [
    ("NALOXONE 60614", "naloxone"), ("narcan near me", "naloxone"), ("naloxona por favor", "naloxone"),
    ("treatment near Dayton OH", "treatment"), ("rehab", "treatment"), ("tratamiento", "treatment"),
    ("methadone clinic", "methadone"), ("metadona", "methadone"), ("suboxone doctor", "buprenorphine"),
    ("needle exchange", "syringe_services"), ("jeringas limpias", "syringe_services"),
    ("narcan vending machine", "vending_machine"), ("naloxone by mail", "mail_order"),
    ("naloxona por correo", "mail_order"), ("centro de salud", "health_center"), ("hello", None),
])
def test_need_words(text, need):
    assert L.need_from_text(text) == need


def test_haversine():
    assert L.haversine(40.7128, -74.0060, 34.0522, -118.2437) == pytest.approx(2445, abs=5)
    assert L.haversine(39.75, -84.19, 39.75, -84.19) == 0


def _destination(lat, lon, bearing, miles):
    d, b = miles / L.EARTH_MILES, math.radians(bearing)
    p1, l1 = math.radians(lat), math.radians(lon)
    p2 = math.asin(math.sin(p1) * math.cos(d) + math.cos(p1) * math.sin(d) * math.cos(b))
    l2 = l1 + math.atan2(math.sin(b) * math.sin(d) * math.cos(p1), math.cos(d) - math.sin(p1) * math.sin(p2))
    return math.degrees(p2), (math.degrees(l2) + 540) % 360 - 180


@settings(max_examples=400, deadline=None)
@given(st.floats(-70, 72), st.floats(-180, 180), st.floats(0.1, 150), st.floats(0, 360), st.floats(0, 1))
def test_cells_around_never_misses_a_point_in_the_circle(lat, lon, radius, bearing, frac):
    plat, plon = _destination(lat, lon, bearing, radius * frac * 0.999)
    assert L.cell_of(plat, plon) in L.cells_around(lat, lon, radius)


def test_cells_cross_the_antimeridian():
    cells = L.cells_around(52.0, 179.9, 50)                   # Aleutians
    assert len(cells.lon_ranges) == 2
    assert L.cell_of(52.0, -179.9) in cells and L.cell_of(52.0, 179.5) in cells


def test_cells_are_few():
    """The SQL stays small: one IN value per 0.1 degree of latitude, one lon range."""
    assert len(L.cells_around(39.75, -84.19, 15).lat_values()) <= 5
    assert len(L.cells_around(39.75, -84.19, 100).lat_values()) <= 30
    assert len(L.cells_around(39.75, -84.19, 100).lon_ranges) == 1


# --- ranking against brute force ------------------------------------------------------------
NEED_CYCLE = ("treatment", "methadone", "buprenorphine", "health_center", "naloxone", "any")


def test_grid_nearest_matches_brute_force_on_real_sites():
    for i, origin in enumerate(origins(300)):
        need, radius = NEED_CYCLE[i % len(NEED_CYCLE)], (15, 50, 100)[i % 3]
        cells = L.cells_around(*origin, radius)
        got = L.nearest(grid()(cells), origin, need, 5, max_miles=radius)
        want = brute_nearest(origin, need, 5, max_miles=radius)
        assert [d for d, _ in got] == pytest.approx([d for d, _ in want], abs=1e-5), (origin, need)
        assert [s.name for _, s in got] == [s.name for _, s in want]


class CountingFetch:
    def __init__(self):
        self.rows = self.calls = 0

    def __call__(self, cells):
        rows = grid()(cells)
        self.rows, self.calls = self.rows + len(rows), self.calls + 1
        return rows


def test_answers_match_brute_force_and_never_scan_everything():
    total = len(real_sites())
    for i, origin in enumerate(origins(120, seed=9)):
        need = NEED_CYCLE[i % len(NEED_CYCLE)]
        fetch = CountingFetch()
        res = L.answer(need, None, "en", fetch, NOW, last_place={"lat": origin[0], "lon": origin[1], "label": "X"})
        assert res.status == "found"
        assert fetch.rows < total * 0.15, (origin, fetch.rows)
        want = brute_nearest(origin, need, 3, max_miles=L.MAX_MILES[need])
        joined = "\n".join(res.texts)
        for _, s in want:
            assert s.name[:20] in joined, (origin, need, s.name)
        if not want:
            assert "1-800-484-3731" in joined


def test_more_pages_walk_outward_without_repeats():
    first = L.answer("treatment", "Chicago, IL", "en", grid(), NOW)
    second = L.more(first.place, "en", grid(), NOW)
    third = L.more(second.place, "en", grid(), NOW)
    assert first.place["offset"] == 3 and second.place["offset"] == 6 and third.place["offset"] == 9
    want = [s.name[:20] for _, s in brute_nearest((first.place["lat"], first.place["lon"]), "treatment", 9)]
    pages = [first, second, third]
    for p, names in zip(pages, (want[:3], want[3:6], want[6:9])):
        assert all(n in "\n".join(p.texts) for n in names)
        assert p.texts[-1].endswith("Reply MORE for more")
    json.dumps(third.place)                                  # remembered as JSON


# --- hours ----------------------------------------------------------------------------------
def site(**kw) -> SiteRecord:
    base = dict(id=1, name="Test Site", kinds=("naloxone",), address="1 Main St", city="Dayton",
                state="OH", zip="45402", lat=39.7563, lon=-84.1895, phone="(937) 555-0100",
                hours=None, timezone="America/New_York", notes="", source="test",
                verified_on=date(2025, 1, 15))
    base.update(kw)
    return SiteRecord(**base)


WEEKDAYS = {d: [["09:00", "17:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}


@pytest.mark.parametrize("when, expected", [
    (datetime(2025, 3, 4, 15, 30, tzinfo=timezone.utc), L.OpenNow(True, "5pm")),       # Tue 10:30 EST
    (datetime(2025, 3, 4, 13, 30, tzinfo=timezone.utc), L.OpenNow(False, None, 1, "9am")),  # Tue 8:30
    (datetime(2025, 3, 4, 22, 30, tzinfo=timezone.utc), L.OpenNow(False, None, 2, "9am")),  # Tue 17:30
    (datetime(2025, 3, 8, 15, 0, tzinfo=timezone.utc), L.OpenNow(False, None, 0, "9am")),   # Sat: Mon
    (datetime(2025, 3, 10, 13, 30, tzinfo=timezone.utc), L.OpenNow(True, "5pm")),      # Mon 9:30 EDT
    (datetime(2025, 3, 4, 15, 30), L.OpenNow(True, "5pm")),                             # naive = UTC
])
def test_open_status_in_the_sites_zone(when, expected):
    assert L.open_status(site(hours=WEEKDAYS), when) == expected


def test_open_status_overnight_and_247_and_unknown():
    late = site(hours={"sat": [["20:00", "02:00"]]})
    assert L.open_status(late, datetime(2025, 3, 9, 6, 0, tzinfo=timezone.utc)) == L.OpenNow(True, "2am")
    assert L.open_status(late, datetime(2025, 3, 9, 8, 0, tzinfo=timezone.utc)).is_open is False
    always = site(hours={d: [["00:00", "24:00"]] for d in L.DAYS})
    assert L.open_status(always, NOW) == L.OpenNow(True, "24/7")
    one_day = site(hours={"tue": [["00:00", "24:00"]]})
    assert L.open_status(one_day, NOW) == L.OpenNow(True, "12am")
    assert L.open_status(site(), NOW) == L.OpenNow(None)
    assert L.open_status(site(hours={"mon": [["9am", "5pm"]]}), NOW) == L.OpenNow(None)


def test_open_status_uses_the_site_zone_not_the_callers():
    guam = site(timezone="Pacific/Guam", hours={"wed": [["09:00", "17:00"]]})
    assert L.open_status(guam, datetime(2025, 3, 4, 23, 30, tzinfo=timezone.utc)).is_open  # Wed 9:30 ChST


def test_open_first_within_the_page():
    closed = site(id=1, name="Near but closed", lat=39.7563, hours={"sun": [["09:00", "10:00"]]})
    unknown = site(id=2, name="Unknown hours", lat=39.7663, address="2 Main St")
    open_ = site(id=3, name="Open now", lat=39.7763, address="3 Main St", hours=WEEKDAYS)
    page = L.rank([closed, unknown, open_], (39.7563, -84.1895), "naloxone", NOW, limit=3)
    assert [r.site.name for r in page] == ["Open now", "Unknown hours", "Near but closed"]
    assert [r.open_now.is_open for r in page] == [True, None, False]


def test_rank_filters_by_need_and_dedupes_places():
    a = site(id=1, name="Clinic", kinds=("treatment",))
    b = site(id=2, name="CLINIC", kinds=("otp", "treatment"), lat=39.75631)
    c = site(id=3, name="Pharmacy", kinds=("health_center",), address="9 Elm St")
    assert [r.site.id for r in L.rank([a, b, c], (39.7563, -84.1895), "treatment", NOW)] == [1]
    assert [r.site.id for r in L.rank([a, b, c], (39.7563, -84.1895), "methadone", NOW)] == [2]


def test_hours_text():
    h = {**WEEKDAYS, "sat": [["10:00", "14:30"]]}
    assert L.hours_text(h, "en") == "Mon-Fri 9am-5pm; Sat 10am-2:30pm"
    assert L.hours_text(h, "es") == "lun-vie 9am-5pm; sáb 10am-2:30pm"


# --- text -----------------------------------------------------------------------------------
def test_every_real_site_fits_two_segments_in_both_languages():
    header = {"en": "Buprenorphine near Port Saint Lucie, FL 34953:",
              "es": "Buprenorfina cerca de Port Saint Lucie, FL 34953:"}
    for s in real_sites():
        for lang in ("en", "es"):
            text = L.format_site(s, 123.4, lang, NOW, footer=True, header=header[lang])
            assert count_segments(text).segments <= 2, text
            assert text.endswith(L.FOOTER[lang]) or text.endswith(L.gsm_fold(L.FOOTER[lang]))
            assert L.gsm_fold(s.name[:20]) in L.gsm_fold(text) or ".." in text


def test_format_contents_en_and_es():
    s = site(hours=WEEKDAYS, notes="Free kits")
    en = L.format_site(s, 2.345, "en", NOW)
    assert en.splitlines() == ["Test Site", "Naloxone", "1 Main St, Dayton, OH 45402", "(937) 555-0100",
                               "2.3 mi. Open now until 5pm", "Hours: Mon-Fri 9am-5pm", "Free kits",
                               "Verified Jan 2025. Call ahead.", "Reply MORE for more"]
    es = L.format_site(s, 12.6, "es", NOW, footer=False)
    assert "A 13 millas. Abierto ahora hasta 5pm" in es and "Verificado ene 2025" in es
    assert "Horario: lun-vie 9am-5pm" in es and "Responde" not in es
    assert "Info may be outdated" in L.format_site(site(verified_on=None), 1, "en", NOW)


def test_long_and_unicode_names_are_cut_gracefully():
    s = site(name="Centro Médico Comunitario de Rehabilitación y Tratamiento Integral " * 4 + "😀",
             address="1234 Avenida Muñoz Rivera, Edificio Ñandú, Suite 500, Piso 7 " * 3,
             notes="Atención sin cita " * 10, hours=WEEKDAYS)
    for lang in ("en", "es"):
        text = L.format_site(s, 1.0, lang, NOW, header="Tratamiento cerca de San Juan, PR 00901:")
        c = count_segments(text)
        assert c.segments <= 2 and c.encoding == "GSM-7"
        assert ".." in text and "(937) 555-0100" in text and "Verifi" in text


def test_accents_folded_only_when_that_saves_a_segment():
    text = L.format_site(site(name="Clínica"), 1.0, "es", NOW, footer=True)
    assert "Clinica" in text and text.endswith("Responde MAS para ver mas")
    assert count_segments(text).segments == 1                 # UCS-2 would have taken two
    assert L._fit("¿Más?") == "¿Más?"                          # one segment either way: keep accents


def test_gsm_fold():
    assert L.gsm_fold("Clínica “Sí” – más") == 'Clinica "Si" - mas'
    assert L.gsm_fold("Niño ¿Qué?") == "Niño ¿Qué?"               # ñ é ¿ are GSM-7 already
    assert L.gsm_fold("漢字😀ok") == "ok"


# --- answers --------------------------------------------------------------------------------
def test_answer_by_text_en_and_es():
    r = L.answer(None, "NALOXONE 45402", "en", grid(), NOW)
    assert r.status == "found" and r.place["need"] == "naloxone" and r.place["zip"] == "45402"
    assert r.texts[0].startswith("Naloxone near Dayton, OH 45402:")
    assert r.sites == 3                     # the report counts this answer as places found
    assert all(count_segments(t).segments <= 2 for t in r.texts)
    es = L.answer(None, "metadona cerca de Dayton, Ohio", "es", grid(), NOW)
    assert es.status == "found" and es.texts[0].startswith("Metadona cerca de Dayton, OH:")
    assert "millas" in es.texts[0]


def test_fallbacks_when_nothing_is_near():
    r = L.answer("naloxone", "Nome, AK", "en", grid(), NOW)
    text = "\n".join(r.texts)
    assert r.status == "found" and "No naloxone listed within 50 miles of Nome, AK" in text
    assert r.sites == 0                     # fallback only: the report must not call this found
    assert "pharmacies" in text and "nextdistro.org" in text and "1-800-484-3731" in text
    t = "\n".join(L.answer("methadone", "96799", "es", grid(), NOW).texts)
    assert "1-800-662-4357" in t and "findtreatment.gov" in t and "1-800-484-3731" in t
    assert all(count_segments(x).segments <= 2 for x in L.fallback_texts("treatment", "es", "X" * 40, 100))


def test_past_the_last_page():
    r = L.answer("vending_machine", "45402", "en", grid(), NOW)
    assert r.status == "found" and "Vending Machine" in r.texts[0] and r.place["offset"] == 1
    nxt = L.more(r.place, "en", grid(), NOW)
    assert nxt.texts[0] == "No more places within 50 miles." and "1-800-484-3731" in "\n".join(nxt.texts)


def test_ambiguous_asks_once():
    ask = L.answer("naloxone", "Springfield", "en", grid(), NOW)
    assert ask.status == "ambiguous" and "1) Springfield, IL" in ask.texts[0]
    json.dumps(ask.place)
    picked = L.answer(None, "3", "en", grid(), NOW, last_place=ask.place)
    assert picked.status == "found" and picked.place["label"] == "Springfield, MO"
    assert picked.place["need"] == "naloxone" and picked.texts[0].startswith("Using Springfield, MO")
    again = L.answer(None, "hmm not sure", "en", grid(), NOW, last_place=ask.place)
    assert again.status == "found" and again.place["label"] == "Springfield, IL"   # never asks twice
    other = L.answer(None, "Dayton OH", "en", grid(), NOW, last_place=ask.place)
    assert other.place["label"] == "Dayton, OH"


def test_need_place_and_not_found():
    r = L.answer("naloxone", None, "es", grid(), NOW)
    assert r.status == "need_place" and "codigo postal" in r.texts[0] and r.place == {"need": "naloxone"}
    later = L.answer(None, "45402", "es", grid(), NOW, last_place=r.place)
    assert later.status == "found" and later.place["need"] == "naloxone"
    nf = L.answer("treatment", "zzqx wwv", "en", grid(), NOW, last_place=later.place)
    assert nf.status == "not_found" and "zzqx wwv" in nf.texts[0]
    assert nf.place["zip"] == "45402" and nf.place["need"] == "treatment"   # the old place is kept
    st_only = L.answer("treatment", "ohio", "es", grid(), NOW)
    assert st_only.status == "not_found" and "ciudad" in st_only.texts[0]


def test_remembered_place_answers_the_next_question():
    first = L.answer("naloxone", "45402", "en", grid(), NOW)
    nxt = L.answer("treatment", "treatment please", "en", grid(), NOW, last_place=first.place)
    assert nxt.status == "found" and nxt.place["zip"] == "45402" and nxt.place["offset"] == 3
    assert nxt.texts[0].startswith("Treatment near Dayton, OH 45402:")
