"""What the pure core may ask of the outside world, as an injected port.

The engine receives a `Services` value: read-only facts about the person and the program
(`context`) and the locator. The runtime builds the real one from the database; tests pass a
tiny fake. Nothing here writes.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Mapping, Protocol


@dataclass(frozen=True)
class Context:
    lang: str = "en"                                   # "en" | "es"
    fields: Mapping[str, Any] = field(default_factory=dict)  # first_name, checkin_time, risk_tier, ...
    program_name: str = "Homeward"
    peer_name: str | None = None                       # the person's assigned peer, first name
    coverage: Mapping[str, str] = field(default_factory=lambda: {
        "en": "Mon-Fri 9am-5pm", "es": "lun-vie 9am-5pm"})
    peer_on_duty: bool = False
    timezone: str = "America/New_York"
    channel: str = "sms"                               # sms | whatsapp | webchat: flows word things for it


@dataclass(frozen=True)
class LocateResult:
    """status: found | ambiguous | not_found | need_place.
    texts: the replies to send, already in the person's language and within two segments each.
    place: the resolved place to remember for MORE and the next question (JSON-able) or None.
    sites: how many real places the answer lists (0 when "found" is fallback lines only), so the
    report tells places found from "none within 50 miles"."""
    status: str
    texts: tuple[str, ...] = ()
    place: Mapping[str, Any] | None = None
    sites: int = 0


class Services(Protocol):
    context: Context

    def locate(self, need: str, place_text: str | None, lang: str,
               last_place: Mapping[str, Any] | None = None) -> LocateResult: ...

    def more(self, lang: str, last_place: Mapping[str, Any]) -> LocateResult:
        """The next page of places for the remembered place and need (texting MORE)."""


@dataclass
class BoundServices:
    """The Services the runtime and the flow simulator hand the engine: a context, and the
    locator (bot.site_store.Locator, which only reads) bound to the time of the message."""
    context: Context
    locator: Any = None
    now: datetime | None = None

    def locate(self, need, place_text, lang, last_place=None) -> LocateResult:
        if self.locator is None:
            return LocateResult("not_found")
        return self.locator.locate(need, place_text, lang, last_place, self.now)

    def more(self, lang, last_place) -> LocateResult:
        if self.locator is None:
            return LocateResult("not_found")
        return self.locator.more(lang, last_place, self.now)
