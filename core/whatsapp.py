"""WhatsApp's 24-hour customer-service window, as a pure rule.

WhatsApp lets a business send free-form messages only within 24 hours of the person's last
message to it. Outside that window only a template Meta has approved may be sent (Twilio: a
Content SID, with its variables). Homeward's rule for any outbound WhatsApp text:

    inside the window                       -> send it as written
    outside, and a template is configured   -> send the approved template, the text as {{1}}
    outside, and no template                -> hold it ("held: outside WhatsApp 24-hour window");
                                               it is released when the person writes again

Pure: `now` is an argument; nothing here reads the clock or the database.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

WINDOW = timedelta(hours=24)
HELD_REASON = "held: outside WhatsApp 24-hour window"
HELD_CODE = "whatsapp_24h"           # Message.error_code on a held message (the inbox explains it)


@dataclass(frozen=True)
class Template:
    """An approved WhatsApp template: Twilio's Content SID (HX...) and its variables."""
    content_sid: str
    variables: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Route:
    action: str                       # send | template | hold
    template: Template | None = None


SEND = Route("send")
HOLD = Route("hold")


def within_window(last_inbound_at: datetime | None, now: datetime) -> bool:
    """Did the person write to us on WhatsApp less than 24 hours ago?"""
    return last_inbound_at is not None and now - last_inbound_at < WINDOW


def window(last_inbound_at: datetime | None, now: datetime, template_sid: str | None, body: str) -> Route:
    """The WhatsApp entry's window rule (core/channels.py): how one text may go out now."""
    if within_window(last_inbound_at, now):
        return SEND
    if template_sid:
        return Route("template", Template(template_sid, {"1": body}))
    return HOLD


def route(channel: str, last_inbound_at: datetime | None, now: datetime, template_sid: str | None,
          body: str) -> Route:
    """How one outbound text may go out on this contact's channel (by that channel's rule)."""
    from core import channels    # channels' WhatsApp entry names `window` above
    return channels.route(channel, last_inbound_at, now, template_sid, body)
