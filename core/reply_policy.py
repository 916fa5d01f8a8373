"""May a peer text this person now? Pure, so the rule is tested without a database or a clock.

Refusals are absolute (opted out, unusable number, empty or too long). Quiet hours are a
warning the peer must confirm, waived when the person themselves wrote in the last hour: an
answer to someone who just texted is welcome at any hour, a cold text at 2am is not. Channels
without quiet hours (web chat: nothing buzzes) never warn.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta

from core import channels
from core.sms import count_segments
from core.policy import QuietHours, in_quiet_hours, wrote_first

DEFAULT_QUIET = QuietHours(time(21, 0), time(9, 0))
WROTE_FIRST_WINDOW = timedelta(hours=1)
MAX_SEGMENTS = 10  # Twilio refuses bodies over 1,600 characters


@dataclass(frozen=True)
class ContactState:
    channel: str
    opted_out: bool
    invalid_reason: str | None


@dataclass(frozen=True)
class ReplyCheck:
    refusal: str | None   # a reason nothing may be sent
    quiet: bool           # inside quiet hours and the person did not just write


def check(body: str, person_opted_out: bool, contact: ContactState | None, tz: str,
          last_inbound_at: datetime | None, now: datetime, quiet: QuietHours = DEFAULT_QUIET) -> ReplyCheck:
    is_quiet = (in_quiet_hours(now, tz, quiet) and not wrote_first(last_inbound_at, now, WROTE_FIRST_WINDOW)
                and (contact is None or channels.get(contact.channel).quiet_hours))   # web chat: no buzz
    if person_opted_out:
        return ReplyCheck("This person opted out (texted STOP). Nothing can be sent until they text "
                          "START themselves.", is_quiet)
    if contact is None:
        return ReplyCheck("There is no number to reach this person.", is_quiet)
    if contact.opted_out:
        return ReplyCheck("This number opted out (STOP). Nothing can be sent to it.", is_quiet)
    if contact.invalid_reason:
        return ReplyCheck(f"The carrier reported this number as unusable ({contact.invalid_reason}).", is_quiet)
    if not body.strip():
        return ReplyCheck("Write a message first.", is_quiet)
    if count_segments(body).segments > MAX_SEGMENTS:
        return ReplyCheck(f"That message is longer than {MAX_SEGMENTS} segments; shorten it.", is_quiet)
    return ReplyCheck(None, is_quiet)


def quiet_note(tz: str, quiet: QuietHours = DEFAULT_QUIET) -> str:
    return (f"It is quiet hours ({quiet.start:%H:%M}–{quiet.end:%H:%M}) where this person lives "
            f"({tz}) and they have not written in the last hour.")
