"""The reply to "NALOXONE 60614", "treatment near Dayton OH" or MORE: at most two texts.

The first text lists the nearest places (a need's own sites, then places that often have it);
the second, when it helps, gives one next step: MORE, the national option, an offer (STEPS,
PEER, MEDS) and the Never Use Alone line, that last at most once a day. Bad input (no such
ZIP or city) and nothing near get one text with the national options. Pure: `now` is passed in.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, Mapping

from core import hours, places
from core.locator import wording as w
from core.locator.needs import ALL_NEED_WORDS, FAMILY, NEEDS, OFTEN, need_from_text, strip_near_me
from core.locator.ranking import FetchCandidates, gather
from core.services import LocateResult

HARM_REDUCTION = ("naloxone", "syringe", "strips")


def _resolve_place(text: str | None, pending: list[places.Place], need: str, lang: str,
                   keep: Mapping[str, Any]) -> tuple[places.Place | None, LocateResult | None]:
    """(place, early reply). A pending question is asked once: any reply settles it.
    `keep` is what to remember when the text names no findable place (the old place)."""
    text = strip_near_me(text)
    found = places.resolve(text, ignore=ALL_NEED_WORDS) if text else places.NotFound(text, "empty")
    if isinstance(found, places.Place):
        return found, None
    if pending:                                          # "2", "IL", "illinois", or anything
        other = found.options[0] if isinstance(found, places.Ambiguous) else pending[0]
        return places.choose(pending, text) or other, None
    if isinstance(found, places.Ambiguous):
        opts = "; ".join(f"{i}) {p.label}" for i, p in enumerate(found.options, 1))
        return None, LocateResult("ambiguous", (w.fit(w.say("ambiguous", lang, opts=opts), lang),), {
            "options": [p.to_dict() for p in found.options], "query": found.query, "need": need})
    if found.reason in ("empty", "no_place"):
        return None, None                                # use the remembered place, if any
    key = "state_only" if found.reason == "state_only" else "not_found"
    said = w.say(key, lang, q=w.cut(found.query, 30))
    return None, LocateResult("not_found", (w.join_fitting([said, _national(need, lang)], lang),), keep)


def _national(need: str, lang: str) -> str:
    family = FAMILY.get(need, "naloxone")
    return w.say(f"national.{family}", lang, need=w.need_word(need, lang))


def _today(now: datetime, place: places.Place) -> str:
    return hours.local(now, place.timezone or "UTC").date().isoformat()


def _nua(need: str, lang: str, last: Mapping[str, Any], today: str) -> str:
    """The Never Use Alone line for harm-reduction needs, unless already given today."""
    if FAMILY.get(need, "naloxone") not in HARM_REDUCTION or last.get("nua") == today:
        return ""
    return w.say("nua", lang)


def answer(need: str | None, place_text: str | None, lang: str, fetch_candidates: FetchCandidates,
           now: datetime, last_place: Mapping[str, Any] | None = None, offset: int = 0,
           page_size: int = 3) -> LocateResult:
    """The reply to "NALOXONE 60614", "treatment near Dayton OH" or MORE.

    `last_place` is the `place` of the previous result (remembered by the shell): a resolved
    place {lat, lon, label, zip, state, timezone, need, offset, radius, nua} or a pending
    question {options: [...], query, need}. For MORE use `more`. Ask-once: a question left
    unanswered picks its first option next time."""
    lang = w.lang_of(lang)
    last = dict(last_place or {})
    need = need if need in NEEDS else (need_from_text(need) or need_from_text(place_text)
                                        or last.get("need") or "any")
    pending = [places.Place.from_dict(o) for o in last.get("options") or ()]
    prior = places.Place.from_dict(last) if "lat" in last else None
    keep = {**{k: v for k, v in last.items() if k not in ("options", "query")}, "need": need}
    place, early = _resolve_place(place_text, pending, need, lang, keep)
    if early:
        return early
    place = place or prior
    if place is None:
        return LocateResult("need_place", (w.fit(w.say("need_place", lang), lang),), {"need": need})
    if prior is None or (place.lat, place.lon) != (prior.lat, prior.lon) or need != last.get("need"):
        offset = 0                                       # a new place or need starts at page one

    found, radius = gather(fetch_candidates, (place.lat, place.lon), need, offset + page_size + 1)
    today = _today(now, place)
    nua = _nua(need, lang, last, today)
    remembered = {**place.to_dict(), "need": need, "radius": radius,
                  **({"nua": last["nua"]} if last.get("nua") else {})}
    if nua:
        remembered["nua"] = today
    page = found[offset:offset + page_size]
    if not page:
        remembered["offset"] = offset
        key = "none_reentry" if FAMILY.get(need) == "reentry" else "none"
        lead = (w.say("no_more", lang, r=radius) if offset else
                w.say(key, lang, need=w.need_word(need, lang), r=radius, place=place.label))
        return LocateResult("found", _two(lead, [_national(need, lang), nua], lang), remembered, sites=0)

    title, family = w.need_title(need, lang), FAMILY.get(need, "naloxone")
    direct_shown = any(not r.often for r in page)
    sub = only = None
    if need in OFTEN:
        sub = w.say(f"often.{need}.sub", lang)
        only = w.say(f"often.{need}.only", lang, need=title, place=place.label)
    if offset:
        lead = w.say("more_header", lang, need=w.need_word(need, lang), place=place.label)
    elif not direct_shown and only:
        lead, sub = only, None
    else:
        lead = w.say("header", lang, need=title, place=place.label)
    rows = [(r, r.often) for r in page]
    text, shown = w.page_text(lead, rows, lang, now, place.timezone, offset + 1, sub)
    remembered["offset"] = offset + shown
    has_more = len(found) > offset + shown
    offer = w.say(f"offer.{family}", lang) if f"{family}" in w.catalogue()["offer"] else ""
    tip_parts = [w.say("more", lang) if has_more else "", _national(need, lang), offer, nua]
    tip = w.join_fitting([p for p in tip_parts if p], lang, required=1) if any(tip_parts) else ""
    if nua and nua not in tip:                           # it did not fit: not given, not counted
        remembered.pop("nua", None)
        if last.get("nua"):
            remembered["nua"] = last["nua"]
    return LocateResult("found", tuple(t for t in (text, tip) if t), remembered, sites=shown)


def _two(lead: str, rest: list[str], lang: str) -> tuple[str, ...]:
    """One text when lead and the rest fit two segments together, else lead (+ national) and
    the rest as a second text."""
    rest = [r for r in rest if r]
    whole = w.fit(" ".join([lead] + rest), lang)
    if w.segments(whole) <= 2:
        return (whole,)
    first = w.join_fitting([lead] + rest[:1], lang)
    return (first, w.fit(" ".join(rest[1:]), lang)) if rest[1:] else (first,)


def more(last_place: Mapping[str, Any] | None, lang: str, fetch_candidates: FetchCandidates,
         now: datetime, page_size: int = 3) -> LocateResult:
    """MORE: the next page for the remembered place and need."""
    last = last_place or {}
    return answer(last.get("need"), None, lang, fetch_candidates, now, last_place=last,
                  offset=int(last.get("offset") or 0), page_size=page_size)
