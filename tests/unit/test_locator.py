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
from core.locator.wording import cut, tidy_name

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


def tidy(name):
    """A name as a listing shows it (title-cased, maybe shortened): its first 14 characters."""
    return cut(tidy_name(name), 40)[:14]


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
        assert len(res.texts) <= 2
        for _, s in want[:2]:                                 # a page holds two or three
            assert tidy(s.name) in joined, (origin, need, s.name)
        if not want:                                         # nothing near: the national option
            assert ("nextdistro.org" if need in ("naloxone", "any") else "1-800-662-4357") in joined


def test_more_pages_walk_outward_without_repeats():
    first = L.answer("treatment", "Chicago, IL", "en", grid(), NOW)
    second = L.more(first.place, "en", grid(), NOW)
    third = L.more(second.place, "en", grid(), NOW)
    n1, n2, n3 = first.place["offset"], second.place["offset"], third.place["offset"]
    assert 2 <= n1 < n2 < n3 and n3 - n2 >= 2
    want = [tidy(s.name) for _, s in brute_nearest((first.place["lat"], first.place["lon"]), "treatment", n3)]
    for p, names in zip((first, second, third), (want[:n1], want[n1:n2], want[n2:n3])):
        assert len(p.texts) <= 2 and p.texts[-1].startswith("Reply MORE for more places.")
        assert all(n in p.texts[0] for n in names), (names, p.texts[0])
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
    got = L.open_status(site(hours=WEEKDAYS), when)
    assert (got.is_open, got.until, got.next_day, got.next_time) == \
        (expected.is_open, expected.until, expected.next_day, expected.next_time)


def test_open_status_overnight_and_247_and_unknown():
    late = site(hours={"sat": [["20:00", "02:00"]]})
    assert L.open_status(late, datetime(2025, 3, 9, 6, 0, tzinfo=timezone.utc)) .until == "2am"
    assert L.open_status(late, datetime(2025, 3, 9, 8, 0, tzinfo=timezone.utc)).is_open is False
    always = site(hours={d: [["00:00", "24:00"]] for d in L.DAYS})
    assert L.open_status(always, NOW).until == "24/7"
    one_day = site(hours={"tue": [["00:00", "24:00"]]})
    assert L.open_status(one_day, NOW).until == "12am"
    assert L.open_status(site(), NOW) == L.OpenNow(None)
    assert L.open_status(site(hours={"mon": [["9am", "5pm"]]}), NOW) == L.OpenNow(None)


def test_open_status_uses_the_site_zone_not_the_callers():
    guam = site(timezone="Pacific/Guam", hours={"wed": [["09:00", "17:00"]]})
    assert L.open_status(guam, datetime(2025, 3, 4, 23, 30, tzinfo=timezone.utc)).is_open  # Wed 9:30 ChST


def test_rank_filters_by_need_and_dedupes_places():
    a = site(id=1, name="Clinic", kinds=("treatment",))
    b = site(id=2, name="CLINIC", kinds=("otp", "treatment"), lat=39.75631)
    c = site(id=3, name="Pharmacy", kinds=("health_center",), address="9 Elm St")
    assert [r.site.id for r in L.rank([a, b, c], (39.7563, -84.1895), "treatment")] == [1]
    assert [r.site.id for r in L.rank([a, b, c], (39.7563, -84.1895), "methadone")] == [2]


def test_hours_text():
    h = {**WEEKDAYS, "sat": [["10:00", "14:30"]]}
    assert L.hours_text(h, "en") == "Mon-Fri 9am-5pm; Sat 10am-2:30pm"
    assert L.hours_text(h, "es") == "lun-vie 9am-5pm; sáb 10am-2:30pm"
