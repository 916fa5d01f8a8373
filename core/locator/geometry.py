"""Where things are: great-circle miles, the integer grid the sites table is indexed on, and
when two rows are one real place (so a place listed by two directories is shown once)."""
from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass
from typing import Iterable

from core.locator.records import SiteRecord

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
    kinds (ranking filters again, so it is an optimisation, not a contract)."""
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


# -- one real place --------------------------------------------------------------------------
_PUNCT = {"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u2013": "-",
          "\u2014": "-", "\u2026": "...", "\u00b7": "-", "\u00a0": " "}
ADDR_WORDS = {"street": "st", "avenue": "ave", "road": "rd", "boulevard": "blvd", "drive": "dr",
              "suite": "ste", "highway": "hwy", "north": "n", "south": "s", "east": "e",
              "west": "w", "lane": "ln", "place": "pl", "court": "ct", "parkway": "pkwy",
              "building": "bldg", "floor": "fl", "route": "rt", "saint": "st"}


def fold_ascii(text: str) -> str:
    """Accents and typographic punctuation folded to plain ASCII."""
    if text.isascii():
        return text
    t = unicodedata.normalize("NFKD", "".join(_PUNCT.get(c, c) for c in text))
    return "".join(c for c in t if not unicodedata.combining(c))


def norm_name(text: str) -> str:
    return " ".join(re.sub(r"[^a-z0-9]+", " ", fold_ascii(text).lower()).split())


def norm_address(text: str) -> str:
    return " ".join(ADDR_WORDS.get(w, w) for w in norm_name(text).split())


def same_site(a: SiteRecord, b: SiteRecord, metres: float = 30) -> bool:
    """One place listed twice (within a file, or in two sources): same name and address and
    ZIP, or same name within `metres`, or same street address and ZIP within 100 m."""
    close = haversine(a.lat, a.lon, b.lat, b.lon) * 1609.344
    same_addr = bool(a.address) and norm_address(a.address) == norm_address(b.address) and a.zip == b.zip
    same_name = norm_name(a.name) == norm_name(b.name)
    return (same_name and (same_addr or close <= metres)) or (same_addr and close <= 100)
