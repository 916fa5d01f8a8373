"""The three real public files (as published) and the program's own CSV import cleanly."""
import functools
import json
from pathlib import Path

import pytest

from core import sites_import as si
from core.locator import valid_hours

SITES = Path(__file__).resolve().parents[2] / "bot" / "content" / "sites"
REAL = {"otp": "opioid_treatment_programs.csv", "treatment": "substance_use_treatment.csv",
        "health_centers": "health_centers.csv"}


@functools.cache
def imported(preset: str) -> si.ImportResult:
    return si.import_csv((SITES / REAL[preset]).read_bytes(), preset)


@pytest.mark.parametrize("preset, rows, sites, dups, rejected", [
    ("otp", 1831, 1830, 1, 0),
    ("treatment", 14034, 13997, 37, 0),
    ("health_centers", 13577, 13480, 97, 0),
])
def test_real_file_summary(preset, rows, sites, dups, rejected):
    r = imported(preset)
    assert si.count_rows(si.decode((SITES / REAL[preset]).read_bytes())) == rows
    assert (len(r.sites), r.duplicates, len(r.rejects) - r.duplicates) == (sites, dups, rejected)
    assert len(r.sites) + len(r.rejects) == rows          # every row is accounted for
    assert r.summary(REAL[preset]).startswith(f"{REAL[preset]}: {sites} imported, {dups} duplicates")


def test_every_site_is_clean():
    for preset in REAL:
        for item in imported(preset).sites:
            s = item.site
            assert s.name and s.name == s.name.strip() and len(s.name) <= 200
            assert s.state.isupper() and len(s.state) == 2
            assert s.zip == "" or (len(s.zip) == 5 and s.zip.isdigit())
            assert si.in_us(s.lat, s.lon)
            assert s.timezone and "/" in s.timezone
            assert set(s.kinds) == set(si.PRESETS[preset].kinds)
            assert len(s.phone) <= 40 and len(s.source) <= 60 and len(item.source_key) <= 80


def test_leading_zero_zips_are_restored():
    by_line = {i.line: i.site for i in imported("otp").sites}
    assert by_line[5].zip == "08879" and by_line[5].state == "NJ"   # POSTAL was 8879
    zeros = [i.site for p in ("otp", "treatment") for i in imported(p).sites
             if i.site.state in {"CT", "MA", "ME", "NH", "NJ", "RI", "VT", "PR"}]
    assert len(zeros) > 1000 and all(s.zip.startswith("0") for s in zeros)
    pr = [i.site for i in imported("treatment").sites if i.site.state == "PR"]
    assert pr and all(s.zip.startswith("00") for s in pr)      # 601 -> 00601


def test_zip_plus_four_is_stripped():
    raw = si.decode((SITES / REAL["otp"]).read_bytes())
    assert raw.count("-") and "75711-6367" in raw
    assert any(i.site.zip == "75711" for i in imported("otp").sites)


def test_territories_are_kept_with_their_time_zones():
    hc = [i.site for i in imported("health_centers").sites]
    zones = {s.state: s.timezone for s in hc if s.state in {"GU", "MP", "AS", "VI", "PR"}}
    assert zones == {"GU": "Pacific/Guam", "MP": "Pacific/Saipan", "AS": "Pacific/Pago_Pago",
                     "VI": "America/St_Thomas", "PR": "America/Puerto_Rico"}


def test_windows_1252_file_is_decoded():
    names = [i.site.name for i in imported("otp").sites]
    assert any(n.startswith("Clínica de Tratamiento") for n in names)


def test_shouting_names_are_title_cased_sensibly():
    names = {i.site.name for i in imported("health_centers").sites}
    assert "Southern Region Comm Health Ctr" in names
    assert "Ho'ola Lahui Hawai'i" in names
    assert any(n.startswith("La Clínica ") for n in names)                  # UTF-8 kept
    assert si.tidy("BHG LXIX, LLC") == "BHG LXIX, LLC"
    assert si.tidy("B.N.J. HEALTH SERVICES, INC.") == "B.N.J. Health Services, Inc."
    assert si.tidy("2 MCDOWELL STREET") == "2 McDowell Street"
    assert si.tidy("1ST STREET CLINIC OF THE NW") == "1st Street Clinic of the NW"
    assert si.tidy("Mixed Case Stays As Is LLC") == "Mixed Case Stays As Is LLC"


def test_phones_are_readable():
    by_line = {i.line: i.site for i in imported("health_centers").sites}
    assert by_line[2].phone == "(671) 828-7501"
    assert any(i.site.phone.endswith(" x1501") for i in imported("health_centers").sites)
    notes = {n.line: n.reason for n in imported("health_centers").notices}
    assert "not a phone number" in notes[8746]


def test_warnings_point_at_lines():
    notes = [(n.line, n.reason) for n in imported("otp").notices]
    assert (540, "ZIP 05457 is in VT, not CT") in notes       # a lost zero that was a typo too
    hc = {n.line: n.reason for n in imported("health_centers").notices}
    assert "placeholder geocode" in hc[8]                     # six American Samoa clinics, one point


def test_source_keys_are_unique_and_stable():
    for preset in REAL:
        keys = [i.source_key for i in imported(preset).sites]
        assert len(set(keys)) == len(keys) and all(k.startswith(preset + ":") for k in keys)
    again = si.import_csv((SITES / REAL["otp"]).read_bytes(), "otp")
    assert [i.source_key for i in again.sites] == [i.source_key for i in imported("otp").sites]


def test_reimport_with_changed_details_keeps_the_key():
    a = si.import_csv(CSV_HEAD + 'Site A,naloxone,1 Main St,Dayton,OH,45402,39.75,-84.19,937-555-0100,,,,\n', "local")
    b = si.import_csv(CSV_HEAD + 'SITE A,naloxone;syringe,1 Main Street,Dayton,oh,45402-1234,39.7501,-84.19,937-555-0199,,,,\n', "local")
    assert a.sites[0].source_key == b.sites[0].source_key
    assert b.sites[0].site.phone == "(937) 555-0199"


CSV_HEAD = "name,kinds,address,city,state,zip,lat,lon,phone,hours,timezone,notes,verified_on\n"


def test_bad_rows_are_rejected_with_line_numbers():
    text = CSV_HEAD + "\n".join([
        'Good,naloxone,1 A St,Dayton,OH,45402,39.75,-84.19,,,,,',          # 2
        ',naloxone,1 A St,Dayton,OH,45402,39.75,-84.19,,,,,',              # 3 no name
        'Zero,naloxone,1 A St,Dayton,OH,45402,0,0,,,,,',                   # 4
        'Paris,naloxone,1 Rue,Paris,OH,,48.85,2.35,,,,,',                  # 5 outside
        'Words,naloxone,1 A St,Dayton,OH,45402,north,west,,,,,',           # 6
        'Range,naloxone,1 A St,Dayton,OH,45402,139.75,-84.19,,,,,',        # 7
        'State,naloxone,1 A St,Dayton,ZZ,45402,39.75,-84.19,,,,,',         # 8
        'Kind,pizza,1 A St,Dayton,OH,45402,39.75,-84.19,,,,,',             # 9
        '"Multi\nLine",naloxone,2 A St,Dayton,OH,45402,39.76,-84.19,,,,,',  # 10-11
        'Swapped,naloxone,3 A St,Dayton,OH,45402,-84.19,39.77,,,,,',       # 12
        'Good,naloxone,1 A St.,Dayton,OH,45402,39.75,-84.19,,,,,',         # 13 dup of 2
        'Good,naloxone,9 Other St,Dayton,OH,45402,39.75001,-84.19001,,,,,',  # 14 dup: 2 m away
        'NoKinds,,1 A St,Dayton,OH,45402,39.75,-84.19,,,,,',               # 15
    ]) + "\n"
    r = si.import_csv(text, "local")
    rejects = {x.line: x.reason for x in r.rejects}
    assert [i.line for i in r.sites] == [2, 10, 12]
    assert rejects[3] == "missing name"
    assert "0, 0" in rejects[4] and "outside the US" in rejects[5]
    assert "not numbers" in rejects[6] and "out of range" in rejects[7]
    assert "unknown state" in rejects[8] and "unknown kind" in rejects[9]
    assert rejects[13] == rejects[14] == "duplicate of line 2"
    assert "no kinds" in rejects[15]
    swapped = r.sites[2].site
    assert (swapped.lat, swapped.lon) == (39.77, -84.19)
    assert any(n.line == 12 and "swapped" in n.reason for n in r.notices)


def test_local_demo_file():
    r = si.import_csv((SITES / "local_demo.csv").read_bytes(), "local")
    assert (len(r.sites), len(r.rejects), len(r.notices)) == (6, 0, 0)
    kinds = {k for i in r.sites for k in i.site.kinds}
    assert {"naloxone", "syringe_services", "vending_machine", "mail_order"} <= kinds
    for i in r.sites:
        assert i.site.name.startswith("DEMO ") and "Demo data" in i.site.notes
        assert valid_hours(i.site.hours) and i.site.verified_on and i.source_key.startswith("local:")


def test_bad_hours_are_a_notice_not_a_reject():
    text = CSV_HEAD + 'H,naloxone,1 A St,Dayton,OH,45402,39.75,-84.19,,"{""mon"": [[""9am"", ""5pm""]]}",,,\n'
    r = si.import_csv(text, "local")
    assert len(r.sites) == 1 and r.sites[0].site.hours is None
    assert "not understood" in r.notices[0].reason
    good = json.dumps({"mon": [["09:00", "17:00"]], "sat": [["22:00", "02:00"]]}).replace('"', '""')
    r = si.import_csv(CSV_HEAD + f'H,naloxone,1 A St,Dayton,OH,45402,39.75,-84.19,,"{good}",,,\n', "local")
    assert r.sites[0].site.hours["sat"] == [["22:00", "02:00"]]


def test_map_spec():
    p = si.parse_map("name=ID,address=ADDRESS,city=CITY,state=STATE,zip=POSTAL,"
                     "lat=Latitude,lon=Longitude,kinds=naloxone|vending", name="county")
    assert p.kinds == ("naloxone", "vending_machine")
    r = si.import_csv((SITES / REAL["otp"]).read_bytes(), p)
    assert len(r.sites) == 1830 and r.sites[0].source_key.startswith("county:")
    joined = si.parse_map("name=name1+name2,address=street1+street2,lat=latitude,lon=longitude,kinds=treatment")
    assert joined.columns["address"] == ("street1", "street2")
    for bad in ("name=ID", "name=ID,lat=Latitude,lon=Longitude", "nme=ID,lat=a,lon=b,kinds=naloxone",
                "name=ID,lat=a,lon=b,kinds=pizza", "name,lat=a,lon=b,kinds=naloxone"):
        with pytest.raises(ValueError):
            si.parse_map(bad)


def test_missing_columns_fail_before_any_row():
    with pytest.raises(ValueError, match="Latitude"):
        list(si.iter_import("ID,ADDRESS\nx,y\n", "otp"))


def test_treatment_names_join_name2_and_drop_dba():
    names = {i.site.name for i in imported("treatment").sites}
    assert "AIDS Action Coalition - Thrive Alabama" in names
    assert any(n.startswith("Aletheia House - ") for n in names)
