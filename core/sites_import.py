"""Turn a public or program CSV of sites into clean `SiteRecord`s, pure (text in, rows out).

Why this is careful: the public files are as published. ZIPs lost their leading zeros (2134 for
02134), names shout in capitals, one file is Windows-1252 not UTF-8, some sites are listed twice,
territories sit far from the mainland, and a re-import must update rows rather than add copies.
Each data row ends as `Imported` (with a stable `source_key`) or `Reject(line, reason)`; fixes
worth a human's glance are `Notice(line, reason)`. The shell does the database writes.
"""
from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import re
from dataclasses import dataclass, field
from datetime import date
from typing import Iterator, Mapping

import phonenumbers

from core import places
from core.locator import KINDS, SiteRecord, haversine, norm_address, norm_name, valid_hours

CANONICAL = ("name", "kinds", "address", "city", "state", "zip", "lat", "lon", "phone", "hours",
             "timezone", "notes", "verified_on")
_JOIN = {"name": " - ", "address": ", "}


@dataclass(frozen=True)
class Preset:
    """Where each canonical field comes from: one or more source columns (joined), plus the
    kinds every row of this file offers."""
    name: str
    columns: Mapping[str, tuple[str, ...]]
    kinds: tuple[str, ...] = ()
    source: str = ""


PRESETS: dict[str, Preset] = {
    "otp": Preset("otp", {"name": ("ID",), "address": ("ADDRESS",), "city": ("CITY",),
                          "state": ("STATE",), "zip": ("POSTAL",), "lat": ("Latitude",),
                          "lon": ("Longitude",)},
                  ("otp", "buprenorphine", "treatment"), "SAMHSA OTP directory (OEPS, 2020-21)"),
    "treatment": Preset("treatment", {"name": ("name1", "name2"), "address": ("street1", "street2"),
                                      "city": ("city",), "state": ("state",), "zip": ("zip",),
                                      "lat": ("latitude",), "lon": ("longitude",)},
                        ("treatment",), "SAMHSA treatment locator (OEPS, 2020-21)"),
    "health_centers": Preset("health_centers", {"name": ("name",), "address": ("address",),
                                                "city": ("city",), "state": ("st_abbr",),
                                                "phone": ("phone",), "lat": ("lat",), "lon": ("lon",)},
                             ("health_center",), "HRSA health centers (OEPS, 2020-21)"),
    "local": Preset("local", {c: (c,) for c in CANONICAL}, (), "program"),
    # The invented sample sites (bot/content/sites/local_demo.csv): the program's layout, keyed
    # apart from a program's own rows so a real deploy can retire every one of them.
    "demo": Preset("demo", {c: (c,) for c in CANONICAL}, (), "demo data (invented)"),
}
KIND_ALIASES = {"methadone": "otp", "bupe": "buprenorphine", "suboxone": "buprenorphine",
                "syringe": "syringe_services", "ssp": "syringe_services", "vending": "vending_machine",
                "mail": "mail_order", "fqhc": "health_center", "narcan": "naloxone"}


def parse_map(spec: str, name: str = "custom") -> Preset:
    """--map "name=ID,address=street1+street2,...,kinds=naloxone|syringe_services".
    Values are column names ('+' joins several); `kinds` is a literal list, not a column."""
    columns: dict[str, tuple[str, ...]] = {}
    kinds: tuple[str, ...] = ()
    for part in filter(None, (p.strip() for p in spec.split(","))):
        key, sep, value = part.partition("=")
        key, value = key.strip().lower(), value.strip()
        if not sep or not value:
            raise ValueError(f"bad --map entry {part!r}: expected field=COLUMN")
        if key == "kinds":
            kinds = tuple(_kind(k) for k in re.split(r"[|;/ ]+", value) if k)
        elif key in CANONICAL:
            columns[key] = tuple(c.strip() for c in value.split("+"))
        else:
            raise ValueError(f"unknown field {key!r} in --map (fields: {', '.join(CANONICAL)})")
    missing = {"name", "lat", "lon"} - columns.keys()
    if missing:
        raise ValueError(f"--map needs {', '.join(sorted(missing))}")
    if not kinds and "kinds" not in columns:
        raise ValueError("--map needs kinds=KIND (or a kinds column)")
    return Preset(name, columns, kinds, name)


def _kind(word: str) -> str:
    k = KIND_ALIASES.get(word.strip().lower(), word.strip().lower())
    if k not in KINDS:
        raise ValueError(f"unknown kind {word!r} (kinds: {', '.join(KINDS)})")
    return k


# --- results --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Imported:
    line: int
    source_key: str        # preset + hash(normalised name, address, ZIP): re-imports update
    site: SiteRecord


@dataclass(frozen=True)
class Reject:
    line: int
    reason: str


@dataclass(frozen=True)
class Notice:
    line: int
    reason: str


@dataclass
class ImportResult:
    sites: list[Imported] = field(default_factory=list)
    rejects: list[Reject] = field(default_factory=list)
    notices: list[Notice] = field(default_factory=list)

    @property
    def duplicates(self) -> int:
        return sum(1 for r in self.rejects if r.reason.startswith("duplicate of line"))

    def summary(self, filename: str = "") -> str:
        bad = len(self.rejects) - self.duplicates
        return (f"{filename + ': ' if filename else ''}{len(self.sites)} imported, "
                f"{self.duplicates} duplicates skipped, {bad} rejected, "
                f"{len(self.notices)} notices")


def decode(data: bytes) -> str:
    """UTF-8 (with or without BOM), else Windows-1252: the OTP file is the latter."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252")


def count_rows(text: str) -> int:
    """Data rows, for a progress bar's total."""
    return max(0, sum(1 for _ in csv.reader(io.StringIO(text))) - 1)


def import_csv(text: str | bytes, preset: Preset | str,
               verified_on: date | None = None) -> ImportResult:
    """All rows at once (tests, small files); the CLI can iterate `iter_import` for progress."""
    result = ImportResult()
    for item in iter_import(text, preset, verified_on):
        {Imported: result.sites, Reject: result.rejects, Notice: result.notices}[type(item)].append(item)
    return result


def iter_import(text: str | bytes, preset: Preset | str,
                verified_on: date | None = None) -> Iterator[Imported | Reject | Notice]:
    """One Imported or Reject per data row (Notices come just before their row's result).
    Raises ValueError before any row when the header lacks the preset's columns."""
    p = PRESETS[preset] if isinstance(preset, str) else preset
    reader = csv.reader(io.StringIO(decode(text) if isinstance(text, bytes) else text))
    header = [h.strip() for h in next(reader, [])]
    pos = {h: i for i, h in enumerate(header)}
    required = {"name", "lat", "lon"} | ({"kinds"} if not p.kinds else set())
    cols = {k: v for k, v in p.columns.items() if k in required or all(c in pos for c in v)}
    missing = [c for k in required for c in p.columns.get(k, (k,)) if c not in pos]
    if missing:
        raise ValueError(f"missing columns for preset {p.name!r}: {', '.join(missing)}")
    seen_key: dict[tuple[str, str, str], int] = {}
    seen_name: dict[str, list[tuple[float, float, int]]] = {}
    seen_spot: dict[tuple[float, float], dict[str, int]] = {}
    line = reader.line_num
    for row in reader:
        start, line = line + 1, reader.line_num
        if not any(c.strip() for c in row):
            continue
        raw = {k: _join(k, [row[pos[c]] if pos[c] < len(row) else "" for c in v])
               for k, v in cols.items()}
        warnings: list[str] = []
        out = _clean(raw, p, verified_on, warnings)
        yield from (Notice(start, w) for w in warnings)
        if isinstance(out, str):
            yield Reject(start, out)
            continue
        site = out
        key = (norm_name(site.name), norm_address(site.address), site.zip)
        dup = seen_key.get(key)
        if dup is None:
            for lat, lon, ln in seen_name.get(key[0], ()):
                if haversine(lat, lon, site.lat, site.lon) * 1609.344 <= 30:
                    dup = ln
                    break
        if dup is not None:
            yield Reject(start, f"duplicate of line {dup}")
            continue
        seen_key[key] = start
        seen_name.setdefault(key[0], []).append((site.lat, site.lon, start))
        spot, street = seen_spot.setdefault((site.lat, site.lon), {}), street_key(site.address)
        spot.setdefault(street, start)
        if len(spot) == 3 and spot[street] == start:   # American Samoa: six clinics, one point
            first, second = list(spot.values())[:2]
            yield Notice(start, f"same coordinates as lines {first} and {second} at other "
                                "addresses: a placeholder geocode? distances may be wrong")
        yield Imported(start, source_key(p.name, site), site)


_UNIT = re.compile(r"\b(ste|suite|unit|fl|floor|bldg|building|rm|room|apt|box)\b.*"
                   r"|\b\d+(st|nd|rd|th) fl.*")


def street_key(address: str) -> str:
    """The street part of an address, without suite, floor or building: one building."""
    return _UNIT.sub("", norm_address(address.split(",")[0])).strip()


def source_key(preset: str, site: SiteRecord) -> str:
    digest = hashlib.sha1("|".join((norm_name(site.name), norm_address(site.address),
                                    site.zip)).encode()).hexdigest()[:20]
    return f"{preset}:{digest}"


def _join(field_name: str, parts: list[str]) -> str:
    parts = [" ".join(p.split()) for p in parts if p and p.strip()]
    if field_name == "name" and len(parts) > 1:
        parts = [parts[0]] + [re.sub(r"^(dba|aka)\s+", "", x, flags=re.I) for x in parts[1:]]
    return _JOIN.get(field_name, " ").join(parts)


# --- one row --------------------------------------------------------------------------------
_US_BOXES = (  # (lat_lo, lat_hi, lon_lo, lon_hi), generous by ~0.5 degrees
    (24.0, 49.6, -125.0, -66.5),        # lower 48
    (51.0, 71.8, -180.0, -129.5),       # Alaska
    (51.0, 53.5, 172.0, 180.0),         # Aleutians west of the 180th meridian
    (18.5, 22.6, -160.6, -154.5),       # Hawaii
    (17.5, 18.8, -68.0, -64.3),         # Puerto Rico, US Virgin Islands
    (13.0, 20.8, 144.4, 146.3),         # Guam, Northern Mariana Islands
    (-14.8, -10.8, -171.3, -168.0),     # American Samoa
)


def in_us(lat: float, lon: float) -> bool:
    return any(a <= lat <= b and c <= lon <= d for a, b, c, d in _US_BOXES)


def _coords(raw: Mapping[str, str], warnings: list[str]) -> tuple[float, float] | str:
    try:
        lat, lon = float(raw.get("lat", "")), float(raw.get("lon", ""))
    except ValueError:
        return f"coordinates not numbers: lat={raw.get('lat')!r} lon={raw.get('lon')!r}"
    if not (math.isfinite(lat) and math.isfinite(lon)) or abs(lat) > 90 or abs(lon) > 180:
        return f"coordinates out of range: {lat}, {lon}"
    if lat == 0 and lon == 0:
        return "coordinates are 0, 0 (not geocoded)"
    if in_us(lat, lon):
        return round(lat, 6), round(lon, 6)
    if in_us(lon, lat):
        warnings.append(f"latitude and longitude were swapped ({lat}, {lon}); fixed")
        return round(lon, 6), round(lat, 6)
    return f"coordinates outside the US and territories: {lat}, {lon}"


def _zip(value: str, state: str, warnings: list[str]) -> str:
    v = value.strip()
    m = re.fullmatch(r"(\d{3,5})(?:-?\d{4})?", v)
    if not v:
        return ""
    if not m:
        warnings.append(f"ZIP {v!r} is not a ZIP code; left blank")
        return ""
    z = m.group(1).zfill(5)                     # 2134 -> 02134 (MA), 601 -> 00601 (PR)
    info = places.zip_info(z)
    if info and info["state"] != state and state:
        warnings.append(f"ZIP {z} is in {info['state']}, not {state}")
    return z


def format_phone(value: str) -> tuple[str, str | None]:
    """(937) 555-0101 [x12] and a warning for an extension that looks wrong (dropped); ValueError
    when it is not a phone number. Shared with the admin site form."""
    m = re.match(r"^(.*?)\s*(?:x|ext\.?|extension)\s*(\d+)\s*$", value.strip(), flags=re.I)
    main, ext = (m.group(1), m.group(2)) if m else (value.strip(), "")
    try:
        n = phonenumbers.parse(main, "US")
    except phonenumbers.NumberParseException:
        n = None
    if n is None or not phonenumbers.is_possible_number(n):
        raise ValueError(f"'{value.strip()}' is not a phone number: write it like (937) 555-0101")
    text = phonenumbers.format_number(n, phonenumbers.PhoneNumberFormat.NATIONAL)
    if ext and len(ext) > 6:
        return text, f"phone extension {ext!r} looks wrong; dropped"
    return (f"{text} x{ext}" if ext else text), None


def _phone(value: str, warnings: list[str]) -> str:
    if not value.strip():
        return ""
    try:
        text, warning = format_phone(value)
    except ValueError:
        warnings.append(f"phone {value.strip()!r} is not a phone number; left blank")
        return ""
    if warning:
        warnings.append(warning)
    return text


def _clean(raw: Mapping[str, str], p: Preset, verified_on: date | None,
           warnings: list[str]) -> SiteRecord | str:
    name = tidy(raw.get("name", ""))[:200]
    if not name:
        return "missing name"
    state = raw.get("state", "").strip().upper()
    if state and state not in places.STATES:
        return f"unknown state {state!r}"
    coords = _coords(raw, warnings)
    if isinstance(coords, str):
        return coords
    lat, lon = coords
    if p.kinds:
        kinds = p.kinds
    else:
        try:
            kinds = tuple(dict.fromkeys(_kind(k) for k in re.split(r"[|;,/ ]+", raw.get("kinds", "")) if k))
        except ValueError as e:
            return str(e)
        if not kinds:
            return "no kinds (naloxone, syringe_services, treatment, ...)"
    zip5 = _zip(raw.get("zip", ""), state, warnings)
    info = places.zip_info(zip5) if zip5 else None
    centroid = places.zip_point(zip5) if info else None
    if centroid and haversine(lat, lon, *centroid) > 100:
        warnings.append(f"coordinates are {haversine(lat, lon, *centroid):.0f} miles from ZIP {zip5}")
    hours = None
    if raw.get("hours", "").strip():
        try:
            hours = json.loads(raw["hours"])
        except ValueError:
            hours = None
        if not valid_hours(hours):
            warnings.append(f"hours {raw['hours'][:60]!r} not understood; left out")
            hours = None
    tz = raw.get("timezone", "").strip() or None
    if tz is None:
        tz = (info or {}).get("timezone") if "/" in (info or {}).get("timezone", "") else None
        tz = tz or places.timezone_at(lat, lon)
    verified = verified_on
    if raw.get("verified_on", "").strip():
        try:
            verified = date.fromisoformat(raw["verified_on"].strip())
        except ValueError:
            warnings.append(f"verified_on {raw['verified_on']!r} is not YYYY-MM-DD; ignored")
    return SiteRecord(None, name, kinds, tidy(raw.get("address", ""))[:200],
                      tidy(raw.get("city", ""))[:100], state, zip5, lat, lon,
                      _phone(raw.get("phone", ""), warnings), hours, tz,
                      " ".join(raw.get("notes", "").split()), p.source[:60], verified)


# --- title case for SHOUTING ----------------------------------------------------------------
_UPPER = {"llc", "pllc", "llp", "lp", "pc", "usa", "us", "va", "hiv", "aids", "chc", "fqhc", "otp",
          "mat", "ii", "iii", "iv", "vi", "vii", "viii", "dba", "ymca", "ywca", "md", "do", "nw",
          "ne", "sw", "se", "po", "sud", "mh", "bh", "aa", "na", "cna", "rn", "np", "ucla", "ucsf",
          "hud", "ihs", "kchc", "aschc", "fmc", "mhmr"}
_ROMAN = re.compile(r"(?=[IVXL]{2})(X[L]|L?X{0,3})(I[XV]|V?I{0,3})")
_LOWER = {"of", "and", "the", "for", "at", "in", "on", "de", "del", "la", "las", "los", "y", "to", "a"}
_ABBR = {"ctr", "hlth", "svcs", "svc", "st", "rd", "dr", "blvd", "ste", "hwy", "pkwy", "ln", "ct",
         "pl", "fl", "bldg", "mgmt", "dept", "natl", "cntr", "cmty", "jr", "sr", "mt", "ft", "sq",
         "apt", "rm", "ctrs", "hq", "wy", "trt", "cty", "twp", "mktg", "schl", "bhvl"}


def tidy(text: str) -> str:
    """Collapse spaces; title-case only text that shouts (no lowercase letters at all)."""
    t = re.sub(r"\.{2,}$", "", " ".join((text or "").split())).strip(" ,")
    if not re.search(r"[A-Z]{3}", t) or re.search(r"[a-z]", t):
        return t
    words = t.split(" ")
    return " ".join(_word(w, i == 0) for i, w in enumerate(words))


def _word(word: str, first: bool) -> str:
    if "-" in word.strip("-"):
        return "-".join(_word(w, first and i == 0) for i, w in enumerate(word.split("-")))
    core = word.strip(".,()/&'\"")
    low = core.lower()
    if not core or not re.search(r"[A-Za-z]", core):
        return word
    if re.fullmatch(r"(?:[A-Z]\.)+[A-Z]?\.?", core) or low in _UPPER or _ROMAN.fullmatch(core):
        return word                                        # B.N.J., LLC, BHG LXIX
    if re.fullmatch(r"\d+(st|nd|rd|th)", low):
        return word.lower()                                # 1ST -> 1st
    if low in _LOWER and not first:
        return word.lower()
    if low not in _ABBR and not re.search(r"[aeiouy]", low) and len(low) <= 4:
        return word                                        # BHG, MHMR: probably initials
    out = word.lower()
    out = re.sub(r"[a-z]", lambda m: m.group(0).upper(), out, count=1)
    if low.startswith("mc") and len(low) > 3:
        i = out.lower().find("mc") + 2
        out = out[:i] + out[i].upper() + out[i + 1:]
    out = re.sub(r"\b([OD])'([a-z])", lambda m: f"{m.group(1)}'{m.group(2).upper()}", out)
    return out
