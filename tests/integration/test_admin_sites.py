"""The Sites tab of the supervisor console (/admin/sites), on both databases: program-local
sites added and edited by hand or from a CSV, found by text through /twilio/sms."""
from __future__ import annotations

import io
import re
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from core import locator, places
from db.models import AuditEvent, Site
from tests.integration.test_webhook import replies
from tests.staff import PASSWORD, login, make_user
from tests.twilio_signing import sms
from web.admin.sites.forms import format_day_hours, parse_day_hours

PHONE = "+13125550199"
NOW = datetime(2025, 6, 10, 16, 0, tzinfo=timezone.utc)    # the app's clock in these tests
TODAY = NOW.date()
NAME = "Lakeview Naloxone Pickup"
GOOD = {"name": NAME, "kinds": ["naloxone", "syringe_services"], "address": "2500 N Clark St", "city": "Chicago",
        "state": "IL", "zip": "60614", "lat": "", "lon": "", "phone": "312-555-0142",
        "mon": "09:00-17:00", "tue": "9am-5pm", "wed": "closed", "thu": "09:00-12:00, 13:00-17:00",
        "fri": "24h", "sat": "20:00-02:00", "sun": "", "notes": "No ID needed.", "verified_on": TODAY.isoformat()}


@pytest.fixture
def sup(app, db, client):
    app.extensions["homeward.clock"] = lambda: NOW
    make_user(db, "sam@example.org", "supervisor", "Sam Rivera")
    login(client, "sam@example.org")
    return client


def sites(db):
    with db.session() as s:
        return list(s.scalars(select(Site).order_by(Site.id)))


def actions(db):
    with db.session() as s:
        return [(e.action, e.detail) for e in s.scalars(
            select(AuditEvent).where(AuditEvent.action.like("site%")).order_by(AuditEvent.id))]


def lookup(client, body: str) -> str:
    replies(sms(client, PHONE, "hi"))
    return "\n".join(replies(sms(client, PHONE, body)))


def add(client, **changes) -> int:
    resp = client.post("/admin/sites/new", data={**GOOD, **changes})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:3000]
    return int(resp.headers["Location"].rsplit("/", 1)[1])


def public_site(db, name="Lakeview Methadone Clinic", zip5="60614", key="otp:abc123") -> int:
    lat, lon = places.zip_point(zip5)
    with db.session() as s:
        site = Site(source_key=key, name=name, kinds="otp buprenorphine treatment", address="1 Public Way",
                    city="Chicago", state="IL", zip=zip5, lat=lat, lon=lon, cell_lat=locator.cell_of(lat, lon)[0],
                    cell_lon=locator.cell_of(lat, lon)[1], source="SAMHSA OTP directory (OEPS, 2020-21)")
        s.add(site)
        s.flush()
        return site.id


# -- the hours a supervisor types (pure) --------------------------------------------------------

def test_hours_lines_parse_to_the_locators_structure_and_back():
    assert parse_day_hours("09:00-17:00, 18:00-20:00") == [["09:00", "17:00"], ["18:00", "20:00"]]
    assert parse_day_hours("9am - 5:30pm") == [["09:00", "17:30"]]
    assert parse_day_hours("13:00-17:00; 8:00 to 12:00") == [["08:00", "12:00"], ["13:00", "17:00"]]
    assert parse_day_hours("20:00-02:00") == [["20:00", "02:00"]]            # past midnight
    assert parse_day_hours("18:00-00:00") == [["18:00", "24:00"]]
    assert parse_day_hours("noon-midnight") == [["12:00", "24:00"]]
    assert parse_day_hours(" Closed ") == [] and parse_day_hours("24h") == [["00:00", "24:00"]]
    assert parse_day_hours("") is None
    for bad, says in (("9-5", "needs minutes or am/pm"), ("25:00-26:00", "not a time of day"),
                      ("9:00-12:00, 11:00-13:00", "overlap"), ("10:00-10:00", "same time"),
                      ("mornings", "not a span"), ("13pm-2pm", "1 to 12")):
        with pytest.raises(ValueError, match=says):
            parse_day_hours(bad)
    for line in ("09:00-17:00, 18:00-20:00", "closed", "24h", "20:00-02:00"):
        assert format_day_hours(parse_day_hours(line)) == line
    assert locator.valid_hours({"mon": parse_day_hours("20:00-02:00"), "tue": parse_day_hours("24h")})


# -- adding ---------------------------------------------------------------------------------------

def test_a_site_added_from_just_a_zip_is_placed_there_and_found_by_text(sup, db):
    assert "program:" not in sup.get("/admin/sites").get_data(as_text=True)
    form = sup.get("/admin/sites/new").get_data(as_text=True)
    assert 'name="verified_on" type="date" value="' in form and "Naloxone vending machine" in form
    site_id = add(sup)
    [site] = sites(db)
    centre = places.zip_point("60614")
    assert site.id == site_id and re.fullmatch(r"program:[0-9a-f]{32}", site.source_key)
    assert (site.lat, site.lon) == (round(centre[0], 6), round(centre[1], 6))
    assert (site.cell_lat, site.cell_lon) == locator.cell_of(site.lat, site.lon)
    assert site.timezone == "America/Chicago" and site.kinds == "naloxone syringe_services"
    assert site.hours == {"mon": [["09:00", "17:00"]], "tue": [["09:00", "17:00"]],
                          "thu": [["09:00", "12:00"], ["13:00", "17:00"]], "fri": [["00:00", "24:00"]],
                          "sat": [["20:00", "02:00"]]}
    assert site.phone == "(312) 555-0142" and site.active and site.source == "program"
    assert site.verified_on is not None and abs((site.verified_on - TODAY).days) <= 1
    assert actions(db) == [("site_create", {"site_id": site_id, "kinds": "naloxone syringe_services",
                                            "located": "zip"})]
    page = sup.get(f"/admin/sites/{site_id}").get_data(as_text=True)
    assert "English" in page and "Spanish" in page and re.search(r"\d segments? · GSM-7", page)
    assert "Naloxona" in page or "naloxona" in page
    assert NAME in sup.get("/admin/sites").get_data(as_text=True)          # the program filter, by default
    out = lookup(sup, "NALOXONE 60614")
    assert NAME in out and "312-555-0142" in out


def test_the_preview_button_shows_the_text_and_writes_nothing(sup, db):
    resp = sup.post("/admin/sites/new", data={**GOOD, "action": "preview", "notes": "x" * 400})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and NAME in html and "not in the reply: notes" in html
    assert sites(db) == [] and actions(db) == []


BAD = [
    ({"kinds": []}, "kinds", "Choose at least one kind of place."),
    ({"kinds": ["naloxone", "pizza"]}, "kinds", "Unknown kind &#39;pizza&#39;"),
    ({"mon": "9-5"}, "mon", "needs minutes or am/pm: write 09:00 or 9am"),
    ({"tue": "09:00-12:00, 11:00-14:00"}, "tue", "overlap"),
    ({"wed": "sometimes"}, "wed", "is not a span like 09:00-17:00"),
    ({"sat": "20:00-03:00", "sun": "01:00-05:00"}, "sun", "before Saturday&#39;s hours end at 03:00"),
    ({**{d: "closed" for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}}, None, "Every day is closed"),
    ({"lat": "95", "lon": "-87.6"}, "lat", "Latitude must be between -90 and 90."),
    ({"lat": "41.92", "lon": "-187"}, "lon", "Longitude must be between -180 and 180."),
    ({"lat": "north", "lon": "-87.6"}, "lat", "Latitude must be a number like 39.7589."),
    ({"lat": "41.92", "lon": ""}, "lon", "Give both latitude and longitude"),
    ({"lon": "-87.65", "zip": "45402"}, "lat", "Give both latitude and longitude"),   # said with the ZIP's
    ({"lat": "-87.65", "lon": "41.92"}, "lat", "look swapped"),
    ({"lat": "41.92", "lon": "87.65"}, "lat", "did you mean -87.65?"),
    ({"lat": "48.85", "lon": "2.35"}, "lat", "outside the US and its territories"),
    ({"lat": "39.7589", "lon": "-84.1916"}, "lat", "miles from ZIP 60614 (Chicago, IL)"),
    ({"zip": "6061"}, "zip", "A ZIP code is 5 digits"),
    ({"zip": "45402"}, "zip", "ZIP 45402 is in OH, not IL."),
    ({"zip": "00000"}, "zip", "ZIP 00000 is not in the ZIP code list"),
    ({"name": "  "}, "name", "Give the site&#39;s name."),
    ({"state": ""}, "state", "Choose a state."),
    ({"phone": "call us"}, "phone", "is not a phone number"),
    ({"verified_on": "15/01/2025"}, "verified_on", "Give the date as YYYY-MM-DD"),
    ({"verified_on": (TODAY + timedelta(days=3)).isoformat()}, "verified_on", "cannot be in the future"),
]


def test_bad_input_gets_a_message_on_its_own_field_and_writes_nothing(sup, db):
    for change, field, message in BAD:
        resp = sup.post("/admin/sites/new", data={**GOOD, **change})
        html = resp.get_data(as_text=True)
        assert resp.status_code == 422, change
        assert message in html, (change, re.findall(r'class="(?:error|refusal)"[^>]*>([^<]+)', html))
        if field:
            assert f'id="{field}-error">' in html and message in html.split(f'id="{field}-error">', 1)[1][:300], change
    assert sites(db) == [] and actions(db) == []


def test_coordinates_typed_or_pasted_are_kept(sup, db):
    site_id = add(sup, lat="41.9214, -87.6513")                           # as a map app copies them
    [site] = sites(db)
    assert (site.lat, site.lon) == (41.9214, -87.6513) and (site.cell_lat, site.cell_lon) == (419, -877)
    assert actions(db)[0][1]["located"] == "coordinates"
    page = sup.get(f"/admin/sites/{site_id}").get_data(as_text=True)
    assert 'name="lat" type="text" value="41.9214"' in page                # shown, because not the ZIP's centre


# -- editing --------------------------------------------------------------------------------------

def test_an_edit_moves_the_site_and_recomputes_its_cell(sup, db):
    site_id = add(sup, city="Dayton", state="OH", zip="45402", address="100 Main St")
    before = sites(db)[0]
    page = sup.get(f"/admin/sites/{site_id}").get_data(as_text=True)
    assert 'name="lat" type="text" value=""' in page                      # the ZIP's centre: blank, moves with it
    assert NAME in lookup(sup, "NALOXONE 45402")
    resp = sup.post(f"/admin/sites/{site_id}", data={**GOOD, "name": NAME + " (moved)"})
    assert resp.status_code == 302
    [after] = sites(db)
    assert after.source_key == before.source_key and after.zip == "60614" and after.timezone == "America/Chicago"
    assert (after.cell_lat, after.cell_lon) == locator.cell_of(after.lat, after.lon) != (before.cell_lat, before.cell_lon)
    assert NAME + " (moved)" in lookup(sup, "NALOXONE 60614")
    assert NAME not in lookup(sup, "NALOXONE 45402")
    edit = actions(db)[-1]
    assert edit[0] == "site_edit" and {"lat", "lon", "zip", "city", "state", "name"} <= set(edit[1]["changed"])
    again = sup.post(f"/admin/sites/{site_id}", data={**GOOD, "name": NAME + " (moved)"})
    assert again.status_code == 302 and "Nothing changed." in sup.get(f"/admin/sites/{site_id}").get_data(as_text=True)
    assert len(actions(db)) == 2
    bad = sup.post(f"/admin/sites/{site_id}", data={**GOOD, "lat": "41.9", "lon": "-200"})
    assert bad.status_code == 422 and sites(db)[0].lon == after.lon


# -- hiding ---------------------------------------------------------------------------------------

def test_hiding_a_site_takes_it_out_of_texts_and_showing_brings_it_back(sup, db):
    site_id = add(sup)
    assert NAME in lookup(sup, "NALOXONE 60614")
    assert sup.post(f"/admin/sites/{site_id}/active", data={"active": "0"}).status_code == 302
    assert sites(db)[0].active is False
    out = lookup(sup, "NALOXONE 60614")
    assert NAME not in out and "pharmac" in out.lower()
    assert NAME in sup.get("/admin/sites?show=hidden").get_data(as_text=True)
    assert sup.post(f"/admin/sites/{site_id}/active", data={"active": "1"}).status_code == 302
    assert NAME in lookup(sup, "NALOXONE 60614")
    assert [a for a, _ in actions(db)] == ["site_create", "site_deactivate", "site_reactivate"]
    assert sup.post(f"/admin/sites/{site_id}/active", data={"active": "maybe"}).status_code == 400


def test_a_public_directory_row_is_read_only_but_can_be_hidden(sup, db):
    site_id = public_site(db)
    page = sup.get(f"/admin/sites/{site_id}").get_data(as_text=True)
    assert "public directory" in page and 'id="site-form"' not in page and "metadona" in page.lower()
    assert "Lakeview Methadone Clinic" not in sup.get("/admin/sites").get_data(as_text=True)     # program only
    assert "Lakeview Methadone Clinic" in sup.get("/admin/sites?show=all").get_data(as_text=True)
    assert sup.post(f"/admin/sites/{site_id}", data=GOOD).status_code == 403
    assert sites(db)[0].name == "Lakeview Methadone Clinic"
    assert "Lakeview Methadone Clinic" in lookup(sup, "TREATMENT 60614")
    assert sup.post(f"/admin/sites/{site_id}/active", data={"active": "0"}).status_code == 302
    assert "Lakeview Methadone Clinic" not in lookup(sup, "TREATMENT 60614")
    assert actions(db) == [("site_deactivate", {"site_id": site_id, "source": "otp"})]
    assert sup.get("/admin/sites/99999").status_code == 404


# -- the list -------------------------------------------------------------------------------------

def test_the_list_searches_filters_and_pages(sup, db):
    for i in range(60):
        public_site(db, f"Public Clinic {i:02d}", key=f"treatment:{i:04d}")
    public_site(db, "Dayton Public Clinic", zip5="45402", key="treatment:dayton")
    add(sup)
    add(sup, name="Dayton Naloxone Van", city="Dayton", state="OH", zip="45402")
    page = sup.get("/admin/sites").get_data(as_text=True)
    assert NAME in page and "Dayton Naloxone Van" in page and "Public Clinic" not in page and "Page 1 of 1" in page
    everything = sup.get("/admin/sites?show=all").get_data(as_text=True)
    assert "Page 1 of 2" in everything and everything.count('class="site') == 50
    second = sup.get("/admin/sites?show=all&page=2").get_data(as_text=True)
    assert second.count('class="site') == 13 and "Page 2 of 2" in second
    by_zip = sup.get("/admin/sites?show=all&q=45402").get_data(as_text=True)
    assert by_zip.count('class="site') == 2 and "Dayton Public Clinic" in by_zip
    by_city = sup.get("/admin/sites?show=all&q=Dayton, OH").get_data(as_text=True)
    assert by_city.count('class="site') == 1 and "Dayton Naloxone Van" in by_city   # the clinic is in Chicago
    assert sup.get("/admin/sites?show=all&q=dayton").get_data(as_text=True).count('class="site') == 2
    by_name = sup.get("/admin/sites?q=lakeview").get_data(as_text=True)
    assert by_name.count('class="site') == 1 and NAME in by_name
    assert sup.get("/admin/sites?show=all&q=100%25").get_data(as_text=True).count('class="site') == 0
    assert "No site matches" in sup.get("/admin/sites?q=nowhere").get_data(as_text=True)


# -- CSV ------------------------------------------------------------------------------------------

CSV = ("name,kinds,address,city,state,zip,lat,lon,phone,hours,timezone,notes,verified_on\n"
       "Uptown Naloxone Box,vending_machine,4600 N Broadway,Chicago,IL,60640,41.966,-87.657,,,,,2025-02-01\n"
       ",naloxone,1 Nowhere St,Chicago,IL,60614,41.92,-87.65,,,,,\n"
       "Far Away,naloxone,1 Main St,Chicago,IL,60614,0,0,,,,,\n"
       "Pizza Place,pizza,2 Main St,Chicago,IL,60614,41.92,-87.65,,,,,\n")


def upload(client, text: str, name="upload.csv", **data):
    return client.post("/admin/sites/import", content_type="multipart/form-data",
                       data={"layout": "local", **data, "file": (io.BytesIO(text.encode()), name)})


def test_a_csv_upload_shows_its_summary_and_every_rejected_line(sup, db):
    assert 'enctype="multipart/form-data"' in sup.get("/admin/sites/import").get_data(as_text=True)
    resp = upload(sup, CSV, "Program Sites.csv")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert "Program_Sites.csv: 1 added, 0 updated" in html and "3 rejected" in html
    assert "Program_Sites.csv:3: rejected: missing name" in html
    assert "Program_Sites.csv:4: rejected: coordinates are 0, 0 (not geocoded)" in html
    assert "Program_Sites.csv:5: rejected: unknown kind &#39;pizza&#39;" in html
    [site] = sites(db)
    assert site.source_key.startswith("local:") and site.kinds == "vending_machine"
    assert (site.cell_lat, site.cell_lon) == locator.cell_of(site.lat, site.lon)
    assert "Uptown Naloxone Box" in sup.get("/admin/sites").get_data(as_text=True)   # program-local
    assert sup.get(f"/admin/sites/{site.id}").get_data(as_text=True).count('id="site-form"') == 1
    again = upload(sup, CSV, "Program Sites.csv").get_data(as_text=True)
    assert "0 added, 0 updated" in again and len(sites(db)) == 1
    assert "Uptown Naloxone Box" in lookup(sup, "NALOXONE 60640")
    with db.session() as s:
        events = [e.detail for e in s.scalars(select(AuditEvent).where(AuditEvent.action == "sites_import"))]
    assert events[0] == {"file": "Program_Sites.csv", "layout": "local", "added": 1, "updated": 0, "rejected": 3}


def test_a_csv_in_another_layout_uses_a_column_map(sup, db):
    text = ("Site,Street,Town,ST,Zip,Y,X\n"
            "Pilsen Naloxone Machine,1800 S Blue Island Ave,Chicago,IL,60608,41.857,-87.661\n"
            "Swapped Point,1 Main St,Chicago,IL,60608,-87.661,41.857\n")
    bad = upload(sup, text, layout="map", spec="name=Site,lat=Y")
    assert bad.status_code == 422 and "The column map needs lon" in bad.get_data(as_text=True)
    wrong = upload(sup, text)                                   # the local layout: columns missing
    assert wrong.status_code == 422 and "missing columns" in wrong.get_data(as_text=True) and sites(db) == []
    spec = "name=Site,address=Street,city=Town,state=ST,zip=Zip,lat=Y,lon=X,kinds=vending_machine|naloxone"
    html = upload(sup, text, layout="map", spec=spec, verified_on="2025-03-01").get_data(as_text=True)
    assert "upload.csv: 2 added" in html and "upload.csv:3: note: latitude and longitude were swapped" in html
    assert {(s.source_key.split(":")[0], s.kinds, s.verified_on) for s in sites(db)} == {
        ("local", "vending_machine naloxone", date(2025, 3, 1))}
    empty = upload(sup, "")
    assert empty.status_code == 422 and "missing columns" in empty.get_data(as_text=True)
    no_file = sup.post("/admin/sites/import", data={"layout": "local"}, content_type="multipart/form-data")
    assert no_file.status_code == 422 and "Choose a CSV file" in no_file.get_data(as_text=True)


# -- who may ----------------------------------------------------------------------------------------

def test_a_peer_gets_403_and_changes_nothing(app, db, client):
    site_id = public_site(db)
    make_user(db, "luis@example.org", "peer", "Luis Ortega")
    login(client, "luis@example.org")
    for url in ("/admin/sites", "/admin/sites?show=all", "/admin/sites/new", f"/admin/sites/{site_id}",
                "/admin/sites/import"):
        assert client.get(url).status_code == 403, url
    assert client.post("/admin/sites/new", data=GOOD).status_code == 403
    assert client.post(f"/admin/sites/{site_id}", data=GOOD).status_code == 403
    assert client.post(f"/admin/sites/{site_id}/active", data={"active": "0"}).status_code == 403
    assert upload(client, CSV).status_code == 403
    assert [(s.name, s.active) for s in sites(db)] == [("Lakeview Methadone Clinic", True)] and actions(db) == []
    assert "/admin/sites" not in client.get("/inbox").get_data(as_text=True)
    anonymous = app.test_client()
    assert anonymous.get("/admin/sites").headers["Location"].startswith("/login")


def test_the_sites_tab_shows_in_the_console(sup):
    html = sup.get("/admin").get_data(as_text=True)
    assert 'href="/admin/sites"' in html
    assert 'href="/admin/sites" aria-current="page"' in sup.get("/admin/sites/new").get_data(as_text=True)


def test_csrf_is_enforced_on_every_sites_form(db_url):
    from tests import dbs
    from tests.conftest import make_test_app
    app = make_test_app(db_url, WTF_CSRF_ENABLED=True)
    database = app.extensions["homeward.db"]
    dbs.wipe(database.engine)
    make_user(database, "sam@example.org", "supervisor")
    site_id = public_site(database)
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)[1]
    client.post("/login", data={"email": "sam@example.org", "password": PASSWORD, "csrf_token": token})
    assert client.post("/admin/sites/new", data=GOOD).status_code == 400
    assert client.post(f"/admin/sites/{site_id}/active", data={"active": "0"}).status_code == 400
    assert upload(client, CSV).status_code == 400
    with database.session() as s:
        assert s.scalar(select(func.count()).select_from(Site)) == 1 and s.get(Site, site_id).active
    page = client.get("/admin/sites/new").get_data(as_text=True)
    token = re.search(r'id="csrf_token" name="csrf_token" type="hidden" value="([^"]+)"', page)[1]
    assert client.post("/admin/sites/new", data={**GOOD, "csrf_token": token}).status_code == 302
    page = client.get(f"/admin/sites/{site_id}").get_data(as_text=True)
    token = re.search(r'id="csrf_token" name="csrf_token" type="hidden" value="([^"]+)"', page)[1]
    assert client.post(f"/admin/sites/{site_id}/active", data={"active": "0", "csrf_token": token}).status_code == 302
    database.engine.dispose()
