"""Reading an enrollment or an edit (a form, a CLI call, an API body) into a clean Enrollment:
one validator for every door, so a record is held to the same rules whichever way it came.
`validate()` is pure (today is an argument); the operations are bot/participants.py's.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from typing import Mapping
from zoneinfo import available_timezones

from bot.channels.addresses import BadAddress, e164
from core import channels

LANGUAGES = {"en": "English", "es": "Español"}
CHANNELS = channels.PHONE        # staff and the API enroll people on a phone number
CONSENT_CHANNELS = {"in_person": "In person", "phone": "By phone", "written": "Written form", "sms": "By text"}
_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
RELEASE_RANGE = timedelta(days=3 * 365)


class EnrollmentError(ValueError):
    """`field` is the form field to show it on; `code` is the API's error code."""

    def __init__(self, field: str, message: str, person_id: int | None = None, code: str = "invalid"):
        super().__init__(message)
        self.field, self.message, self.person_id, self.code = field, message, person_id, code


@dataclass(frozen=True)
class Enrollment:
    address: str | None            # "sms:+1..." when a number was given
    release_date: date | None
    first_name: str | None
    language: str
    timezone: str
    checkin_time: str | None
    peer_id: int | None
    consent_channel: str | None
    external_id: str | None = None


@lru_cache(maxsize=1)
def timezones() -> frozenset[str]:
    return frozenset(available_timezones())


def validate(raw: Mapping[str, str | None], today: date, *, new: bool = True,
             default_tz: str = "America/New_York") -> tuple[Enrollment | None, dict[str, str]]:
    """Check a form (strings) and return a clean Enrollment, or None and {field: message}.
    `new=True` (enrolling): phone, release date and consent are required; editing: optional."""
    get = lambda k: (raw.get(k) or "").strip()  # noqa: E731
    errors: dict[str, str] = {}
    address = None
    channel = get("channel") or channels.SMS.name
    if channel not in CHANNELS:
        errors["channel"] = "Choose SMS or WhatsApp."
    if get("phone"):
        try:
            address = channels.get(channel).address(e164(get('phone')))
        except BadAddress:
            errors["phone"] = "Enter a phone number such as +1 312 555 2671."
    elif new:
        errors["phone"] = "A phone number is required."
    release = None
    if get("release_date"):
        try:
            release = date.fromisoformat(get("release_date"))
            if abs(release - today) > RELEASE_RANGE:
                errors["release_date"] = "That date is more than three years away; check the year."
        except ValueError:
            errors["release_date"] = "Use the form YYYY-MM-DD."
    elif new:
        errors["release_date"] = "The release date is required (past, today or future)."
    language = get("language") or "en"
    if language not in LANGUAGES:
        errors["language"] = "Choose English or Spanish."
    tz = get("timezone") or default_tz
    if tz not in timezones():
        errors["timezone"] = "Use a time zone name such as America/Chicago."
    checkin = get("checkin_time") or None
    if checkin and not _HHMM.match(checkin):
        errors["checkin_time"] = "Use 24-hour HH:MM, for example 10:30."
    peer_id = None
    if get("peer_id"):
        if get("peer_id").isdigit():
            peer_id = int(get("peer_id"))
        else:
            errors["peer_id"] = "Choose a peer from the list."
    consent = get("consent_channel") or None
    if consent and consent not in CONSENT_CHANNELS:
        errors["consent_channel"] = "Choose how the person agreed."
    if new and (not consent or get("consent") not in ("1", "on", "yes", "true")):
        errors["consent"] = "Record that the person agreed to receive texts, and how."
    first_name = get("first_name")[:80] or None
    external_id = get("external_id")[:120] or None
    if errors:
        return None, errors
    return Enrollment(address, release, first_name, language, tz, checkin, peer_id, consent, external_id), {}
