"""Finding places by text, through /twilio/sms, against sites imported into each database."""
from __future__ import annotations

import random
from pathlib import Path

import pytest
from sqlalchemy import func, select

from core import locator
from bot.site_store import DEFAULT_DIR, candidates, import_file
from core.sites_import import PRESETS
from db.models import Participant, Site
from tests.integration.test_webhook import replies
from tests.twilio_signing import sms

PHONE = "+19375550177"


@pytest.fixture
def sites(db):
    with db.session() as s:
        import_file(s, DEFAULT_DIR / "opioid_treatment_programs.csv", PRESETS["otp"])
        import_file(s, DEFAULT_DIR / "local_demo.csv", PRESETS["local"])
    return db


def text(client, body):
    return replies(sms(client, PHONE, body))


def test_naloxone_by_zip_lists_the_nearest_with_distance_hours_and_more(client, sites):
    text(client, "hi")
    out = text(client, "NALOXONE 45402")
    assert len(out) == 2
    first = out[0].splitlines()
    assert first[0] == "Naloxone near Dayton, OH 45402:"
    assert first[1].startswith("1) DEMO Homeward Naloxone Pickup - Downtown, 100 Demo Plaza, 0.2 mi, 937-555-0101")
    assert "Reply MORE for more places." in out[1]
    more = text(client, "MORE")
    assert more and not any("Downtown" in t for t in more)      # the next page, not the same one
    assert more[0].startswith("More naloxone near Dayton, OH 45402:\n4) ")
    with sites.session() as s:
        assert s.scalar(select(Participant.fields))["last_place"]["zip"] == "45402"


def test_treatment_near_city_state_in_spanish(client, sites):
    text(client, "ESPAÑOL")
    out = text(client, "TRATAMIENTO cerca de Dayton, OH")
    assert len(out) == 2 and out[0].startswith("Tratamiento cerca de Dayton, OH:\n1) ")
    assert "Responde MAS" in out[1] and "HABLAR" in out[1]


def test_nothing_near_gets_honest_national_fallbacks(client, sites):
    text(client, "hi")
    out = text(client, "NALOXONE 99950")                          # Ketchikan, AK: nothing loaded there
    joined = "\n".join(out)
    assert len(out) <= 2 and "Nothing listed for naloxone within 50 miles of Ketchikan, AK 99950" in out[0]
    assert "pharmac" in joined.lower() and joined.count("nextdistro.org") == 1


def test_an_unknown_place_is_said_clearly(client, sites):
    text(client, "hi")
    out = text(client, "NALOXONE 00000")
    assert len(out) == 1 and out[0].startswith("I couldn't find \"00000\". Send a 5-digit ZIP code")
    assert "nextdistro.org" in out[0]


def test_the_grid_query_agrees_with_a_brute_force_nearest(sites):
    rng = random.Random(7)
    with sites.session() as s:
        everything = [(site.id, site.lat, site.lon, tuple(site.kinds.split()))
                      for site in s.scalars(select(Site).where(Site.active.is_(True)))]
        assert len(everything) > 1800
        for _ in range(25):
            lat, lon = rng.uniform(30, 45), rng.uniform(-120, -75)
            cells = locator.cells_around(lat, lon, 50)
            got = {r.id for r in candidates(s, cells)}
            truth = {i for i, a, b, _ in everything if locator.haversine(lat, lon, a, b) <= 50}
            assert truth <= got       # the prefilter never loses a site within the radius
            assert len(got) < len(everything) / 4    # and reads a small part of the table


def test_reimport_updates_instead_of_duplicating(sites):
    with sites.session() as s:
        before = s.scalar(select(func.count()).select_from(Site))
        report = import_file(s, DEFAULT_DIR / "local_demo.csv", PRESETS["local"])
        assert report.added == 0 and s.scalar(select(func.count()).select_from(Site)) == before


def test_sites_import_cli_reports_rejected_rows_with_file_and_line(app, db, tmp_path):
    bad = tmp_path / "ours.csv"
    bad.write_text("name,address,city,state,zip,lat,lon,kinds\n"
                   "Good Place,1 Main St,Dayton,OH,45402,39.75,-84.19,naloxone\n"
                   "No Coordinates,2 Main St,Dayton,OH,45402,,,naloxone\n"
                   "Swapped,3 Main St,Dayton,OH,45402,-84.19,39.75,naloxone\n")
    out = app.test_cli_runner().invoke(args=["sites", "import", str(bad), "--preset", "local"])
    assert out.exit_code == 0, out.output
    assert f"{bad}:3: rejected: coordinates not numbers" in out.output
    assert f"{bad}:4: note: latitude and longitude were swapped" in out.output and "2 added" in out.output
    again = app.test_cli_runner().invoke(args=["sites", "import", str(bad), "--preset", "local"])
    assert "0 added" in again.output
    wrong = app.test_cli_runner().invoke(args=["sites", "import", str(bad), "--preset", "otp"])
    assert wrong.exit_code != 0 and "ID" in wrong.output


def test_a_site_hidden_by_staff_stays_hidden_after_a_reimport(sites):
    with sites.session() as s:
        site = s.scalar(select(Site).where(Site.source_key.like("otp:%")).limit(1))
        site.active, site.hidden_by_staff, key = False, True, site.source_key
    with sites.session() as s:
        import_file(s, DEFAULT_DIR / "opioid_treatment_programs.csv", PRESETS["otp"])
        assert s.scalar(select(Site.active).where(Site.source_key == key)) is False
