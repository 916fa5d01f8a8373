"""The program report, computed from plain rows: pure, so every number is testable without a
database. The shell (web/admin_report.py) loads the rows for a period and draws the charts.

De-identified by design: the rows carry ids only to join (a person's nudges to their replies),
and every table it returns is a count, a rate or a time. No names, numbers or message bodies.

Definitions (the page states them too):
- enrolled: consented, or active/paused/completed; new in the period by consent time.
- a check-in (nudge) is answered when the person writes within 24 hours and before the next
  one (the no-contact rule's window); its day is the day since release on the person's calendar.
- time to first response: ticket opened → first peer reply. Within target: answered by the
  ticket's own due time; missed: answered later, or still unanswered after it; tickets not yet
  due and unanswered are left out of the share.
- percentiles are nearest-rank: p90 is a time 90% of answered tickets beat or matched.
"""
from __future__ import annotations

import math
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any, Iterable, Mapping, Sequence
from zoneinfo import ZoneInfo

ANSWER_WINDOW = timedelta(hours=24)
PRIORITIES = ("urgent", "high", "normal")
TIERS = ("low", "moderate", "high")
NUDGE_KINDS = ("nudge", "welcome")
LOCATOR_STATUSES = ("found", "need_place", "ambiguous", "not_found", "more")
EVENT_DETAIL = {"checkin": "mood", "screening": "result", "safety": "kind", "timed_out": "flow", "expired": "flow"}


@dataclass(frozen=True)
class Period:
    """Whole local days, `start` to `end` inclusive, in the program's time zone."""
    start: date
    end: date
    tz: str = "America/New_York"

    @property
    def start_utc(self) -> datetime:
        return datetime.combine(self.start, time(0), tzinfo=ZoneInfo(self.tz))

    @property
    def end_utc(self) -> datetime:
        """Exclusive: midnight after `end`."""
        return datetime.combine(self.end + timedelta(days=1), time(0), tzinfo=ZoneInfo(self.tz))

    def __contains__(self, at: datetime | None) -> bool:
        return at is not None and self.start_utc <= at < self.end_utc

    def local_date(self, at: datetime) -> date:
        return at.astimezone(ZoneInfo(self.tz)).date()


@dataclass(frozen=True)
class PersonRow:
    id: int
    status: str
    release_date: date | None = None
    timezone: str = "America/New_York"
    consent_at: datetime | None = None
    opted_out_at: datetime | None = None
    created_at: datetime | None = None
    naloxone_on_hand: bool | None = None


@dataclass(frozen=True)
class MessageRow:
    participant_id: int
    direction: str        # in | out
    kind: str             # person | bot | peer | nudge | welcome | ...
    at: datetime


@dataclass(frozen=True)
class EventRow:
    name: str
    data: Mapping[str, Any]
    at: datetime
    participant_id: int | None = None


@dataclass(frozen=True)
class TicketRow:
    reason: str
    priority: str
    created_at: datetime
    sla_due_at: datetime
    first_response_at: datetime | None = None
    resolved_at: datetime | None = None
    outcome: str | None = None


@dataclass(frozen=True)
class Table:
    name: str                   # for the CSV link and the chart's id
    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple, ...]
    note: str = ""


@dataclass(frozen=True)
class Report:
    period: Period
    tables: Mapping[str, Table] = field(default_factory=dict)


# -- helpers ---------------------------------------------------------------------------------------

def rate(part: int, whole: int) -> float | None:
    """Percent, one decimal; None when there is nothing to divide."""
    return round(100.0 * part / whole, 1) if whole else None


def percentile(values: Sequence[float], p: float) -> float | None:
    """Nearest-rank percentile (p in 0..100) of `values`; None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(math.ceil(p / 100 * len(ordered)), 1) - 1]


def _minutes(delta: timedelta) -> float:
    return round(delta.total_seconds() / 60, 1)


def _enrolled(p: PersonRow) -> bool:
    return p.status != "merged" and (p.consent_at is not None or p.status in ("active", "paused", "completed"))


def _yes(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("yes", "true", "si", "sí"):
        return True
    if isinstance(value, str) and value.strip().lower() in ("no", "false"):
        return False
    return None


naloxone_answer = _yes


# -- the tables ------------------------------------------------------------------------------------

def people(rows: Iterable[PersonRow], period: Period) -> Table:
    rows = [p for p in rows if p.status != "merged"]
    enrolled = [p for p in rows if _enrolled(p)]
    opted = [p for p in rows if p.opted_out_at is not None]
    data = (
        ("Enrolled", len(enrolled), sum(1 for p in enrolled if (p.consent_at or p.created_at) in period)),
        ("Active", sum(1 for p in enrolled if p.status == "active" and p.opted_out_at is None), None),
        ("Paused", sum(1 for p in enrolled if p.status == "paused" and p.opted_out_at is None), None),
        ("Opted out", len(opted), sum(1 for p in opted if p.opted_out_at in period)),
        ("Completed", sum(1 for p in enrolled if p.status == "completed"), None),
        ("Texted in, not enrolled", sum(1 for p in rows if not _enrolled(p)),
         sum(1 for p in rows if not _enrolled(p) and p.created_at in period)),
    )
    return Table("people", "People in the program", ("measure", "now", "new in period"), data,
                 "“Now” counts everyone to date; “new in period” by consent (or opt-out) time.")


def checkin_response(persons: Iterable[PersonRow], messages: Iterable[MessageRow], period: Period) -> Table:
    """Check-ins sent in the period and answered, by day since release."""
    by_id = {p.id: p for p in persons}
    nudges: dict[int, list[datetime]] = defaultdict(list)
    inbound: dict[int, list[datetime]] = defaultdict(list)
    for m in messages:
        if m.direction == "out" and m.kind in NUDGE_KINDS:
            nudges[m.participant_id].append(m.at)
        elif m.direction == "in":
            inbound[m.participant_id].append(m.at)
    sent: Counter = Counter()
    answered: Counter = Counter()
    for pid, times in nudges.items():
        person = by_id.get(pid)
        if person is None or person.release_date is None:
            continue
        times.sort()
        replies = sorted(inbound.get(pid, ()))
        for i, at in enumerate(times):
            if at not in period:
                continue
            until = min(at + ANSWER_WINDOW, times[i + 1]) if i + 1 < len(times) else at + ANSWER_WINDOW
            day = (at.astimezone(ZoneInfo(person.timezone)).date() - person.release_date).days
            sent[day] += 1
            answered[day] += any(at < r <= until for r in replies)
    data = tuple((day, sent[day], answered[day], rate(answered[day], sent[day])) for day in sorted(sent))
    total = sum(sent.values())
    return Table("checkins", "Check-in response rate by day since release",
                 ("day since release", "check-ins sent", "answered", "response rate %"), data,
                 f"{sum(answered.values())} of {total} answered ({rate(sum(answered.values()), total) or 0}%). "
                 "Answered: the person wrote within 24 hours and before the next check-in.")


def week_of(d: date) -> date:
    return d - timedelta(days=d.weekday())


def risk_tiers(events: Iterable[EventRow], period: Period) -> Table:
    weeks: dict[date, Counter] = defaultdict(Counter)
    for e in events:
        if e.name == "risk_check" and e.at in period:
            tier = str((e.data or {}).get("tier") or "unknown")
            weeks[week_of(period.local_date(e.at))][tier if tier in TIERS else "unknown"] += 1
    cols = TIERS + (("unknown",) if any(c["unknown"] for c in weeks.values()) else ())
    data = tuple((w.isoformat(),) + tuple(weeks[w][t] for t in cols) for w in sorted(weeks))
    return Table("risk", "Risk tiers over time (risk checks, by week starting Monday)", ("week",) + cols, data,
                 "Each completed risk check counts once, in the week it was done.")


def escalations(tickets: Iterable[TicketRow], period: Period) -> Table:
    counts: dict[str, Counter] = defaultdict(Counter)
    for t in tickets:
        if t.created_at in period:
            counts[t.reason][t.priority] += 1
    data = sorted(((reason,) + tuple(c[p] for p in PRIORITIES) + (sum(c.values()),) for reason, c in counts.items()),
                  key=lambda r: (-r[-1], r[0]))
    return Table("escalations", "Tickets for peers, by reason and priority", ("reason",) + PRIORITIES + ("total",),
                 tuple(data), "Tickets opened in the period, at their final priority.")


def response_times(tickets: Iterable[TicketRow], period: Period, targets: Mapping[str, int], now: datetime) -> Table:
    groups: dict[str, list[TicketRow]] = {p: [] for p in PRIORITIES}
    for t in tickets:
        if t.created_at in period:
            groups.setdefault(t.priority, []).append(t)
    data = []
    for name, rows in list(groups.items()) + [("all", [t for g in groups.values() for t in g])]:
        waits = [_minutes(t.first_response_at - t.created_at) for t in rows if t.first_response_at]
        within = sum(1 for t in rows if t.first_response_at and t.first_response_at <= t.sla_due_at)
        missed = sum(1 for t in rows if (t.first_response_at and t.first_response_at > t.sla_due_at)
                     or (not t.first_response_at and now > t.sla_due_at))
        median = round(statistics.median(waits), 1) if waits else None
        data.append((name, targets.get(name) if name != "all" else None, len(rows), len(waits), median,
                     percentile(waits, 90), within, missed, rate(within, within + missed)))
    return Table("response", "Time to first peer response against the target",
                 ("priority", "target min", "tickets", "answered", "median min", "p90 min", "within target",
                  "missed", "share within target %"), tuple(data),
                 "Within target: answered by the ticket's due time. Missed: answered later or still waiting past it.")


def locator(events: Iterable[EventRow], period: Period) -> Table:
    counts: dict[str, Counter] = defaultdict(Counter)
    for e in events:
        if e.name == "locator" and e.at in period:
            counts[str((e.data or {}).get("need") or "unknown")][str((e.data or {}).get("status") or "unknown")] += 1
    statuses = tuple(s for s in LOCATOR_STATUSES if any(c[s] for c in counts.values()))
    statuses += tuple(sorted({s for c in counts.values() for s in c} - set(statuses)))
    data = sorted(((need,) + tuple(c[s] for s in statuses) + (sum(c.values()),) for need, c in counts.items()),
                  key=lambda r: (-r[-1], r[0]))
    return Table("locator", "Where-to-get-it questions, by need and answer", ("need",) + statuses + ("total",),
                 tuple(data),
                 "found: places were sent; need_place/ambiguous: we asked where; more: asked for more places.")


def naloxone(persons: Iterable[PersonRow]) -> Table:
    enrolled = [p for p in persons if _enrolled(p)]
    yes = sum(1 for p in enrolled if p.naloxone_on_hand is True)
    no = sum(1 for p in enrolled if p.naloxone_on_hand is False)
    return Table("naloxone", "Naloxone on hand", ("answer", "people", "% of those asked"),
                 (("has naloxone", yes, rate(yes, yes + no)), ("does not", no, rate(no, yes + no)),
                  ("not asked yet", len(enrolled) - yes - no, None)),
                 "Everyone enrolled, as of their latest answer in the risk check (not limited to the period).")


def outcomes(tickets: Iterable[TicketRow], period: Period, labels: Mapping[str, str]) -> Table:
    counts = Counter(t.outcome for t in tickets if t.resolved_at in period and t.outcome)
    keys = list(labels) + sorted(set(counts) - set(labels))
    return Table("outcomes", "Recorded outcomes (tickets resolved in the period)", ("outcome", "tickets"),
                 tuple((labels.get(k, k), counts[k]) for k in keys),
                 "What peers recorded when resolving: referrals, naloxone handed out, overdoses and reversals "
                 "reported.")


def conversation_events(events: Iterable[EventRow], period: Period) -> Table:
    counts: Counter = Counter()
    for e in events:
        if e.at in period and e.name in EVENT_DETAIL:
            detail = (e.data or {}).get(EVENT_DETAIL[e.name])
            counts[(e.name, f"{EVENT_DETAIL[e.name]} {detail}" if detail not in (None, "") else "")] += 1
    return Table("events", "What happened in conversations", ("event", "detail", "count"),
                 tuple((n, d, c) for (n, d), c in sorted(counts.items(), key=lambda kv: (kv[0][0], str(kv[0][1])))),
                 "Check-in moods (1 really rough … 5 really good), screenings, safety messages answered, "
                 "conversations that timed out or expired.")


def build(period: Period, persons: Sequence[PersonRow], messages: Sequence[MessageRow],
          events: Sequence[EventRow], tickets: Sequence[TicketRow], targets: Mapping[str, int],
          outcome_labels: Mapping[str, str], now: datetime) -> Report:
    tables = (people(persons, period), checkin_response(persons, messages, period), risk_tiers(events, period),
              escalations(tickets, period), response_times(tickets, period, targets, now),
              locator(events, period), naloxone(persons), outcomes(tickets, period, outcome_labels),
              conversation_events(events, period))
    return Report(period, {t.name: t for t in tables})
