"""Enrolling and editing a person: one validator and one `enroll()` for the inbox, the CLI and
the integration API, so a record is held to the same rules whichever door it came through.

`validate()` is pure (today is an argument). `enroll()`, `update()`, `pause()` and `resume()`
touch the database but not Flask; callers write their own audit rows and commit. Nudge planning
is not done here: the caller that owns the schedule adds it after enroll().
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Mapping
from zoneinfo import available_timezones

from sqlalchemy import select, update as sql_update
from sqlalchemy.orm import Session

from bot.channels.addresses import BadAddress, e164
from core import channels
from db.models import Contact, Participant, ScheduledMessage, User

LANGUAGES = {"en": "English", "es": "Español"}
CHANNELS = channels.PHONE        # staff and the API enroll people on a phone number
CONSENT_CHANNELS = {"in_person": "In person", "phone": "By phone", "written": "Written form", "sms": "By text"}
STAFF_WHO_CARRY_A_CASELOAD = ("peer", "supervisor")
_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
RELEASE_RANGE = timedelta(days=3 * 365)


class EnrollmentError(ValueError):
    def __init__(self, field: str, message: str, person_id: int | None = None):
        super().__init__(message)
        self.field, self.message, self.person_id = field, message, person_id


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


def _check_peer(s: Session, peer_id: int | None) -> None:
    if peer_id is None:
        return
    peer = s.get(User, peer_id)
    if peer is None or not peer.active or peer.role not in STAFF_WHO_CARRY_A_CASELOAD:
        raise EnrollmentError("peer_id", "That peer is not an active peer or supervisor.")


def _check_external_id(s: Session, external_id: str | None, person_id: int | None) -> None:
    if external_id is None:
        return
    other = s.scalar(select(Participant.id).where(Participant.external_id == external_id))
    if other is not None and other != person_id:
        raise EnrollmentError("external_id", f"That external id belongs to person #{other}.", other)


def enroll(s: Session, e: Enrollment, now: datetime) -> Participant:
    """Make the person active. Someone who already texted in (a prospect) is enrolled in place;
    someone already enrolled, or whose number opted out, is refused with the reason."""
    if e.address is None:
        raise EnrollmentError("phone", "A phone number is required.")
    _check_peer(s, e.peer_id)
    contact = s.scalar(select(Contact).where(Contact.address == e.address))
    person = s.get(Participant, contact.participant_id) if contact is not None else None
    if person is not None and person.status in ("active", "paused", "merged"):
        target = person.merged_into_id or person.id
        raise EnrollmentError("phone", f"This number is already enrolled as person #{target}.", target)
    if contact is not None and (contact.opted_out_at or (person and person.opted_out)):
        raise EnrollmentError("phone", "This number opted out (STOP). Only the person can rejoin, "
                                       "by texting START.", person.id if person else None)
    _check_external_id(s, e.external_id, person.id if person else None)
    if person is None:
        person = Participant(created_at=now, fields={})
        s.add(person)
        s.flush()
        s.add(Contact(participant_id=person.id, channel=e.address.split(":", 1)[0],
                      address=e.address, created_at=now))
    person.first_name = e.first_name or person.first_name
    person.language, person.timezone, person.checkin_time = e.language, e.timezone, e.checkin_time
    person.release_date, person.assigned_peer_id = e.release_date, e.peer_id
    person.external_id = e.external_id or person.external_id
    person.status, person.consent_at, person.consent_channel = "active", now, e.consent_channel
    s.flush()
    return person


EDITABLE = ("first_name", "language", "timezone", "checkin_time", "release_date", "assigned_peer_id",
            "external_id")


def update(s: Session, person: Participant, e: Enrollment, now: datetime) -> dict[str, list]:
    """Apply an edit; returns {field: [old, new]} for the audit trail. A new number is added as
    another contact; one that belongs to someone else is refused (merge the records instead)."""
    _check_peer(s, e.peer_id)
    _check_external_id(s, e.external_id, person.id)
    wanted = {"first_name": e.first_name, "language": e.language, "timezone": e.timezone,
              "checkin_time": e.checkin_time, "release_date": e.release_date,
              "assigned_peer_id": e.peer_id, "external_id": e.external_id}
    changes: dict[str, list] = {}
    for name in EDITABLE:
        old, new = getattr(person, name), wanted[name]
        if old != new:
            changes[name] = [_plain(old), _plain(new)]
            setattr(person, name, new)
    if e.address is not None:
        contact = s.scalar(select(Contact).where(Contact.address == e.address))
        if contact is not None and contact.participant_id != person.id:
            raise EnrollmentError("phone", f"That number belongs to person #{contact.participant_id}: "
                                           "merge the two records instead.", contact.participant_id)
        if contact is None:
            s.add(Contact(participant_id=person.id, channel=e.address.split(":", 1)[0],
                          address=e.address, created_at=now))
            changes["contact_added"] = [None, e.address.split(":", 1)[0]]
    s.flush()
    return changes


def _plain(value):
    return value.isoformat() if isinstance(value, date) else value


def pause(s: Session, person: Participant, now: datetime) -> int:
    """Stop nudges without losing the plan: pending rows are held. Returns how many."""
    person.status = "paused"
    return s.execute(sql_update(ScheduledMessage)
                     .where(ScheduledMessage.participant_id == person.id, ScheduledMessage.state == "pending")
                     .values(state="held", updated_at=now)
                     .execution_options(synchronize_session=False)).rowcount or 0


def resume(s: Session, person: Participant, now: datetime) -> int:
    """Release held rows that are still ahead; ones that fell due while paused are skipped, so a
    person coming back is never sent a burst of missed check-ins. Returns how many resume."""
    person.status = "active"
    base = sql_update(ScheduledMessage).where(ScheduledMessage.participant_id == person.id,
                                              ScheduledMessage.state == "held")
    s.execute(base.where(ScheduledMessage.due_at <= now)
              .values(state="skipped", last_error="due while paused", updated_at=now)
              .execution_options(synchronize_session=False))
    return s.execute(base.where(ScheduledMessage.due_at > now).values(state="pending", updated_at=now)
                     .execution_options(synchronize_session=False)).rowcount or 0
