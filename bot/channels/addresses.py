"""Channel-qualified addresses: a person is reached at "sms:+1...", "whatsapp:+1..." or
"webchat:<id>". Numbers are normalised to E.164 with phonenumbers so one phone is one contact."""
from __future__ import annotations

from functools import lru_cache

import phonenumbers

from core import channels


class BadAddress(ValueError):
    pass


@lru_cache(maxsize=4096)    # every inbound text parses its From; the same people write again
def e164(raw: str, region: str = "US") -> str:
    try:
        number = phonenumbers.parse(raw.strip(), region)
    except phonenumbers.NumberParseException as exc:
        raise BadAddress(f"not a phone number ({exc.error_type})") from None
    if not phonenumbers.is_possible_number(number):
        raise BadAddress("not a possible phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def from_twilio(raw_from: str) -> tuple[str, str]:
    """Twilio's From ("+1415...", "whatsapp:+1415...") → (channel, qualified address). Twilio
    writes a WhatsApp number with our own prefix; a bare number is an SMS."""
    channel = channels.WHATSAPP if raw_from.startswith(channels.WHATSAPP.prefix) else channels.SMS
    return channel.name, channel.address(e164(raw_from.removeprefix(channels.WHATSAPP.prefix)))


def to_twilio(address: str) -> str:
    """Qualified address → what Twilio's To wants (WhatsApp keeps its prefix, SMS is bare)."""
    channel = channels.of(address)
    rest = address[len(channel.prefix):]
    return channel.address(rest) if channel is channels.WHATSAPP else rest
