"""Nearest useful places for a need, as SMS text: pure, so it is tested without a database.

The shell injects `fetch_candidates(cells)`: one indexed query over the integer grid columns
(`cell_lat`, `cell_lon`), so no request ever scans every site. Everything else here (what a
word asks for, distance, open now in the site's own time zone, paging, two-segment texts, the
national fallbacks when nothing is near) is a function of its arguments; `now` included.
"""
from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass, replace
from datetime import date, datetime, timezone
from typing import Any, Callable, Iterable, Mapping, Sequence
from zoneinfo import ZoneInfo

from core import places
from core.services import LocateResult
from core.sms import GSM7_BASIC, GSM7_EXTENDED, count_segments, fits

# --- vocabulary -----------------------------------------------------------------------------
KINDS = ("naloxone", "syringe_services", "treatment", "otp", "buprenorphine", "health_center",
         "vending_machine", "mail_order")
# A need is what the person asked for; it is met by any of these site kinds.
NEEDS: dict[str, frozenset[str]] = {
    "naloxone": frozenset({"naloxone", "vending_machine", "syringe_services"}),
    "syringe_services": frozenset({"syringe_services"}),
    "treatment": frozenset({"treatment", "otp", "buprenorphine"}),
    "methadone": frozenset({"otp"}),
    "buprenorphine": frozenset({"buprenorphine", "otp"}),
    "health_center": frozenset({"health_center"}),
    "vending_machine": frozenset({"vending_machine"}),
    "mail_order": frozenset({"mail_order"}),
    "any": frozenset(KINDS),
}
# Words (en + es, accents stripped by places.normalize) -> need. Earlier needs win a tie, so
# "narcan vending machine" is a machine and "methadone treatment" is methadone.
NEED_WORDS: dict[str, tuple[str, ...]] = {
    "mail_order": ("by mail", "mail order", "mailed", "in the mail", "por correo", "correo"),
    "vending_machine": ("vending", "machine", "maquina", "maquina expendedora", "expendedora"),
    "methadone": ("methadone", "metadona", "otp", "opioid treatment program"),
    "buprenorphine": ("buprenorphine", "suboxone", "subutex", "sublocade", "bupe", "bup",
                      "zubsolv", "buprenorfina"),
    "syringe_services": ("syringe", "syringes", "needle", "needles", "needle exchange", "ssp",
                         "harm reduction", "clean supplies", "jeringa", "jeringas", "agujas",
                         "intercambio de jeringas", "reduccion de danos"),
    "naloxone": ("naloxone", "narcan", "narcan", "kloxxado", "zimhi", "naloxona", "nalaxone",
                 "naloxon", "overdose kit", "kit de sobredosis"),
    "health_center": ("health center", "clinic", "doctor", "fqhc", "clinica", "centro de salud",
                      "medico"),
    "treatment": ("treatment", "rehab", "detox", "recovery", "counseling", "mat", "moud",
                  "tratamiento", "rehabilitacion", "desintoxicacion", "recuperacion"),
}
ALL_NEED_WORDS = frozenset(w for ws in NEED_WORDS.values() for p in ws for w in p.split()) | {
    "more", "mas", "find", "nearest", "closest", "cercano", "cercana", "busco", "necesito",
    "quiero", "donde", "get", "sites", "site", "places", "place", "lugar", "lugares", "for",
    "para", "un", "una", "open", "abierto"}


def need_from_text(text: str | None) -> str | None:
    """The need a message asks for ("narcan near 60614" -> naloxone), or None."""
    words = f" {places.normalize(text or '')} "
    for need, phrases in NEED_WORDS.items():
        if any(f" {p} " in words for p in phrases):
            return need
    return None


# --- distance and the grid ------------------------------------------------------------------
EARTH_MILES = 3958.8
CELL_DEG = 0.1            # ~7 mi of latitude; bench/locator.py compared 0.5, 0.25, 0.2 and 0.1


def haversine(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in miles."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = (math.sin((p2 - p1) / 2) ** 2 +
         math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2)
    return 2 * EARTH_MILES * math.asin(min(1.0, math.sqrt(a)))


def cell_of(lat: float, lon: float) -> tuple[int, int]:
    """The (cell_lat, cell_lon) integers stored beside each site and indexed together."""
    return (min(math.floor(lat / CELL_DEG), int(90 / CELL_DEG) - 1),
            min(math.floor(lon / CELL_DEG), int(180 / CELL_DEG) - 1))


@dataclass(frozen=True)
class Cells:
    """Every cell a circle touches, as SQL the (cell_lat, cell_lon) index can seek:
    cell_lat IN (lat_lo..lat_hi) AND (cell_lon BETWEEN lo AND hi [OR ...]); two lon ranges only
    across the 180th meridian. `kinds`: the shell may also keep only sites with one of these
    kinds (rank filters again, so it is an optimisation, not a contract)."""
    lat_lo: int
    lat_hi: int
    lon_ranges: tuple[tuple[int, int], ...]
    kinds: tuple[str, ...] = ()

    def lat_values(self) -> list[int]:
        return list(range(self.lat_lo, self.lat_hi + 1))

    def __contains__(self, cell: tuple[int, int]) -> bool:
        return (self.lat_lo <= cell[0] <= self.lat_hi and
                any(lo <= cell[1] <= hi for lo, hi in self.lon_ranges))

    def keys(self) -> Iterable[tuple[int, int]]:
        for cl in range(self.lat_lo, self.lat_hi + 1):
            for lo, hi in self.lon_ranges:
                for cn in range(lo, hi + 1):
                    yield cl, cn


def cells_around(lat: float, lon: float, radius_miles: float) -> Cells:
    """The exact bounding box of a spherical cap, in cells (so the prefilter never misses)."""
    d = radius_miles / EARTH_MILES
    lat_lo = cell_of(max(-90.0, lat - math.degrees(d)), 0)[0]
    lat_hi = cell_of(min(89.999, lat + math.degrees(d)), 0)[0]
    cos_lat = math.cos(math.radians(lat))
    lo_all, hi_all = cell_of(0, -180)[1], cell_of(0, 180)[1]
    if math.sin(d) >= cos_lat or abs(lat) + math.degrees(d) >= 90:
        return Cells(lat_lo, lat_hi, ((lo_all, hi_all),))
    dlon = math.degrees(math.asin(math.sin(d) / cos_lat))
    west, east = lon - dlon, lon + dlon
    if west < -180:
        ranges = ((cell_of(0, west + 360)[1], hi_all), (lo_all, cell_of(0, east)[1]))
    elif east > 180:
        ranges = ((cell_of(0, west)[1], hi_all), (lo_all, cell_of(0, east - 360)[1]))
    else:
        ranges = ((cell_of(0, west)[1], cell_of(0, east)[1]),)
    return Cells(lat_lo, lat_hi, ranges)


# --- sites ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class SiteRecord:
    id: int | None
    name: str
    kinds: tuple[str, ...]
    address: str
    city: str
    state: str
    zip: str
    lat: float
    lon: float
    phone: str = ""
    hours: Mapping[str, Any] | None = None    # {"mon": [["09:00", "17:00"]]}; no key: closed
    timezone: str | None = None
    notes: str = ""
    source: str = ""
    verified_on: date | None = None


class GridIndex:
    """An in-memory `fetch_candidates` (tests, bench, terminal sandbox): sites by cell."""

    def __init__(self, sites: Iterable[SiteRecord]):
        self.cells: dict[tuple[int, int], list[SiteRecord]] = {}
        for s in sites:
            self.cells.setdefault(cell_of(s.lat, s.lon), []).append(s)

    def __call__(self, cells: Cells) -> list[SiteRecord]:
        kinds = set(cells.kinds)
        return [s for key in cells.keys() for s in self.cells.get(key, ())
                if not kinds or not kinds.isdisjoint(s.kinds)]


_ADDR_WORDS = {"street": "st", "avenue": "ave", "road": "rd", "boulevard": "blvd", "drive": "dr",
               "suite": "ste", "highway": "hwy", "north": "n", "south": "s", "east": "e",
               "west": "w", "lane": "ln", "place": "pl", "court": "ct", "parkway": "pkwy",
               "building": "bldg", "floor": "fl", "route": "rt", "saint": "st"}


def norm_name(text: str) -> str:
    return " ".join(re.sub(r"[^a-z0-9]+", " ", _fold_ascii(text).lower()).split())


def norm_address(text: str) -> str:
    return " ".join(_ADDR_WORDS.get(w, w) for w in norm_name(text).split())


def same_site(a: SiteRecord, b: SiteRecord, metres: float = 30) -> bool:
    """One place listed twice (within a file, or in two sources): same name and address and
    ZIP, or same name within `metres`, or same street address and ZIP within 100 m."""
    close = haversine(a.lat, a.lon, b.lat, b.lon) * 1609.344
    same_addr = bool(a.address) and norm_address(a.address) == norm_address(b.address) and a.zip == b.zip
    same_name = norm_name(a.name) == norm_name(b.name)
    return (same_name and (same_addr or close <= metres)) or (same_addr and close <= 100)


# --- hours ----------------------------------------------------------------------------------
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DAY_NAMES = {"en": ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"),
              "es": ("lun", "mar", "mié", "jue", "vie", "sáb", "dom")}


def _minutes(hhmm: str) -> int:
    h, m = hhmm.split(":")
    return int(h) * 60 + int(m)


def valid_hours(hours: Any) -> bool:
    """Structured hours: day keys mon..sun, each a list of ["HH:MM", "HH:MM"] (24:00 allowed;
    a close before the open runs past midnight)."""
    if not isinstance(hours, Mapping) or not hours or set(hours) - set(DAYS):
        return False
    try:
        return all(0 <= _minutes(o) < 1440 and 0 < _minutes(c) <= 1440 and _minutes(o) != _minutes(c)
                   for spans in hours.values() for o, c in spans)
    except (TypeError, ValueError):
        return False


def _spans(hours: Mapping[str, Any], day: int) -> list[tuple[int, int]]:
    """Minute spans for a day index, overnight spans extended past 1440."""
    out = []
    for o, c in hours.get(DAYS[day % 7], ()):
        a, b = _minutes(o), _minutes(c)
        out.append((a, b if b > a else b + 1440))
    return out


@dataclass(frozen=True)
class OpenNow:
    """Open now, judged in the site's own zone. is_open None: no structured hours."""
    is_open: bool | None
    until: str | None = None           # "5pm", or "24/7"
    next_day: int | None = None        # when closed: weekday index (0 = Monday) ...
    next_time: str | None = None       # ... and time of the next opening, "9am"


def open_status(site: SiteRecord, now: datetime) -> OpenNow:
    """Whether the site is open at `now` (aware; naive is taken as UTC) in its time zone."""
    if not site.hours or not valid_hours(site.hours):
        return OpenNow(None)
    tz = site.timezone or places.timezone_at(site.lat, site.lon)
    if not tz:
        return OpenNow(None)
    local = (now if now.tzinfo else now.replace(tzinfo=timezone.utc)).astimezone(ZoneInfo(tz))
    wd, minute = local.weekday(), local.hour * 60 + local.minute
    for back in (0, 1):                              # today's spans, then yesterday's overnight
        for a, b in _spans(site.hours, wd - back):
            if a <= minute + back * 1440 < b:
                return OpenNow(True, "24/7" if _is_247(site.hours) else _clock(b))
    for ahead in range(0, 8):
        for a, _ in sorted(_spans(site.hours, wd + ahead)):
            if ahead or a > minute:
                return OpenNow(False, None, (wd + ahead) % 7, _clock(a))
    return OpenNow(False)


def _is_247(hours: Mapping[str, Any]) -> bool:
    return all(_spans(hours, d) == [(0, 1440)] for d in range(7))


def _clock(minutes: int) -> str:
    h, m = divmod(minutes % 1440, 60)
    suffix = "am" if h < 12 else "pm"
    h12 = h % 12 or 12
    return f"{h12}{suffix}" if m == 0 else f"{h12}:{m:02d}{suffix}"


def hours_text(hours: Mapping[str, Any] | None, lang: str) -> str:
    """'Mon-Fri 9am-5pm, Sat 10am-2pm': days with identical hours grouped."""
    if not hours or not valid_hours(hours):
        return ""
    if _is_247(hours):
        return "24/7"
    names = _DAY_NAMES[lang]
    groups: list[list[Any]] = []
    for d in range(7):
        spans = tuple(tuple(s) for s in hours.get(DAYS[d], ()))
        if groups and groups[-1][1] == spans and groups[-1][0][-1] == d - 1:
            groups[-1][0].append(d)
        else:
            groups.append([[d], spans])
    parts = []
    for ds, spans in groups:
        if not spans:
            continue
        label = names[ds[0]] if len(ds) == 1 else f"{names[ds[0]]}-{names[ds[-1]]}"
        times = ", ".join(f"{_clock(_minutes(o))}-{_clock(_minutes(c))}" for o, c in spans)
        parts.append(f"{label} {times}")
    return "; ".join(parts)


# --- ranking --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Ranked:
    site: SiteRecord
    miles: float
    open_now: OpenNow


def nearest(candidates: Iterable[SiteRecord], origin: tuple[float, float], need: str,
            n: int, max_miles: float | None = None) -> list[tuple[float, SiteRecord]]:
    """The n nearest sites meeting the need, by great-circle distance, one per real place."""
    kinds = NEEDS.get(need, NEEDS["any"])
    lat, lon = origin
    scored = []
    for s in candidates:
        if kinds.isdisjoint(s.kinds):
            continue
        d = haversine(lat, lon, s.lat, s.lon)
        if max_miles is None or d <= max_miles:
            scored.append((d, s.name, s.address, s.id or 0, s))
    scored.sort(key=lambda t: t[:4])
    out: list[tuple[float, SiteRecord]] = []
    for d, *_, s in scored:
        if not any(same_site(s, kept) for _, kept in out):
            out.append((d, s))
            if len(out) >= n:
                break
    return out


def order_page(items: Sequence[tuple[float, SiteRecord]], now: datetime) -> list[Ranked]:
    """Open now first, then unknown hours, then closed; by distance within each."""
    ranked = [Ranked(s, d, open_status(s, now)) for d, s in items]
    tier = {True: 0, None: 1, False: 2}
    return sorted(ranked, key=lambda r: (tier[r.open_now.is_open], r.miles))


def rank(candidates: Iterable[SiteRecord], origin: tuple[float, float], need: str,
         now: datetime, limit: int = 3, offset: int = 0,
         max_miles: float | None = None) -> list[Ranked]:
    """One page: the nearest `limit` sites after `offset`, open-now first within the page."""
    return order_page(nearest(candidates, origin, need, offset + limit, max_miles)[offset:], now)


# --- text -----------------------------------------------------------------------------------
_GSM = GSM7_BASIC | GSM7_EXTENDED
_PUNCT = {"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u2013": "-",
          "\u2014": "-", "\u2026": "...", "\u00b7": "-", "\u00a0": " "}


def _fold_ascii(text: str) -> str:
    if text.isascii():
        return text
    t = unicodedata.normalize("NFKD", "".join(_PUNCT.get(c, c) for c in text))
    return "".join(c for c in t if not unicodedata.combining(c))


def gsm_fold(text: str) -> str:
    """GSM-7 only: keep é ñ ü ¿ ¡ (they are GSM), fold á í ó ú and curly quotes, drop the rest.
    One stray character would otherwise turn the whole text into UCS-2 (70 chars a segment)."""
    out = []
    for c in text:
        if c in _GSM:
            out.append(c)
        else:
            out.append("".join(x for x in _fold_ascii(c) if x in _GSM))
    return "".join(out)


FOOTER = {"en": "Reply MORE for more", "es": "Responde MAS para ver más"}
_T = {
    "en": {"mi": "{d} mi", "open": "Open now until {t}", "open247": "Open 24/7",
           "closed": "Closed now, opens {day} {t}", "closed_x": "Closed now",
           "verified": "Verified {m}. Call ahead.", "unverified": "Info may be outdated. Call ahead.",
           "hours": "Hours: {h}", "near": "{need} near {place}:",
           "months": "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec"},
    "es": {"mi": "A {d} millas", "open": "Abierto ahora hasta {t}", "open247": "Abierto 24/7",
           "closed": "Cerrado ahora, abre {day} {t}", "closed_x": "Cerrado ahora",
           "verified": "Verificado {m}. Llame antes.", "unverified": "Puede no estar al día. Llame antes.",
           "hours": "Horario: {h}", "near": "{need} cerca de {place}:",
           "months": "ene feb mar abr may jun jul ago sep oct nov dic"},
}
KIND_LABELS = {
    "en": {"naloxone": "naloxone", "syringe_services": "syringe services", "treatment": "treatment",
           "otp": "methadone", "buprenorphine": "buprenorphine", "health_center": "health center",
           "vending_machine": "vending machine", "mail_order": "by mail"},
    "es": {"naloxone": "naloxona", "syringe_services": "jeringas", "treatment": "tratamiento",
           "otp": "metadona", "buprenorphine": "buprenorfina", "health_center": "centro de salud",
           "vending_machine": "máquina expendedora", "mail_order": "por correo"},
}
NEED_LABELS = {
    "en": {"naloxone": "Naloxone", "syringe_services": "Syringe services", "treatment": "Treatment",
           "methadone": "Methadone", "buprenorphine": "Buprenorphine", "health_center": "Health centers",
           "vending_machine": "Naloxone machines", "mail_order": "Naloxone by mail", "any": "Places"},
    "es": {"naloxone": "Naloxona", "syringe_services": "Jeringas", "treatment": "Tratamiento",
           "methadone": "Metadona", "buprenorphine": "Buprenorfina", "health_center": "Centros de salud",
           "vending_machine": "Máquinas de naloxona", "mail_order": "Naloxona por correo", "any": "Lugares"},
}


def _lang(lang: str | None) -> str:
    return "es" if (lang or "").lower().startswith("es") else "en"


def _miles(d: float) -> str:
    return f"{d:.1f}" if d < 10 else f"{d:.0f}"


def _cut(text: str, n: int) -> str:
    """Shorten to n chars at a word boundary, marked with '..' (GSM-7, unlike '…')."""
    if len(text) <= n:
        return text
    head = text[: max(1, n - 2)].rstrip(" ,.-")
    if " " in head[n // 2:]:
        head = head[: head.rfind(" ")].rstrip(" ,.-")
    return head + ".."


def format_site(site: SiteRecord, distance: float, lang: str, now: datetime,
                footer: bool = True, header: str | None = None, max_segments: int = 2) -> str:
    """One site as one SMS of at most two segments: name, address, phone, miles, open now or
    hours, verified date (and the MORE footer). To fit: keep accents unless folding them to
    GSM-7 saves a segment; drop notes, hours, header, kinds; last, shorten name and address."""
    lang = _lang(lang)
    t = _T[lang]
    now_open = open_status(site, now)
    if now_open.is_open:
        status = t["open247"] if now_open.until == "24/7" else t["open"].format(t=now_open.until)
    elif now_open.is_open is False and now_open.next_day is not None:
        status = t["closed"].format(day=_DAY_NAMES[lang][now_open.next_day], t=now_open.next_time)
    elif now_open.is_open is False:
        status = t["closed_x"]
    else:
        status = ""
    line_dist = ". ".join(x for x in (t["mi"].format(d=_miles(distance)), status) if x)
    hrs = hours_text(site.hours, lang)
    hours_line = t["hours"].format(h=hrs) if hrs and hrs != "24/7" else ""
    kinds = ", ".join(KIND_LABELS[lang][k] for k in KINDS if k in site.kinds)
    kinds = kinds[:1].upper() + kinds[1:]
    if site.verified_on:
        month = t["months"].split()[site.verified_on.month - 1]
        verified = t["verified"].format(m=f"{month} {site.verified_on.year}")
    else:
        verified = t["unverified"]
    place_line = ", ".join(x for x in (site.address, site.city, f"{site.state} {site.zip}".strip()) if x)
    name, addr = site.name, place_line
    optional = [header or "", kinds, hours_line, site.notes or ""]

    def build(name: str, addr: str, opt: list[str], fold: bool) -> str:
        head, kinds_l, hours_l, notes_l = opt
        lines = [head, name, kinds_l, addr, site.phone, line_dist, hours_l, notes_l, verified,
                 FOOTER[lang] if footer else ""]
        text = "\n".join(x for x in lines if x)
        return gsm_fold(text) if fold else text

    for drop in ((), (3,), (3, 2), (3, 2, 0), (3, 2, 0, 1)):  # notes, hours, header, kinds
        opt = ["" if i in drop else optional[i] for i in range(4)]
        proper, folded = build(name, addr, opt, False), build(name, addr, opt, True)
        best = min((proper, folded), key=lambda x: count_segments(x).segments)  # tie: accents
        if fits(best, max_segments):
            return best
    opt = ["", "", "", ""]
    while not fits(build(name, addr, opt, True), max_segments):
        if len(name) <= 24 and len(addr) <= 24:
            break
        if len(name) >= len(addr):
            name = _cut(name, len(name) - 8)
        else:
            addr = _cut(addr, len(addr) - 8)
    return build(name, addr, opt, True)


# --- fallbacks ------------------------------------------------------------------------------
MAX_MILES = {"naloxone": 50, "syringe_services": 50, "vending_machine": 50, "mail_order": 100,
             "health_center": 50, "any": 50, "treatment": 100, "methadone": 100,
             "buprenorphine": 100}
_TIERS = (5, 15, 30, 50, 100)
_NALOXONE_NEEDS = {"naloxone", "syringe_services", "vending_machine", "mail_order", "any"}
FALLBACK = {
    "en": {
        "none": "No {need} listed within {r} miles of {place}.",
        "naloxone": "Naloxone (Narcan) is sold over the counter at most pharmacies, no "
                    "prescription needed. Naloxone by mail: nextdistro.org",
        "treatment": "Free, confidential help 24/7 in English and Spanish: call 1-800-662-4357 "
                     "or search findtreatment.gov",
        "nua": "Using alone? Never Use Alone: call 1-800-484-3731. They stay on the line and send "
               "help if you stop responding.",
    },
    "es": {
        "none": "No hay {need} a menos de {r} millas de {place}.",
        "naloxone": "La naloxona (Narcan) se vende sin receta en la mayoría de las farmacias. "
                    "Naloxona por correo: nextdistro.org",
        "treatment": "Ayuda gratis y confidencial 24/7 en inglés y español: llame al "
                     "1-800-662-4357 o busque en findtreatment.gov",
        "nua": "¿Va a usar solo/a? Never Use Alone: llame al 1-800-484-3731. Se quedan en la línea "
               "y mandan ayuda si usted deja de responder.",
    },
}


def fallback_texts(need: str, lang: str, place_label: str | None = None,
                   radius: int | None = None) -> tuple[str, ...]:
    """National options that work anywhere, each text within two segments."""
    lang = _lang(lang)
    f = FALLBACK[lang]
    lead = f["naloxone"] if need in _NALOXONE_NEEDS else f["treatment"]
    if place_label and radius:
        lead = f["none"].format(need=NEED_LABELS[lang].get(need, need).lower(), r=radius,
                                place=place_label) + " " + lead
    return tuple(_fit(t) for t in (lead, f["nua"]))


# --- the answer -----------------------------------------------------------------------------
_ASK = {
    "en": {"need_place": "What ZIP code or city and state are you in? Example: 45402 or Dayton, OH",
           "not_found": "I couldn't find \"{q}\". Please send a 5-digit ZIP code, or city and "
                        "state (Dayton, OH).",
           "state_only": "Which city in {q}? Send a ZIP code or city and state (Dayton, OH).",
           "ambiguous": "Which one? {opts}. Reply with the number or a ZIP code.",
           "using": "Using {place}. Text a ZIP code to change it.",
           "no_more": "No more places within {r} miles."},
    "es": {"need_place": "¿En qué código postal o ciudad y estado está? Ejemplo: 45402 o Dayton, OH",
           "not_found": "No encontré \"{q}\". Mande un código postal de 5 dígitos, o ciudad y "
                        "estado (Dayton, OH).",
           "state_only": "¿Qué ciudad en {q}? Mande un código postal o ciudad y estado (Dayton, OH).",
           "ambiguous": "¿Cuál? {opts}. Responda con el número o un código postal.",
           "using": "Usando {place}. Mande un código postal para cambiarlo.",
           "no_more": "No hay más lugares a menos de {r} millas."},
}

FetchCandidates = Callable[[Cells], Iterable[SiteRecord]]


def _fit(text: str) -> str:
    """The text as written, unless folding to GSM-7 saves a segment (UCS-2 halves capacity)."""
    folded = gsm_fold(text)
    return text if count_segments(text).segments <= count_segments(folded).segments else folded


def _resolve_place(text: str | None, pending: list[places.Place], need: str, lang: str,
                   keep: Mapping[str, Any]) -> tuple[places.Place | None, LocateResult | None]:
    """(place, early reply). A pending question is asked once: any reply settles it.
    `keep` is what to remember when the text names no findable place (the old place)."""
    a, text = _ASK[lang], (text or "").strip()
    found = places.resolve(text, ignore=ALL_NEED_WORDS) if text else places.NotFound(text, "empty")
    if isinstance(found, places.Place):
        return found, None
    if pending:                                          # "2", "IL", "illinois", or anything
        other = found.options[0] if isinstance(found, places.Ambiguous) else pending[0]
        return places.choose(pending, text) or other, None
    if isinstance(found, places.Ambiguous):
        opts = "; ".join(f"{i}) {p.label}" for i, p in enumerate(found.options, 1))
        return None, LocateResult("ambiguous", (_fit(a["ambiguous"].format(opts=opts)),), {
            "options": [p.to_dict() for p in found.options], "query": found.query, "need": need})
    if found.reason in ("empty", "no_place"):
        return None, None                                # use the remembered place, if any
    key = "state_only" if found.reason == "state_only" else "not_found"
    return None, LocateResult("not_found", (_fit(a[key].format(q=_cut(found.query, 40))),), keep)


def answer(need: str | None, place_text: str | None, lang: str, fetch_candidates: FetchCandidates,
           now: datetime, last_place: Mapping[str, Any] | None = None, offset: int = 0,
           page_size: int = 3) -> LocateResult:
    """The reply to "NALOXONE 60614", "treatment near Dayton OH" or MORE.

    `last_place` is the `place` of the previous result (remembered by the shell): a resolved
    place {lat, lon, label, zip, state, timezone, need, offset, radius} or a pending question
    {options: [...], query, need}. For MORE pass `last_place` and `offset=last_place["offset"]`
    (see `more`). Ask-once: a question left unanswered picks its first option next time."""
    lang = _lang(lang)
    a = _ASK[lang]
    last = dict(last_place or {})
    need = need if need in NEEDS else (need_from_text(need) or need_from_text(place_text)
                                        or last.get("need") or "any")
    pending = [places.Place.from_dict(o) for o in last.get("options") or ()]
    prior = places.Place.from_dict(last) if "lat" in last else None
    keep = {**{k: v for k, v in last.items() if k not in ("options", "query")}, "need": need}
    place, early = _resolve_place(place_text, pending, need, lang, keep)
    if early:
        return early
    note = _ASK[lang]["using"].format(place=place.label) if pending and place else None
    place = place or prior
    if place is None:
        return LocateResult("need_place", (_fit(a["need_place"]),), {"need": need})
    if prior is None or (place.lat, place.lon) != (prior.lat, prior.lon) or need != last.get("need"):
        offset = 0                                       # a new place or need starts at page one

    want = offset + page_size + 1
    limit_miles = MAX_MILES.get(need, 50)
    found_sites: list[tuple[float, SiteRecord]] = []
    radius = _TIERS[0]
    for radius in [r for r in _TIERS if r < limit_miles] + [limit_miles]:
        cells = replace(cells_around(place.lat, place.lon, radius), kinds=tuple(sorted(NEEDS[need])))
        found_sites = nearest(fetch_candidates(cells),
                              (place.lat, place.lon), need, want, max_miles=radius)
        if len(found_sites) >= want:
            break
    page = order_page(found_sites[offset:offset + page_size], now)
    has_more = len(found_sites) > offset + page_size
    remembered = {**place.to_dict(), "need": need, "offset": offset + len(page), "radius": radius}
    texts: list[str] = [note] if note else []
    if not page:
        if offset:
            texts.append(a["no_more"].format(r=radius))
            texts.extend(fallback_texts(need, lang))
        else:
            texts.extend(fallback_texts(need, lang, place.label, radius))
        return LocateResult("found", tuple(_fit(t) for t in texts), remembered, sites=0)
    header = _T[lang]["near"].format(need=NEED_LABELS[lang][need], place=place.label)
    for i, r in enumerate(page):
        texts.append(format_site(r.site, r.miles, lang, now, footer=has_more and i == len(page) - 1,
                                 header=header if i == 0 and offset == 0 else None))
    if not has_more and offset == 0 and len(page) < page_size:
        texts.extend(fallback_texts(need, lang))
    return LocateResult("found", tuple(texts), remembered, sites=len(page))


def more(last_place: Mapping[str, Any] | None, lang: str, fetch_candidates: FetchCandidates,
         now: datetime, page_size: int = 3) -> LocateResult:
    """MORE: the next page for the remembered place and need."""
    last = last_place or {}
    return answer(last.get("need"), None, lang, fetch_candidates, now, last_place=last,
                  offset=int(last.get("offset") or 0), page_size=page_size)
