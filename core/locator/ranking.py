"""Which sites a page shows: the nearest first, one per real place, a need's own kinds before
the places that only often have it. The search widens ring by ring, so a city answer reads a
few grid cells and a rural one reads more, never the whole table."""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable, Iterable

from core.locator.geometry import Cells, cells_around, haversine, same_site
from core.locator.needs import MAX_MILES, NEEDS, TIERS, kinds_for
from core.locator.records import SiteRecord, usable

FetchCandidates = Callable[[Cells], Iterable[SiteRecord]]


@dataclass(frozen=True)
class Ranked:
    site: SiteRecord
    miles: float
    often: bool = False          # listed because such places often have it, not a direct match


def nearest(candidates: Iterable[SiteRecord], origin: tuple[float, float], need_or_kinds,
            n: int, max_miles: float | None = None) -> list[tuple[float, SiteRecord]]:
    """The n nearest usable sites with one of the kinds (or a need's kinds), by great-circle
    distance, one per real place."""
    kinds = NEEDS.get(need_or_kinds, NEEDS["any"]) if isinstance(need_or_kinds, str) else need_or_kinds
    lat, lon = origin
    scored = []
    for s in candidates:
        if kinds.isdisjoint(s.kinds) or not usable(s):
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


def widening(fetch: FetchCandidates, origin: tuple[float, float], kinds: frozenset[str], want: int,
             limit_miles: float) -> tuple[list[tuple[float, SiteRecord]], float]:
    """The `want` nearest within `limit_miles`, reading ring after ring until enough are found;
    also the radius it stopped at."""
    found: list[tuple[float, SiteRecord]] = []
    radius = TIERS[0]
    for radius in [r for r in TIERS if r < limit_miles] + [limit_miles]:
        cells = replace(cells_around(origin[0], origin[1], radius), kinds=tuple(sorted(kinds)))
        found = nearest(fetch(cells), origin, kinds, want, max_miles=radius)
        if len(found) >= want:
            break
    return found, radius


def gather(fetch: FetchCandidates, origin: tuple[float, float], need: str,
           want: int) -> tuple[list[Ranked], float]:
    """The first `want` places for a need: its own kinds nearest first, then the places that
    often have it nearest first (never the same place twice); and the radius searched."""
    direct_kinds, often_kinds = kinds_for(need)
    limit = MAX_MILES.get(need, 50)
    direct, radius = widening(fetch, origin, direct_kinds, want, limit)
    out = [Ranked(s, d) for d, s in direct]
    if often_kinds and len(out) < want:
        more, radius2 = widening(fetch, origin, often_kinds - direct_kinds, want, limit)
        for d, s in more:
            if len(out) >= want:
                break
            if not any(same_site(s, r.site) for r in out):
                out.append(Ranked(s, d, often=True))
        radius = min(radius, radius2) if direct else radius2
    return out, radius


def rank(candidates: Iterable[SiteRecord], origin: tuple[float, float], need: str,
         limit: int = 3, offset: int = 0, max_miles: float | None = None) -> list[Ranked]:
    """One page of the nearest direct matches (tests and the bench use this without a grid)."""
    return [Ranked(s, d) for d, s in nearest(candidates, origin, need, offset + limit, max_miles)[offset:]]
