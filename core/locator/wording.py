"""The locator's texts: a page of places as one SMS of at most two segments, one line a place,
and the one next step after it. The words live in bot/content/locator.yaml (en + es).

English texts are folded to GSM-7 (one curly quote or accented name would make the whole text
UCS-2, 70 characters a segment); Spanish keeps its accents unless folding saves a segment.
"""
from __future__ import annotations

import re
from datetime import datetime
from functools import lru_cache
from typing import Any, Iterable, Sequence

import yaml

from core import CONTENT, hours
from core.locator.geometry import ADDR_WORDS, fold_ascii
from core.locator.records import SiteRecord, phone_text
from core.sms import GSM7_BASIC, GSM7_EXTENDED, count_segments, fits

PATH = CONTENT / "locator.yaml"
LANGS = ("en", "es")


@lru_cache(maxsize=1)
def catalogue() -> dict[str, Any]:
    with open(PATH, encoding="utf-8") as f:
        return yaml.load(f, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def lang_of(lang: str | None) -> str:
    return "es" if (lang or "").lower().startswith("es") else "en"


def say(key: str, lang: str, **vars) -> str:
    """The text at `key` ("often.naloxone.sub") in `lang`, filled. A missing key raises."""
    entry: Any = catalogue()
    for part in key.split("."):
        entry = entry[part]
    return entry[lang_of(lang)].format(**vars)


def need_title(need: str, lang: str) -> str:
    return catalogue()["need_title"][lang_of(lang)].get(need, need)


def need_word(need: str, lang: str) -> str:
    return catalogue()["need_word"][lang_of(lang)].get(need, need)


def kind_labels(lang: str) -> dict[str, str]:
    return dict(catalogue()["kind_label"][lang_of(lang)])


# -- characters --------------------------------------------------------------------------------
_GSM = GSM7_BASIC | GSM7_EXTENDED


def gsm_fold(text: str) -> str:
    """GSM-7 only: keep é ñ ü ¿ ¡ (they are GSM), fold á í ó ú and curly quotes, drop the rest."""
    out = []
    for c in text:
        if c in _GSM:
            out.append(c)
        else:
            out.append("".join(x for x in fold_ascii(c) if x in _GSM))
    return "".join(out)


def fit(text: str, lang: str = "es") -> str:
    """English: always GSM-7. Spanish: as written, unless folding to GSM-7 saves a segment."""
    folded = gsm_fold(text)
    if lang_of(lang) == "en":
        return folded
    return text if count_segments(text).segments <= count_segments(folded).segments else folded


def segments(text: str) -> int:
    return count_segments(text).segments


# -- one place, one line -------------------------------------------------------------------------
_SMALL = {"of", "and", "the", "for", "at", "in", "on", "de", "la", "el", "y", "del", "a", "an", "to"}
_STOP_ADDR = {"suite", "ste", "building", "bldg", "floor", "fl", "unit", "room", "rm", "apt", "#",
              "po", "p.o."}


def tidy_name(name: str) -> str:
    """SHOUTED directory names in title case ("SOUTHERN REGION COMM HEALTH CTR" -> "Southern
    Region Comm Health CTR": words without a vowel stay capitals, like LLC)."""
    name = " ".join((name or "").split())
    if not name.isupper():
        return name
    words = []
    for i, w in enumerate(name.split()):
        low = w.lower()
        if i and low in _SMALL:
            words.append(low)
        elif not re.search(r"[AEIOUY]", w) or re.fullmatch(r"[IVXL]+,?", w):   # LLC, CTR, XXIV
            words.append(w)
        else:
            words.append(w[:1] + w[1:].lower())
    return " ".join(words)


def short_address(address: str) -> str:
    """The street line only, its words abbreviated, suite and building left out:
    "1200 North Main Street, Suite 300" -> "1200 N Main St"."""
    street = (address or "").split(",")[0].strip()
    out = []
    for w in street.split():
        key = w.lower().strip(".")
        if key in _STOP_ADDR or w.startswith("#"):
            break
        if key in ADDR_WORDS:
            short = ADDR_WORDS[key]
            out.append(short.upper() if len(short) == 1 else short.title())
        else:
            out.append(w)
    return " ".join(out)


def cut(text: str, n: int) -> str:
    """Shorten to n chars at a word boundary, marked with '..' (GSM-7, unlike '…')."""
    if len(text) <= n:
        return text
    head = text[: max(1, n - 2)].rstrip(" ,.-")
    if " " in head[n // 2:]:
        head = head[: head.rfind(" ")].rstrip(" ,.-")
    return head + ".."


def miles_text(d: float) -> str:
    return f"{d:.1f}" if d < 10 else f"{d:.0f}"


def status_text(site: SiteRecord, now: datetime, lang: str, tz: str | None) -> str:
    """'open now til 5pm', 'open 24/7', 'today 1pm-5pm', 'closed today', or '' (not known)."""
    st = hours.status(site.hours, site.timezone or tz, now)
    if st.is_open is None:
        return ""
    if st.is_open:
        return say("open_247", lang) if st.until == "24/7" else say("open_now", lang, t=st.until)
    if st.opens_today:
        spans = ", ".join(f"{a}-{b}" for a, b in st.today)
        return say("today", lang, spans=spans)
    return say("closed_today", lang)


def listing(n: int, site: SiteRecord, miles: float, lang: str, now: datetime, tz: str | None,
            name_max: int = 40, address: str = "full") -> str:
    """'1) Howard Brown Health, 3245 N Halsted St, 0.6 mi, 773-388-1600, open now til 5pm'.
    `address`: full (street line), none."""
    name = cut(tidy_name(site.name), name_max)
    parts = [name]
    if address == "full":
        street = short_address(site.address)
        if street:
            parts.append(cut(street, 28))
    parts.append(say("miles", lang, d=miles_text(miles)))
    phone = phone_text(site.phone)
    if phone:
        parts.append(phone)
    status = status_text(site, now, lang, tz)
    if status:
        parts.append(status)
    return f"{n}) " + ", ".join(parts)


_KIND_NEED = {"otp": "methadone", "jobs": "job", "id_docs": "id"}


def format_site(site: SiteRecord, miles: float, lang: str, now: datetime, tz: str | None = None,
                **_ignored) -> str:
    """One site as a person would get it in an answer (the admin preview shows this): the
    header for its first kind, then its line."""
    kind = site.kinds[0] if site.kinds else "any"
    place = ", ".join(x for x in (site.city, f"{site.state} {site.zip}".strip()) if x) or "?"
    head = say("header", lang, need=need_title(_KIND_NEED.get(kind, kind), lang), place=place)
    return fit(head + "\n" + listing(1, site, miles, lang, now, tz), lang)


# (name length, address) from the most to the least said; the first that fits two segments wins
_LEVELS = ((40, "full"), (32, "full"), (40, "none"), (30, "none"), (24, "none"), (18, "none"))


def page_text(lead: str, rows: Sequence[tuple[Any, bool]], lang: str, now: datetime,
              tz: str | None, first_number: int, sub: str | None) -> tuple[str, int]:
    """The places text: `lead`, then one line per (Ranked, often) row, `sub` before the first
    row that only often has the thing. Shortens names and addresses until it fits two
    segments, and each line one segment where it can; drops the last rows only if it must.
    Returns (text, how many rows it holds)."""
    for count in range(len(rows), 0, -1):
        for name_max, address in _LEVELS:
            lines = [lead]
            shown_sub = False
            for i, (r, often) in enumerate(rows[:count]):
                if often and sub and not shown_sub:
                    lines.append(sub)
                    shown_sub = True
                line = listing(first_number + i, r.site, r.miles, lang, now, tz, name_max, address)
                lines.append(line)
            text = fit("\n".join(x for x in lines if x), lang)
            one_seg_lines = all(segments(fit(x, lang)) == 1 for x in lines[1:])
            if fits(text, 2) and (one_seg_lines or (name_max, address) == _LEVELS[-1]):
                return text, count
    return fit(lead, lang), 0


def join_fitting(parts: Iterable[str], lang: str, required: int = 1) -> str:
    """Space-joined parts within two segments: the first `required` always, the rest while they fit."""
    parts = [p for p in parts if p]
    out = parts[:required]
    for p in parts[required:]:
        if fits(fit(" ".join(out + [p]), lang), 2):
            out.append(p)
    return fit(" ".join(out), lang)
