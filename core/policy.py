"""When and whether to text someone: the nudge plan, quiet hours, send-time checks, retries,
pacing and the no-contact rule. Pure: no clock, no I/O, no randomness; `now` is an argument.

Why pure: the worker may die at any line and the outbox rows are the schedule, so every decision
must be recomputable from the same inputs (procrastinate's rule), and testable by hypothesis
without a database. The schedule and texts are data supervisors edit (bot/content/nudges.yaml,
loaded and checked by scheduler/nudge_content.py, re-exported here).
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Any, Callable, Iterable, Mapping, Sequence
from zoneinfo import ZoneInfo

from core.nudge_content import (DEFAULT_PATH, NoContactRule, QuietHours, Schedule,  # noqa: F401
                                     ScheduleError, load_schedule, load_schedule_text, render)

UTC = timezone.utc
WELCOME_GRACE = timedelta(hours=1)   # a plan made this late still carries the welcome (due at once)
PERMANENT = {21610: ("unsubscribed", "opted_out"),
             21211: ("invalid_number", "invalid"),
             21614: ("not_mobile", "invalid")}


@dataclass(frozen=True)
class PlannedNudge:
    """One outbox row to be: `dedupe_key` is unique per participant and per release (a person
    released again gets a fresh plan instead of colliding with the last one's keys)."""
    day: int            # days after release, in the person's local calendar
    due_at: datetime    # aware, UTC
    kind: str           # "welcome" | "nudge" | "closing"
    template_key: str   # "<text set>.<n>", see render()
    dedupe_key: str


# --- local time --------------------------------------------------------------------------------

def _aware(dt: datetime, name: str) -> None:
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got {dt!r}")


def _quiet_tod(t: time, q: QuietHours) -> bool:
    if q.start > q.end:                       # wraps midnight, e.g. 21:00-09:00
        return t >= q.start or t < q.end
    return q.start <= t < q.end


def in_quiet_hours(at_utc: datetime, tz: str, quiet: QuietHours) -> bool:
    _aware(at_utc, "at_utc")
    return _quiet_tod(at_utc.astimezone(ZoneInfo(tz)).time(), quiet)


def next_allowed(at_utc: datetime, tz: str, quiet: QuietHours) -> datetime:
    """`at_utc` itself if allowed, else the end of these quiet hours in local time (fold=0: an
    end time skipped by spring-forward lands just after the gap)."""
    _aware(at_utc, "at_utc")
    zone = ZoneInfo(tz)
    local = at_utc.astimezone(zone)
    if not _quiet_tod(local.time(), quiet):
        return at_utc.astimezone(UTC)
    day = local.date()
    if quiet.start > quiet.end and local.time() >= quiet.start:
        day += timedelta(days=1)
    end = datetime.combine(day, quiet.end, tzinfo=zone)
    out = end.astimezone(UTC)
    if out <= at_utc:                         # `at` is in the repeated hour after fall-back
        out = end.replace(fold=1).astimezone(UTC)
    return out


def _minutes(t: time) -> int:
    return t.hour * 60 + t.minute


def _base_minute(pref: time, quiet: QuietHours, spread: int) -> int:
    """The preferred minute of the day, moved into the daytime window so that pref + spread never
    enters quiet hours: 08:00 -> 09:00, 22:30 -> 21:00 - spread. Stays on the same calendar day."""
    s, e, p = _minutes(quiet.start), _minutes(quiet.end), _minutes(pref)
    windows = [(e, s)] if s > e else [(0, s), (e, 1440)]
    windows = [(lo, hi - spread) for lo, hi in windows if hi - spread > lo] or [(e, e)]
    return min((max(lo, min(p, hi)) for lo, hi in windows), key=lambda m: (abs(m - p), -m))


def spread_minute(participant_key: str, day: int, spread: int) -> int:
    """Deterministic jitter in [0, spread): same person and day, same minute, on every replan."""
    if spread <= 0:
        return 0
    h = hashlib.blake2b(f"{participant_key}:{day}".encode(), digest_size=8).digest()
    return int.from_bytes(h, "big") % spread


def _slot(release: date, day: int, zone: ZoneInfo, tz: str, base: int, key: str,
          sched: Schedule) -> datetime:
    m = base + spread_minute(key, day, sched.spread_minutes)
    local = datetime.combine(release + timedelta(days=day), time(m // 60, m % 60), tzinfo=zone)
    at = local.astimezone(UTC)                # fold=0: gap -> after it; repeated hour -> first
    if _quiet_tod(at.astimezone(zone).time(), sched.quiet):
        at = next_allowed(at, tz, sched.quiet)
    return at


# --- the plan ----------------------------------------------------------------------------------

def plan(release_date: date, schedule: Schedule, tz: str, checkin_time: time | None,
         participant_key: str, enrolled_at: datetime, now: datetime) -> list[PlannedNudge]:
    """Every text still to come for one release, in order. Nothing before `now` (missed days are
    dropped, never sent in a burst). If the person was enrolled after their day-0 time, a welcome
    goes out at enrollment (or when quiet hours end; a plan made up to WELCOME_GRACE later still
    carries it, due at once) and the next check-in comes on a later day, at least `min_gap`
    after. Nothing after `window_end_day`, the closing message's day: someone enrolled later
    than that gets an empty plan (the caller tells the peer)."""
    _aware(enrolled_at, "enrolled_at")
    _aware(now, "now")
    zone, sched, key = ZoneInfo(tz), schedule, participant_key
    base = _base_minute(checkin_time or sched.checkin_time, sched.quiet, sched.spread_minutes)
    tag = release_date.isoformat()
    out: list[PlannedNudge] = []
    floor, skip = now, set()
    if sched.late_welcome and enrolled_at > _slot(release_date, 0, zone, tz, base, key, sched):
        # From enrolled_at alone, so replans agree. A welcome planned up to WELCOME_GRACE late may
        # be sent as late as `latest` (quiet hours can push it to the morning): keep clear of both.
        welcome = next_allowed(enrolled_at, tz, sched.quiet)
        latest = next_allowed(welcome + WELCOME_GRACE, tz, sched.quiet)
        skip = {welcome.astimezone(zone).date(), latest.astimezone(zone).date()}
        floor = max(now, latest + sched.late_min_gap)
        day = (welcome.astimezone(zone).date() - release_date).days
        if now - welcome <= WELCOME_GRACE and day <= sched.window_end_day:
            out.append(PlannedNudge(day, welcome, "welcome", "welcome.0", f"welcome:{tag}"))
    slots = [(n, d, "nudge") for n, d in enumerate(sched.days)]
    if sched.send_closing:
        slots.append((0, sched.window_end_day, "closing"))
    past = (floor.astimezone(zone).date() - release_date).days - 1    # days surely gone: skip early
    for n, day, kind in slots:
        if day < past:
            continue
        due = _slot(release_date, day, zone, tz, base, key, sched)
        if due < floor or due.astimezone(zone).date() in skip:
            continue
        text_set = kind if kind == "closing" else ("first" if day == 0 and "first" in sched.texts else "nudge")
        dedupe = f"closing:{tag}" if kind == "closing" else f"nudge:{day}:{tag}"
        out.append(PlannedNudge(day, due, kind, f"{text_set}.{n}", dedupe))
    return sorted(out, key=lambda p: p.due_at)


# --- at send time ------------------------------------------------------------------------------

def status_of(participant: Any) -> dict:
    """The may_send() view of a db.models.Participant (or anything with opted_out and status)."""
    status = getattr(participant, "status", "active")
    return {"opted_out": bool(participant.opted_out), "active": status in ("active", "paused"),
            "paused": status == "paused"}


def wrote_first(last_inbound_at: datetime | None, now: datetime, window: timedelta) -> bool:
    """True when the person texted within `window`: then an answer may cross quiet hours."""
    return last_inbound_at is not None and timedelta(0) <= now - last_inbound_at <= window


def may_send(now: datetime, participant_status: Mapping[str, Any], tz: str, quiet: QuietHours,
             person_wrote_first: bool = False, *, due_at: datetime | None = None,
             stale_after: timedelta | None = None) -> tuple[bool, str]:
    """The re-check just before sending; the plan may be hours old. Reasons, in order:
    opted_out, inactive, paused, stale (a nudge too late to still make sense: skip, don't send
    late), quiet_hours (defer to next_allowed), ok. Missing status keys raise: never guess."""
    _aware(now, "now")
    if participant_status["opted_out"]:
        return False, "opted_out"
    if not participant_status["active"]:
        return False, "inactive"
    if participant_status.get("paused", False):
        return False, "paused"
    if due_at is not None and stale_after is not None and now - due_at > stale_after:
        return False, "stale"
    if not person_wrote_first and in_quiet_hours(now, tz, quiet):
        return False, "quiet_hours"
    return True, "ok"


# --- retries -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class ErrorInfo:
    """What a send attempt failed with. `network` is "timeout" or "connection" when no HTTP
    response came back; `retry_after` is a 429's Retry-After in seconds."""
    http_status: int | None = None
    twilio_code: int | None = None
    network: str | None = None
    retry_after: float | None = None
    message: str = ""


@dataclass(frozen=True)
class Retry:
    at: datetime
    reason: str


@dataclass(frozen=True)
class GiveUp:
    reason: str
    mark_contact: str | None = None    # "opted_out" | "invalid" | None


def _unit(seed: object, n: int) -> float:
    h = hashlib.blake2b(f"{seed}:{n}".encode(), digest_size=8).digest()
    return int.from_bytes(h, "big") / 2**64


def retry_decision(attempts: int, error: ErrorInfo, now: datetime, limit: int = 5, *,
                   seed: object = "", base: timedelta = timedelta(seconds=30),
                   cap: timedelta = timedelta(minutes=30)) -> Retry | GiveUp:
    """`attempts` counts tries made, this failed one included. Permanent Twilio errors never
    retry; temporary ones (429, 5xx, no response) back off exponentially with "equal jitter"
    (half fixed, half drawn from `seed`, e.g. the outbox row id) so a burst does not retry in
    lockstep, honouring Retry-After, until `limit` tries."""
    _aware(now, "now")
    if error.twilio_code in PERMANENT:
        reason, mark = PERMANENT[error.twilio_code]
        return GiveUp(reason, mark)
    status = error.http_status
    temporary = error.network is not None or status == 429 or (status is not None and status >= 500)
    if not temporary:
        return GiveUp(f"rejected:{error.twilio_code or status or 'unknown'}")
    reason = error.network or f"http_{status}"
    if attempts >= limit:
        return GiveUp(f"retries_exhausted:{reason}")
    delay = min(cap, base * 2 ** max(0, attempts - 1))
    delay = delay / 2 + delay / 2 * _unit(seed, attempts)
    if error.retry_after:
        delay = max(delay, timedelta(seconds=error.retry_after))
    return Retry(now + delay, reason)


# --- pacing ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class TokenBucket:
    """Sends per second for one sender (1 long code, 3 toll-free): `rate` tokens a second up to
    `capacity`. Every method returns a new bucket; the dispatcher keeps the latest."""
    rate: float
    capacity: float
    tokens: float
    at: datetime

    @classmethod
    def full(cls, rate: float, now: datetime, capacity: float | None = None) -> "TokenBucket":
        cap = capacity if capacity is not None else max(1.0, rate)
        return cls(rate, cap, cap, now)

    def refilled(self, now: datetime) -> "TokenBucket":
        elapsed = max(0.0, (now - self.at).total_seconds())    # a clock going back adds nothing
        return TokenBucket(self.rate, self.capacity,
                           min(self.capacity, self.tokens + elapsed * self.rate), max(now, self.at))

    def take(self, now: datetime) -> tuple[bool, "TokenBucket"]:
        b = self.refilled(now)
        if b.tokens >= 1:
            return True, TokenBucket(b.rate, b.capacity, b.tokens - 1, b.at)
        return False, b

    def ready_at(self, now: datetime) -> datetime:
        b = self.refilled(now)
        return b.at if b.tokens >= 1 else b.at + timedelta(seconds=(1 - b.tokens) / b.rate)


def daily_cap_left(daily_cap: int | None, sent_today: int) -> int | None:
    """None means no cap. "Today" is the caller's choice of day (the sender's, usually UTC)."""
    return None if daily_cap is None else max(0, daily_cap - sent_today)


@dataclass(frozen=True)
class Slot:
    item: Any
    at: datetime


def pace(backlog: Iterable[Any], rate_per_second: float, daily_cap: int | None, sent_today: int,
         now: datetime, due: Callable[[Any], datetime] = lambda x: x.due_at) -> list[Slot]:
    """Send times for a backlog: oldest due first, never faster than the rate, never before an
    item is due, and no more than today's cap allows (the rest wait for tomorrow)."""
    items = sorted(backlog, key=due)
    left = daily_cap_left(daily_cap, sent_today)
    if left is not None:
        items = items[:left]
    step, t, out = timedelta(seconds=1 / rate_per_second), now, []
    for item in items:
        t = max(t, due(item))
        out.append(Slot(item, t))
        t += step
    return out


# --- people who go quiet -----------------------------------------------------------------------

def no_contact_due(nudge_history: Sequence[tuple[datetime, bool]], release_date: date,
                   now: datetime, rule: NoContactRule, tz: str = "UTC") -> bool:
    """True when the person has answered none of their latest nudges and at least
    `unanswered_in_a_row` of those went out in the first `within_days` days. A nudge younger than
    `wait` is not yet unanswered (and does not break the run). Any reply ends the run. The caller
    opens one escalation per release (dedupe on it), not one per sweep."""
    _aware(now, "now")
    zone, run = ZoneInfo(tz), 0
    for sent_at, replied in sorted(nudge_history, key=lambda h: h[0], reverse=True):
        if replied:
            break
        if now - sent_at < rule.wait:
            continue
        if (sent_at.astimezone(zone).date() - release_date).days < rule.within_days:
            run += 1
    return run >= rule.unanswered_in_a_row
