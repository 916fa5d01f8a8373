"""A tiny fake of core.services.Services for core tests: a fixed context and a locator that
answers from a table, so golden conversations stay readable and never touch a database."""
from __future__ import annotations

from dataclasses import dataclass, field

from core.services import Context, LocateResult

_FOUND = {   # the real answer's shape: the places, then one next step
    "en": ("{need} near {place}:\n1) Main St Health, 12 Main St, 0.4 mi, 555-010-0100, open now til 5pm",
           "Reply MORE for more places."),
    "es": ("{need} cerca de {place}:\n1) Main St Health, 12 Main St, 0.4 mi, 555-010-0100, abierto hasta 5pm",
           "Responde MAS para ver más lugares."),
}
_NEED_PLACE = {"en": "What's your ZIP code or town? I'll look for places near you.",
               "es": "¿Cuál es tu código postal o pueblo? Busco lugares cerca de ti."}
_AMBIGUOUS = {"en": "There's more than one {place}. Which state? Or reply with a ZIP code.",
              "es": "Hay más de un {place}. ¿En qué estado? O responde con un código postal."}
_NOT_FOUND = {"en": "I couldn't find {need} sites near {place}. Try a nearby ZIP code.",
              "es": "No encontré lugares de {need} cerca de {place}. Prueba otro código postal."}


@dataclass
class FakeServices:
    """Locator rules: no place -> need_place (unless a last place is known); "Springfield" ->
    ambiguous; "00000" -> not_found; anything else -> found, remembered as {"text": place}."""
    context: Context = field(default_factory=Context)
    calls: list = field(default_factory=list)

    def locate(self, need, place_text, lang, last_place=None):
        self.calls.append((need, place_text, lang, last_place))
        place = place_text or (last_place or {}).get("text")
        if not place:
            return LocateResult("need_place", (_NEED_PLACE[lang],))
        if place.strip().lower() == "springfield":
            return LocateResult("ambiguous", (_AMBIGUOUS[lang].format(place=place),))
        if place.strip() == "00000":
            return LocateResult("not_found", (_NOT_FOUND[lang].format(need=need, place=place),))
        return LocateResult("found", tuple(t.format(need=need, place=place) for t in _FOUND[lang]), {"text": place}, sites=1)
