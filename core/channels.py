"""The channels a person can be reached on, one entry each: the pure part of the registry.

Every list of channels reads this table (contacts linking, enrollment, the outbox, the inbox's
search, the API's enums), so a channel's rules live in its entry and nowhere else:

- `prefix`: addresses are channel-qualified, "sms:+13125552671", "webchat:<random id>";
- `phone`: the address is an E.164 number; one number on two phone channels is one person, and
  staff or the API may enroll someone on it;
- `carrier`: a sender carries the text (Twilio, or the sandbox sender without credentials);
  without one the stored message is the delivery (the web chat page shows it);
- `quiet_hours`: whether the program's quiet hours hold texts back. Web chat: no, because
  nothing buzzes a phone; the person reads it when they next open the page (docs/architecture.md);
- `window`: the rule that decides send / template / hold for one text (WhatsApp's 24 hours).

The shell's half (the inbound adapter and the sender of each entry) is bot/channels/registry.py.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Callable

from core import whatsapp

Window = Callable[[datetime | None, datetime, str | None, str], whatsapp.Route]


def always_open(last_inbound_at: datetime | None, now: datetime, template_sid: str | None,
                body: str) -> whatsapp.Route:
    return whatsapp.SEND


@dataclass(frozen=True)
class Channel:
    name: str
    label: str
    phone: bool
    carrier: bool
    quiet_hours: bool
    window: Window = always_open

    @property
    def prefix(self) -> str:
        return self.name + ":"

    def address(self, rest: str) -> str:
        return self.prefix + rest

    @property
    def has_window(self) -> bool:
        """Texts can be held outside a window (the person's message reopens it)."""
        return self.window is not always_open


SMS = Channel("sms", "SMS", phone=True, carrier=True, quiet_hours=True)
WHATSAPP = Channel("whatsapp", "WhatsApp", phone=True, carrier=True, quiet_hours=True, window=whatsapp.window)
WEBCHAT = Channel("webchat", "Web chat", phone=False, carrier=False, quiet_hours=False)

REGISTRY: dict[str, Channel] = {c.name: c for c in (SMS, WHATSAPP, WEBCHAT)}
NAMES = tuple(REGISTRY)
PHONE = tuple(c.name for c in REGISTRY.values() if c.phone)           # enrollable, linked by number
CARRIED = tuple(c.name for c in REGISTRY.values() if c.carrier)        # a sender delivers them
UNCARRIED = tuple(c.name for c in REGISTRY.values() if not c.carrier)  # the stored message is the delivery


def get(name: str) -> Channel:
    try:
        return REGISTRY[name]
    except KeyError:
        raise ValueError(f"unknown channel {name!r} (known: {', '.join(NAMES)})") from None


def of(address: str) -> Channel:
    """The channel of a qualified address ("whatsapp:+1…" → WhatsApp)."""
    return get(address.partition(":")[0])


def phone_addresses(number: str) -> list[str]:
    """Every address one E.164 number can have (to find a person by number on any phone channel)."""
    return [REGISTRY[name].address(number) for name in PHONE]


def route(channel: str, last_inbound_at: datetime | None, now: datetime, template_sid: str | None,
          body: str) -> whatsapp.Route:
    """send | template | hold for one text, by the channel's own window rule."""
    return get(channel).window(last_inbound_at, now, template_sid, body)
