"""Where is the person? Resolve a place from messy SMS text, offline and deterministically.

Why offline: a geocoding API would add a network call, a key, latency inside Twilio's 15 s window
and a privacy leak (a person's location sent to a third party). The `zipcodes` package ships the
USPS ZIP list with centroids and time zones, which is enough for "nearest site" answers. The city
index is built from it once per process and cached.

`resolve(text)` returns a `Place`, an `Ambiguous` (ask once: "Springfield" with no state) or a
`NotFound` carrying a reason the caller can turn into a helpful reply.
"""
from __future__ import annotations

import functools
import math
import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

import zipcodes
from rapidfuzz import fuzz as _fuzz, process as _process

STATES = {
    "AL": "alabama", "AK": "alaska", "AZ": "arizona", "AR": "arkansas", "CA": "california",
    "CO": "colorado", "CT": "connecticut", "DE": "delaware", "DC": "district of columbia",
    "FL": "florida", "GA": "georgia", "HI": "hawaii", "ID": "idaho", "IL": "illinois",
    "IN": "indiana", "IA": "iowa", "KS": "kansas", "KY": "kentucky", "LA": "louisiana",
    "ME": "maine", "MD": "maryland", "MA": "massachusetts", "MI": "michigan", "MN": "minnesota",
    "MS": "mississippi", "MO": "missouri", "MT": "montana", "NE": "nebraska", "NV": "nevada",
    "NH": "new hampshire", "NJ": "new jersey", "NM": "new mexico", "NY": "new york",
    "NC": "north carolina", "ND": "north dakota", "OH": "ohio", "OK": "oklahoma", "OR": "oregon",
    "PA": "pennsylvania", "RI": "rhode island", "SC": "south carolina", "SD": "south dakota",
    "TN": "tennessee", "TX": "texas", "UT": "utah", "VT": "vermont", "VA": "virginia",
    "WA": "washington", "WV": "west virginia", "WI": "wisconsin", "WY": "wyoming",
    "PR": "puerto rico", "GU": "guam", "VI": "virgin islands", "AS": "american samoa",
    "MP": "northern mariana islands",
}
# Other ways people write a state, English and Spanish (accents are stripped before lookup).
_STATE_ALIASES = {
    "washington dc": "DC", "dc": "DC", "d c": "DC", "us virgin islands": "VI",
    "nueva york": "NY", "nuevo mexico": "NM", "nueva jersey": "NJ", "nuevo hampshire": "NH",
    "carolina del norte": "NC", "carolina del sur": "SC", "dakota del norte": "ND",
    "dakota del sur": "SD", "pensilvania": "PA", "luisiana": "LA", "misuri": "MO",
    "tennesi": "TN", "hawai": "HI", "virginia occidental": "WV", "tejas": "TX",
    "misisipi": "MS", "islas virgenes": "VI", "samoa americana": "AS",
    "islas marianas del norte": "MP",
}
# Function words around a place ("im in", "estoy en", "zip is"): never the edge of a city name.
FILLER = frozenset("""
i im am is in at to the a an my me near by around close from for of and or
zip zipcode code postal area live living stay staying now here there
estoy vivo en cerca mi codigo ciudad aqui ahora por el los las y o un una que
please pls thanks help need want find get looking where whats what
""".split())
# Real town names that are also everyday words: only accepted next to a state ("Hope, AR").
_COMMON = frozenset("hay hope home why more need help ok yes no si hi hola".split())
# Articles that begin real city names ("El Paso", "Las Vegas", "Los Angeles", "The Dalles"):
# filler on their own, part of the name when the words after them make a city with them.
_ARTICLES = frozenset("el la los las the".split())
_NOT_NAMES = frozenset({"el centro", "la casa", "el campo", "el barrio", "el rio", "la playa"})  # "voy al centro"
_ABBREV = {"st": "saint", "ste": "sainte", "ft": "fort", "mt": "mount", "pt": "point"}
# Spanish exonyms people text for big US cities.
_CITY_ALIASES = {"nueva york": "new york", "nueva orleans": "new orleans",
                 "filadelfia": "philadelphia", "nyc": "new york"}
# State codes that are also everyday words ("im in dayton ohio"): a full state name beats them.
_WEAK_CODES = frozenset("in me oh ok hi or de la al pa mi id co ma ga".split())
_ZIP_RE = re.compile(r"(?<!\d)(\d{5})(?:-\d{4}|\d{4})?(?!\d)")
_MAX_CITY_WORDS = 5
_MAX_OPTIONS = 5
_TZ_CELL = 0.2
_DOMINANT = 10  # a city with 10x the ZIPs of its namesakes (Houston, TX) needs no question


@dataclass(frozen=True)
class Place:
    lat: float
    lon: float
    label: str                      # "Dayton, OH" or "Chicago, IL 60614": echoed to the person
    zip: str | None = None
    state: str | None = None
    timezone: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"lat": self.lat, "lon": self.lon, "label": self.label, "zip": self.zip,
                "state": self.state, "timezone": self.timezone}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "Place":
        return cls(float(d["lat"]), float(d["lon"]), str(d.get("label") or ""), d.get("zip"),
                   d.get("state"), d.get("timezone"))


@dataclass(frozen=True)
class Ambiguous:
    query: str
    options: tuple[Place, ...]       # most likely first (by number of ZIP codes: a size proxy)


@dataclass(frozen=True)
class NotFound:
    query: str
    reason: str   # empty | no_place | unknown_zip | unknown_city | state_only


def _point(z: Mapping[str, Any]) -> tuple[float, float] | None:
    """A ZIP record's centroid, or None: ~900 records (military, some PO boxes) carry 0, 0."""
    try:
        lat, lon = float(z.get("lat") or 0), float(z.get("long") or 0)
    except ValueError:
        return None
    return None if abs(lat) < 0.01 and abs(lon) < 0.01 else (lat, lon)


@dataclass(frozen=True)
class _City:
    name: str
    state: str
    lat: float
    lon: float
    timezone: str | None
    nzips: int

    def place(self) -> Place:
        return Place(self.lat, self.lon, f"{self.name}, {self.state}", None, self.state,
                     self.timezone)


@functools.lru_cache(maxsize=65536)
def normalize(text: str) -> str:
    """Lowercase ASCII words: accents stripped, "i'm" -> "im", "St." -> "saint"."""
    t = unicodedata.normalize("NFKD", text or "")
    t = "".join(c for c in t if not unicodedata.combining(c)).lower()
    t = re.sub(r"\bi\s*['\u2019]\s*m\b", "im", t)
    words = re.sub(r"[^a-z0-9]+", " ", t).split()
    return " ".join(_ABBREV.get(w, w) for w in words)


_STATE_WORDS: dict[str, str] = {normalize(n): c for c, n in STATES.items()}
_STATE_WORDS.update({normalize(k): v for k, v in _STATE_ALIASES.items()})
_STATE_CODES = {c.lower(): c for c in STATES}


class _Index:
    """Cities by normalised name -> {state: _City}, plus per-state name lists for typos."""

    def __init__(self, zips: list[Mapping[str, Any]]):
        # (norm, state) -> name, points, STANDARD points, tz votes, primary?  A USPS "acceptable"
        # name ("Agana Heights", GU) is kept as its own entry unless it is somewhere's real name.
        acc: dict[tuple[str, str], dict[str, Any]] = {}
        for z in zips:
            pt = _point(z)
            if pt is None or z.get("state") not in STATES:
                continue
            for name in [z["city"], *(z.get("acceptable_cities") or ())]:
                primary = name == z["city"]
                a = acc.setdefault((normalize(name), z["state"]), {
                    "name": name, "pts": [], "std": [], "tz": defaultdict(int), "primary": False})
                if primary and not a["primary"]:       # a real name displaces alias points
                    a.update(name=name, pts=[], std=[], primary=True)
                if primary or not a["primary"]:
                    a["pts"].append(pt)
                    if z.get("zip_code_type") == "STANDARD":
                        a["std"].append(pt)
                    if z.get("timezone", "").count("/"):
                        a["tz"][z["timezone"]] += 1
        self.cities: dict[str, dict[str, _City]] = defaultdict(dict)
        for (norm, st), a in acc.items():
            pts = a["std"] or a["pts"]
            lat = sum(p[0] for p in pts) / len(pts)
            lon = sum(p[1] for p in pts) / len(pts)
            tz = max(a["tz"], key=a["tz"].get) if a["tz"] else None
            self.cities[norm][st] = _City(a["name"], st, round(lat, 4), round(lon, 4), tz, len(a["pts"]))
        self.by_zip: dict[str, Mapping[str, Any]] = {z["zip_code"]: z for z in zips}
        self.by_state: dict[str, list[str]] = defaultdict(list)
        for norm, states in self.cities.items():
            for st in states:
                self.by_state[st].append(norm)
        self.zip_grid: dict[tuple[int, int], list[tuple[float, float, str]]] = defaultdict(list)
        for z in zips:
            if _point(z) and z.get("timezone", "").count("/"):
                lat, lon = _point(z)
                self.zip_grid[(math.floor(lat / _TZ_CELL), math.floor(lon / _TZ_CELL))].append(
                    (lat, lon, z["timezone"]))


@functools.lru_cache(maxsize=1)
def _index() -> _Index:
    return _Index(zipcodes.list_all())


def warm() -> None:
    """Build the city/ZIP index now (~1-2 s) rather than inside the first person's webhook."""
    _index()


def zip_info(zip5: str) -> dict[str, Any] | None:
    """The zipcodes record for a 5-digit ZIP (active or not), or None."""
    if not re.fullmatch(r"\d{5}", zip5 or ""):
        return None
    return _index().by_zip.get(zip5)


def timezone_at(lat: float, lon: float) -> str | None:
    """IANA zone of the nearest ZIP centroid (searching out to ~2 degrees): for sites with no
    ZIP. Approximate near a zone line, which is why a ZIP's own zone is preferred."""
    grid, cos_lat = _index().zip_grid, math.cos(math.radians(lat))
    ci, cj = math.floor(lat / _TZ_CELL), math.floor(lon / _TZ_CELL)
    for reach in (1, 3, 10):
        best, best_d = None, 1e9
        for di in range(-reach, reach + 1):
            for dj in range(-reach, reach + 1):
                for zlat, zlon, tz in grid.get((ci + di, cj + dj), ()):
                    d = (zlat - lat) ** 2 + ((zlon - lon) * cos_lat) ** 2
                    if d < best_d:
                        best, best_d = tz, d
        if best:
            return best
    return None


def zip_point(zip5: str) -> tuple[float, float] | None:
    """Where a ZIP is: its centroid, else its city's (PO-box ZIPs often have no point)."""
    z = zip_info(zip5)
    if not z:
        return None
    city = _index().cities.get(normalize(z["city"]), {}).get(z["state"])
    return _point(z) or ((city.lat, city.lon) if city else None)


def _zip_place(zip5: str) -> Place | None:
    z, pt = zip_info(zip5), zip_point(zip5)
    if not z or not pt:
        return None
    tz = z.get("timezone") if z.get("timezone", "").count("/") else None
    return Place(pt[0], pt[1], f"{z['city']}, {z['state']} {zip5}", zip5, z["state"], tz)


def _pick(states: Mapping[str, _City], query: str) -> Place | Ambiguous:
    ranked = sorted(states.values(), key=lambda c: (-c.nzips, c.state))
    if len(ranked) == 1 or (ranked[0].nzips >= _DOMINANT and
                            ranked[0].nzips >= _DOMINANT * ranked[1].nzips):
        return ranked[0].place()
    return Ambiguous(query, tuple(c.place() for c in ranked[:_MAX_OPTIONS]))


def _state_spans(words: list[str]) -> list[tuple[int, int, str]]:
    spans = []
    for i in range(len(words)):
        for k in (4, 3, 2, 1):
            phrase = " ".join(words[i:i + k])
            if len(words[i:i + k]) == k and phrase in _STATE_WORDS:
                spans.append((i, i + k, _STATE_WORDS[phrase]))
                break
        else:
            if words[i] in _STATE_CODES:
                spans.append((i, i + 1, _STATE_CODES[words[i]]))
    return spans


def _starts_name(gram_words: list[str]) -> bool:
    """An article that begins a city's name here ("el paso"), not filler ("el centro")."""
    return gram_words[0] in _ARTICLES and len(gram_words) > 1 and " ".join(gram_words) not in _NOT_NAMES


def resolve(text: str | None, ignore: Iterable[str] = ()) -> Place | Ambiguous | NotFound:
    """A place from free text. `ignore`: extra words that are never part of a place
    (the locator passes its need words, so "treatment near Dayton OH" works whole)."""
    query = (text or "").strip()
    if not query:
        return NotFound(query, "empty")
    m = _ZIP_RE.search(query)
    if m:
        return _zip_place(m.group(1)) or NotFound(query, "unknown_zip")
    idx = _index()
    skip = FILLER | {normalize(w) for w in ignore}
    words = normalize(query).split()
    # 1. "City ST" / "City, State" anywhere in the text; the longest city wins, later beats earlier.
    best: tuple[tuple[int, int, int], _City] | None = None
    spans = _state_spans(words)
    for i, e, st in spans:
        strength = 0 if e - i == 1 and words[i] in _WEAK_CODES else 1
        end = i
        while end > 0 and words[end - 1] in skip:          # "dayton in ohio"
            end -= 1
        for start in range(max(0, end - _MAX_CITY_WORDS), end):
            gram = " ".join(words[start:end])
            city = idx.cities.get(_CITY_ALIASES.get(gram, gram), {}).get(st)
            if city and (words[start] not in skip or _starts_name(words[start:end])):
                rank = (strength, end - start, i)
                if best is None or rank > best[0]:
                    best = (rank, city)
                break
    if best:
        return best[1].place()
    # 2. A typo next to a state ("dayten ohio"): close match among that state's cities only.
    for i, _, st in reversed(spans):
        for start in range(max(0, i - 3), i):
            gram = " ".join(words[start:i])
            if words[start] in skip or words[i - 1] in skip:
                continue
            close = _process.extractOne(gram, idx.by_state[st], scorer=_fuzz.ratio, score_cutoff=80)
            if close:
                return idx.cities[close[0]][st].place()
    # 3. A city with no state, or the state elsewhere ("charlotte, carolina del norte"), or a
    #    city named like its state ("new york"): one answer, the obvious one, or a question.
    state_words = {w for s, e, _ in spans for w in words[s:e]}
    tail = re.search(r",\s*([A-Za-z]{2})\s*$", query)            # "Atlantis, OH": OH is meant
    strong = {st for s, e, st in spans if e - s > 1 or words[s] not in _WEAK_CODES or
              (tail and e == len(words) and words[s] == tail.group(1).lower())}
    for size in range(_MAX_CITY_WORDS, 0, -1):
        for start in range(0, len(words) - size + 1):
            end = start + size
            gram_words = words[start:end]
            if (gram_words[0] in skip and not _starts_name(gram_words)) or gram_words[-1] in skip:
                continue
            if size == 1 and gram_words[0] in _COMMON:
                continue
            same = [st for s, e, st in spans if (s, e) == (start, end)]
            if any(s <= start and end <= e and (s, e) != (start, end) for s, e, _ in spans):
                continue                                   # "del norte" inside "carolina del norte"
            mentioned = {st for s, e, st in spans if e <= start or s >= end}
            gram = " ".join(gram_words)
            states = idx.cities.get(_CITY_ALIASES.get(gram, gram))
            if not states:
                continue
            if same:                                       # "ohio" is a state, not Ohio, IL
                states = {k: v for k, v in states.items() if k in same}
            elif mentioned & states.keys():
                states = {k: v for k, v in states.items() if k in mentioned}
            elif mentioned & strong:                       # "Atlantis, Ohio": no such city there,
                continue                                   # not Atlantis, FL
            if states:
                return _pick(states, query)
    content = [w for w in words if w not in skip and w not in state_words]
    if spans and not content:
        return NotFound(query, "state_only")
    return NotFound(query, "unknown_city" if content else "no_place")


def choose(options: Iterable[Place], reply: str) -> Place | None:
    """Which of the offered places a reply picks: "2", "IL", "illinois" or "Springfield IL"."""
    opts = list(options)
    text = normalize(reply)
    m = re.fullmatch(r"(\d)", text)
    if m and 1 <= int(m.group(1)) <= len(opts):
        return opts[int(m.group(1)) - 1]
    states = {code for _, _, code in _state_spans(text.split())}
    picked = [p for p in opts if p.state in states]
    return picked[-1] if picked else None
