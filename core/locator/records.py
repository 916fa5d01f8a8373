"""A resource site as the locator sees it, and whether a row is whole enough to show."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any, Mapping


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


def usable(site: SiteRecord) -> bool:
    """A row with no name or no real coordinates is never shown (it would be half a listing)."""
    try:
        lat, lon = float(site.lat), float(site.lon)
    except (TypeError, ValueError):
        return False
    if lat != lat or lon != lon or not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return False
    return bool((site.name or "").strip()) and not (abs(lat) < 0.01 and abs(lon) < 0.01)


_DIGITS = re.compile(r"\d")


def phone_text(phone: str | None) -> str:
    """A US number as 312-555-0100 (a short extension kept), or "" when it is not one: a broken
    phone is left out, never shown half-formed."""
    raw = (phone or "").strip()
    if not raw:
        return ""
    m = re.search(r"\s*(?:x|ext\.?|extension)\s*(\d+)\s*$", raw, re.I)
    main, ext = (raw[:m.start()], m[1]) if m else (raw, "")
    digits = "".join(_DIGITS.findall(main))
    if len(digits) == 11 and digits[0] == "1":
        digits = digits[1:]
    if len(digits) != 10 or digits[0] in "01" or digits[3] in "01":
        return ""
    out = f"{digits[:3]}-{digits[3:6]}-{digits[6:]}"
    ext_digits = ext
    return f"{out} x{ext_digits}" if 0 < len(ext_digits) <= 5 else out
