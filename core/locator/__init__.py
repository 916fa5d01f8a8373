"""Nearest useful places for a need, as at most two SMS texts: pure, so it is tested without a
database. One job a module:

- needs: what a person asks for (words, en + es) and which site kinds meet it
- records: a site row, and whether it is whole enough to show (phone, coordinates)
- geometry: great-circle miles, the integer grid the sites table is indexed on, one real place
- ranking: the nearest places for a need, ring by ring, never a full scan
- wording: the texts (words in bot/content/locator.yaml), shortened to fit a phone
- answer: the whole reply, MORE, bad input and nothing near

The shell injects `fetch_candidates(cells)`: one indexed query over the grid columns.
Weekly hours (open now, today's hours) are core/hours.py, shared with peers' shifts.
"""
from __future__ import annotations

from datetime import datetime

from core import hours as _hours
from core.locator.answer import answer, more
from core.locator.geometry import (CELL_DEG, EARTH_MILES, Cells, GridIndex, cell_of, cells_around, fold_ascii,
                                   haversine, norm_address, norm_name, same_site)
from core.locator.needs import (ALL_NEED_WORDS, KINDS, MAX_MILES, NEED_WORDS, NEEDS, OFTEN, REENTRY_KINDS,
                                need_from_text)
from core.locator.ranking import FetchCandidates, Ranked, gather, nearest, rank
from core.locator.records import SiteRecord, phone_text, usable
from core.locator.wording import fit, format_site, gsm_fold, kind_labels

DAYS = _hours.DAYS
OpenNow = _hours.OpenNow
valid_hours = _hours.valid
KIND_LABELS = {lang: kind_labels(lang) for lang in ("en", "es")}


def hours_text(hours, lang: str) -> str:
    """'Mon-Fri 9am-5pm; Sat 10am-2pm' (core.hours.week_text)."""
    return _hours.week_text(hours, lang)


def open_status(site: SiteRecord, now: datetime) -> OpenNow:
    """Open now in the site's own zone (its recorded zone, else the zone at its point)."""
    from core import places
    return _hours.status(site.hours, site.timezone or places.timezone_at(site.lat, site.lon), now)


__all__ = ["answer", "more", "CELL_DEG", "EARTH_MILES", "Cells", "GridIndex", "cell_of", "cells_around",
           "fold_ascii", "haversine", "norm_address", "norm_name", "same_site", "ALL_NEED_WORDS", "KINDS",
           "MAX_MILES", "NEED_WORDS", "NEEDS", "OFTEN", "REENTRY_KINDS", "need_from_text", "FetchCandidates",
           "Ranked", "gather", "nearest", "rank", "SiteRecord", "phone_text", "usable", "fit", "format_site",
           "gsm_fold", "kind_labels", "DAYS", "OpenNow", "valid_hours", "KIND_LABELS", "hours_text",
           "open_status"]
