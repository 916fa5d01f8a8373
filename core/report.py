"""The program report, computed from plain rows: pure, so every number is testable without a
database. The shell (web/admin/report.py) loads the rows for a period and draws the charts.

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
- release starts at midnight on the release date in the person's time zone; a cohort is the
  people released in one week (Monday to Sunday). Reached: a two-way contact, that is the person
  texted, or a peer recorded reaching them (a ticket resolved as reached, naloxone provided or
  referred). A share counts only people whose window has ended by `now`.
- week k since release is days 7(k-1) to 7k-1; it counts once it has ended. Checked in: a
  check-in answered (nudge reply) or a check-in the person started (a recorded mood).
- small cells: exports show "<5" for counts of 1 to 4 people, and blank the rates beside them.
"""
from __future__ import annotations

import bisect
import math
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta, timezone
from functools import cached_property
from typing import Any, Iterable, Mapping, Sequence
from zoneinfo import ZoneInfo

ANSWER_WINDOW = timedelta(hours=24)
PRIORITIES = ("urgent", "high", "normal")
TIERS = ("low", "moderate", "high")
NUDGE_KINDS = ("nudge", "welcome")
LOCATOR_STATUSES = ("found", "need_place", "ambiguous", "not_found", "more")
REACHED_OUTCOMES = ("reached", "naloxone_provided", "referred_treatment")
PEER_REASONS = ("peer_request", "asked_for_peer")
WEEKS = 13
UTC = timezone.utc
SMALL_CELL = 5
EVENT_DETAIL = {"checkin": "mood", "screening": "result", "safety": "kind", "timed_out": "flow", "expired": "flow"}


@dataclass(frozen=True)
class Period:
    """Whole local days, `start` to `end` inclusive, in the program's time zone."""
    start: date
    end: date
    tz: str = "America/New_York"

    @cached_property        # asked once per row: computed once per period
    def start_utc(self) -> datetime:
        return datetime.combine(self.start, time(0), tzinfo=ZoneInfo(self.tz))

    @cached_property
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
    n: int = 1              # how many events alike the row stands for (the shell counts them in SQL)


# What the period's tables read of an event's data, by event name (the shell counts events alike
# in SQL by these: `EventRow.n`).
EVENT_KEYS = {"risk_check": ("tier",), "locator": ("need", "status", "sites"),
              **{name: (key,) for name, key in EVENT_DETAIL.items()}}
DAY_EVENTS = ("risk_check",)        # tables that place the event on the calendar (the rest: in the period)
PERSON_EVENTS = ("safety",)         # tables that count the people, too


@dataclass(frozen=True)
class TicketRow:
    reason: str
    priority: str
    created_at: datetime
    sla_due_at: datetime
    first_response_at: datetime | None = None
    resolved_at: datetime | None = None
    outcome: str | None = None
    participant_id: int | None = None
    peer: str | None = None          # the assignee's name (staff, not a participant)


@dataclass(frozen=True)
class Window:
    """A span after release, the same for everyone released on one day in one time zone (its
    bounds are local midnights, DST right). The shell asks the database who texted in each, and
    whose check-in sent in it was answered; `window_hits` answers the same from message rows."""
    release_date: date
    timezone: str
    name: str             # "72 h" | "7 days" | "14 days" (from release) | "week 1" … "week 13"
    lo: datetime
    hi: datetime          # exclusive


@dataclass(frozen=True)
class Hits:
    """Per person and window: (participant id, window name) pairs."""
    texted: frozenset[tuple[int, str]] = frozenset()      # the person texted in the window
    answered: frozenset[tuple[int, str]] = frozenset()    # a check-in sent in it was answered (weeks only)


@dataclass(frozen=True)
class PeerRow:
    name: str
    caseload: int
    open_tickets: int


@dataclass(frozen=True)
class Table:
    name: str                   # for the CSV link and the chart's id
    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple, ...]
    note: str = ""
    people: tuple[int, ...] = ()    # columns that count people: small cells are hidden in exports
    rates: tuple[int, ...] = ()     # columns computed from them: blanked beside a hidden cell


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


def _enrolled_as(status: str, consented: bool) -> bool:
    return status != "merged" and (consented or status in ("active", "paused", "completed"))


def _enrolled(p: PersonRow) -> bool:
    return _enrolled_as(p.status, p.consent_at is not None)


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

@dataclass(frozen=True)
class PeopleKind:
    """What the people and naloxone tables ask of a person, period flags included: the shell
    counts people alike in SQL (a handful of groups, not 10,000 rows); `people_tally` does the
    same from rows, and the tests hold the two together."""
    status: str
    consented: bool
    opted_out: bool
    new: bool                   # consented (or first wrote, if never) in the period
    opted_out_new: bool         # opted out (the latest opt-out) in the period
    created_new: bool           # first wrote in the period
    naloxone_on_hand: bool | None = None


def people_tally(rows: Iterable[PersonRow], period: Period) -> Counter:
    """How many people of each kind (merged records left out: they live on the one they joined)."""
    return Counter(PeopleKind(p.status, p.consent_at is not None, p.opted_out_at is not None,
                              (p.consent_at or p.created_at) in period, p.opted_out_at in period,
                              p.created_at in period, p.naloxone_on_hand)
                   for p in rows if p.status != "merged")


def _enrolled_kind(k: PeopleKind) -> bool:
    return _enrolled_as(k.status, k.consented)


def people(tally: Mapping[PeopleKind, int]) -> Table:
    """`tally`: `people_tally` (or the same counted in SQL)."""
    def n(keep) -> int:
        return sum(count for k, count in tally.items() if k.status != "merged" and keep(k))
    enrolled = _enrolled_kind
    data = (
        ("Enrolled", n(enrolled), n(lambda k: enrolled(k) and k.new)),
        ("Active", n(lambda k: enrolled(k) and k.status == "active" and not k.opted_out), None),
        ("Paused", n(lambda k: enrolled(k) and k.status == "paused" and not k.opted_out), None),
        ("Opted out", n(lambda k: k.opted_out), n(lambda k: k.opted_out and k.opted_out_new)),
        ("Completed", n(lambda k: enrolled(k) and k.status == "completed"), None),
        ("Texted in, not enrolled", n(lambda k: not enrolled(k)), n(lambda k: not enrolled(k) and k.created_new)),
    )
    return Table("people", "People in the program", ("measure", "now", "new in period"), data,
                 "“Now” counts everyone to date; “new in period” by consent (or opt-out) time.", people=(1, 2))


def checkin_days(persons: Iterable[PersonRow], messages: Iterable[MessageRow],
                 period: Period) -> dict[int, tuple[int, int]]:
    """Check-ins sent in the period and answered, by day since release, from message rows (the
    shell counts the same in SQL, from the recorded answer: `db/checkins.py`)."""
    by_id = {p.id: p for p in persons}
    nudges: dict[int, list[datetime]] = defaultdict(list)
    inbound: dict[int, list[datetime]] = defaultdict(list)
    for m in messages:
        if m.direction == "out" and m.kind in NUDGE_KINDS:
            nudges[m.participant_id].append(m.at)
        elif m.direction == "in":
            inbound[m.participant_id].append(m.at)
    days: dict[int, tuple[int, int]] = {}
    for pid, times in nudges.items():
        person = by_id.get(pid)
        if person is None or person.release_date is None:
            continue
        times.sort()
        answered = set(_answered_nudges(times, sorted(inbound.get(pid, ()))))
        for at in times:
            if at in period:
                day = (at.astimezone(ZoneInfo(person.timezone)).date() - person.release_date).days
                sent, yes = days.get(day, (0, 0))
                days[day] = (sent + 1, yes + (at in answered))
    return days


def whole_days(period: Period, tz: str) -> tuple[list[date], list[tuple[date, datetime, datetime]]]:
    """The period's local days in `tz`, split into those it holds whole, midnight to midnight
    there (the kept summary answers them), and those it cuts at its own first or last midnight
    in the program's zone, as (day, from, until) in UTC terms (counted from the messages)."""
    zone, whole, cut = ZoneInfo(tz), [], []
    day = period.start_utc.astimezone(zone).date()
    while (midnight := datetime.combine(day, time(0), zone)) < period.end_utc:
        until = datetime.combine(day + timedelta(days=1), time(0), zone)
        lo, hi = max(midnight, period.start_utc), min(until, period.end_utc)
        if (lo, hi) == (midnight, until):
            whole.append(day)
        else:
            cut.append((day, lo, hi))
        day += timedelta(days=1)
    return whole, cut


def checkin_days_of(rows: Iterable[tuple[date, datetime, bool]], tz: str) -> dict[int, tuple[int, int]]:
    """Check-ins as (release date, sent at, answered), by day since release on `tz`'s calendar."""
    zone, days = ZoneInfo(tz), {}
    for release, at, answered in rows:
        day = (at.astimezone(zone).date() - release).days
        sent, yes = days.get(day, (0, 0))
        days[day] = (sent + 1, yes + bool(answered))
    return days


def checkin_response(days: Mapping[int, tuple[int, int]]) -> Table:
    """`days`: day since release -> (check-ins sent, answered)."""
    data = tuple((day, sent, yes, rate(yes, sent)) for day, (sent, yes) in sorted(days.items()))
    total, answered = sum(d[0] for d in days.values()), sum(d[1] for d in days.values())
    return Table("checkins", "Check-in response rate by day since release",
                 ("day since release", "check-ins sent", "answered", "response rate %"), data,
                 f"{answered} of {total} answered ({rate(answered, total) or 0}%). "
                 "Answered: the person wrote within 24 hours and before the next check-in.")


def week_of(d: date) -> date:
    return d - timedelta(days=d.weekday())


def risk_tiers(events: Iterable[EventRow], period: Period) -> Table:
    weeks: dict[date, Counter] = defaultdict(Counter)
    for e in events:
        if e.name == "risk_check" and e.at in period:
            tier = str((e.data or {}).get("tier") or "unknown")
            weeks[week_of(period.local_date(e.at))][tier if tier in TIERS else "unknown"] += e.n
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
    """Real places sent versus fallback lines only ("none within 50 miles"): an answer counts as
    places found only when the runtime recorded sites > 0. Events from before that was recorded
    are shown apart, never guessed."""
    cols = ("places found", "fallback only", "asked where", "more places", "found (not told apart)")
    counts: dict[str, Counter] = defaultdict(Counter)
    for e in events:
        if e.name != "locator" or e.at not in period:
            continue
        data = e.data or {}
        status, sites = str(data.get("status") or "unknown"), data.get("sites")
        if status == "more":
            col = cols[3]
        elif status == "found":
            col = cols[4] if sites is None else (cols[0] if sites else cols[1])
        else:
            col = cols[2]
        counts[str(data.get("need") or "unknown")][col] += e.n
    shown = tuple(c for c in cols if c != cols[4] or any(n[c] for n in counts.values()))
    data = sorted(((need,) + tuple(c[k] for k in shown) + (sum(c.values()),) for need, c in counts.items()),
                  key=lambda r: (-r[-1], r[0]))
    return Table("locator", "Where-to-get-it questions, by need and answer", ("need",) + shown + ("total",),
                 tuple(data),
                 "places found: the answer listed real places; fallback only: nothing near, so only the "
                 "national lines; asked where: we asked for a ZIP or town; more places: asked for the next page.")


def naloxone(tally: Mapping[PeopleKind, int]) -> Table:
    """`tally`: `people_tally` (or the same counted in SQL)."""
    def n(answer) -> int:
        return sum(c for k, c in tally.items() if _enrolled_kind(k) and k.naloxone_on_hand is answer)
    yes, no, unknown = n(True), n(False), n(None)
    return Table("naloxone", "Naloxone on hand", ("answer", "people", "% of those asked"),
                 (("has naloxone", yes, rate(yes, yes + no)), ("does not", no, rate(no, yes + no)),
                  ("not asked yet", unknown, None)),
                 "Everyone enrolled, as of their latest answer in the risk check (not limited to the period).",
                 people=(1,), rates=(2,))


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
            counts[(e.name, f"{EVENT_DETAIL[e.name]} {detail}" if detail not in (None, "") else "")] += e.n
    return Table("events", "What happened in conversations", ("event", "detail", "count"),
                 tuple((n, d, c) for (n, d), c in sorted(counts.items(), key=lambda kv: (kv[0][0], str(kv[0][1])))),
                 "Check-in moods (1 really rough … 5 really good), screenings, safety messages answered, "
                 "conversations that timed out or expired.")


# -- after release ---------------------------------------------------------------------------------

def release_start(p: PersonRow) -> datetime | None:
    """Midnight of the release date on the person's own calendar."""
    if p.release_date is None:
        return None
    return datetime.combine(p.release_date, time(0), tzinfo=ZoneInfo(p.timezone or "America/New_York"))


REACH_SPANS = (("72 h", 3), ("7 days", 7), ("14 days", 14))
REACH_NAMES = tuple(name for name, _ in REACH_SPANS)     # windows from release; the rest are weeks


def week(k: int) -> str:
    return f"week {k}"


def release_windows(persons: Iterable[PersonRow], period: Period, now: datetime) -> tuple[Window, ...]:
    """The windows reach and engagement ask about, for the people released in the period: from
    release to 3, 7 and 14 days after, and weeks 1 to 13 since release; only those ended by `now`.
    (Days are added on the local calendar: a week across a DST change is 167 or 169 hours.)"""
    return group_windows({(p.release_date, p.timezone) for g in cohorts(persons, period).values() for p in g}, now)


def group_windows(groups: Iterable[tuple[date, str]], now: datetime) -> tuple[Window, ...]:
    """`release_windows` for the people released on each (release date, zone) of `groups`."""
    out = []
    for release, tz in sorted(groups):
        start = release_start(PersonRow(0, "", release, tz))
        spans = [(name, start, start + timedelta(days=days)) for name, days in REACH_SPANS]
        spans += [(week(k), start + timedelta(days=7 * (k - 1)), start + timedelta(days=7 * k))
                  for k in range(1, WEEKS + 1)]
        out += [Window(release, tz, name, lo, hi) for name, lo, hi in spans if hi <= now]
    return tuple(out)


def window_hits(persons: Iterable[PersonRow], windows: Iterable[Window], messages: Iterable[MessageRow]) -> Hits:
    """Who texted, and whose check-in was answered, in each window, from message rows: what the
    shell asks SQL for (the tests hold the two together)."""
    texts: dict[int, list[datetime]] = defaultdict(list)
    nudges: dict[int, list[datetime]] = defaultdict(list)
    for m in messages:
        if m.direction == "in":
            texts[m.participant_id].append(m.at)
        elif m.kind in NUDGE_KINDS:
            nudges[m.participant_id].append(m.at)
    for ts in list(texts.values()) + list(nudges.values()):
        ts.sort()
    answered = {pid: _answered_nudges(ts, texts.get(pid, ())) for pid, ts in nudges.items()}
    by_group: dict[tuple, list[Window]] = defaultdict(list)
    for w in windows:
        by_group[(w.release_date, w.timezone)].append(w)
    texted, done = set(), set()
    for p in persons:
        for w in by_group.get((p.release_date, p.timezone), ()):
            if _any_from(texts.get(p.id, ()), w.lo, w.hi):
                texted.add((p.id, w.name))
            if w.name not in REACH_NAMES and _any_from(answered.get(p.id, ()), w.lo, w.hi):
                done.add((p.id, w.name))
    return Hits(frozenset(texted), frozenset(done))


def _any_from(ordered: Sequence[datetime], lo: datetime, hi: datetime) -> bool:
    """Whether a sorted list holds a time in [lo, hi)."""
    i = bisect.bisect_left(ordered, lo)
    return i < len(ordered) and ordered[i] < hi


def cohorts(persons: Iterable[PersonRow], period: Period) -> dict[date, list[PersonRow]]:
    """People enrolled and released in the period, by the Monday of their release week. Merged
    records are left out: their history lives on the record they were merged into."""
    out: dict[date, list[PersonRow]] = defaultdict(list)
    for p in persons:
        if _enrolled(p) and p.release_date is not None and period.start <= p.release_date <= period.end:
            out[week_of(p.release_date)].append(p)
    return dict(sorted(out.items()))


def reached_times(tickets: Iterable[TicketRow]) -> dict[int, list[datetime]]:
    """Peers recording that they reached a person (the other two-way contact beside a text)."""
    out: dict[int, list[datetime]] = defaultdict(list)
    for t in tickets:
        if t.participant_id is not None and t.outcome in REACHED_OUTCOMES and t.resolved_at:
            out[t.participant_id].append(t.resolved_at)
    for times in out.values():
        times.sort()
    return out


Group = tuple  # (release date, zone): the people released that day there share their windows


@dataclass(frozen=True)
class ReleaseCounts:
    """The people released in the period (enrolled, not merged), counted per (release date, zone),
    and per window after release (`release_windows`: only those ended by `now`) how many of them:
    `contact`: texted in it, or, in the reach windows (72 h, 7 and 14 days), a peer recorded reaching
    them; `checked`: answered a check-in sent in the week or started one; `opted`: opted out in the
    week. Keys (release date, zone, window name); no zero counts. Reach and engagement are computed
    from these alone (O(groups × windows)): `release_counts` counts them from rows, the shell in SQL,
    and the tests hold the two together."""
    people: Mapping[Group, int] = field(default_factory=dict)
    contact: Mapping[tuple, int] = field(default_factory=dict)
    checked: Mapping[tuple, int] = field(default_factory=dict)
    opted: Mapping[tuple, int] = field(default_factory=dict)

    @staticmethod
    def of(people: Mapping, contact: Mapping, checked: Mapping, opted: Mapping) -> "ReleaseCounts":
        def kept(m):
            return {k: int(v) for k, v in sorted(m.items()) if v}
        return ReleaseCounts(kept(people), kept(contact), kept(checked), kept(opted))

    def __add__(self, other: "ReleaseCounts") -> "ReleaseCounts":
        def plus(a, b):
            return Counter(a) + Counter(b)
        return ReleaseCounts.of(plus(self.people, other.people), plus(self.contact, other.contact),
                                plus(self.checked, other.checked), plus(self.opted, other.opted))


def release_counts(persons: Iterable[PersonRow], hits: Hits, tickets: Iterable[TicketRow],
                   events: Iterable[EventRow], period: Period, now: datetime) -> ReleaseCounts:
    """`ReleaseCounts` from rows: `hits` (`window_hits`), the tickets and events of the people
    released in the period over their first 13 weeks (every one of them will do)."""
    peer_reached = reached_times(tickets)
    events, persons = list(events), list(persons)
    started: dict[int, list[datetime]] = defaultdict(list)
    for e in events:
        if e.name == "checkin" and e.participant_id is not None:
            started[e.participant_id].append(e.at)
    for ts in started.values():
        ts.sort()
    outs = opt_out_times(persons, events)
    people, contact, checked, opted = Counter(), Counter(), Counter(), Counter()
    for group in cohorts(persons, period).values():
        for p in group:
            key, start = (p.release_date, p.timezone), release_start(p)
            people[key] += 1
            for name, days in REACH_SPANS:
                end = start + timedelta(days=days)
                if end <= now:
                    contact[key + (name,)] += ((p.id, name) in hits.texted
                                               or _any_from(peer_reached.get(p.id, ()), start, end))
            mine, out = started.get(p.id, ()), outs.get(p.id, ())
            for k in range(WEEKS):
                lo, hi, name = start + timedelta(days=7 * k), start + timedelta(days=7 * (k + 1)), week(k + 1)
                if hi > now:
                    break               # the later weeks end later still
                contact[key + (name,)] += (p.id, name) in hits.texted
                checked[key + (name,)] += (p.id, name) in hits.answered or bool(mine) and _any_from(mine, lo, hi)
                opted[key + (name,)] += bool(out) and _any_from(out, lo, hi)
    return ReleaseCounts.of(people, contact, checked, opted)


def _cohorts_of(counts: ReleaseCounts) -> dict[date, list[Group]]:
    """The groups by the Monday of their release week."""
    out: dict[date, list[Group]] = defaultdict(list)
    for key in sorted(counts.people):
        out[week_of(key[0])].append(key)
    return dict(sorted(out.items()))


def _group_start(key: Group) -> datetime:
    return release_start(PersonRow(0, "", key[0], key[1]))


def reach(persons: Iterable[PersonRow], hits: Hits, tickets: Iterable[TicketRow], period: Period,
          now: datetime) -> Table:
    return reach_of(release_counts(persons, hits, tickets, (), period, now), now)


def reach_of(counts: ReleaseCounts, now: datetime) -> Table:
    data = []
    for week_start, keys in _cohorts_of(counts).items():
        tally = {name: [0, 0] for name, _ in REACH_SPANS}     # passed, reached
        for key in keys:
            start = _group_start(key)
            for name, days in REACH_SPANS:
                if start + timedelta(days=days) > now:
                    continue
                tally[name][0] += counts.people[key]
                tally[name][1] += counts.contact.get(key + (name,), 0)
        (due72, hit72), (due7, hit7), (due14, hit14) = tally.values()
        miss14 = due14 - hit14
        data.append((week_start.isoformat(), sum(counts.people[k] for k in keys), due72, hit72, rate(hit72, due72),
                     due7, hit7, rate(hit7, due7), due14, miss14, rate(miss14, due14)))
    return Table("reach", "Reached after release, by release week",
                 ("release week", "released", "72 h passed", "reached in 72 h", "% in 72 h", "7 days passed",
                  "reached in 7 days", "% in 7 days", "14 days passed", "not reached by day 14",
                  "% not reached by day 14"), tuple(data),
                 "Reached: the person texted, or a peer recorded reaching them, after midnight of the release "
                 "day. Each share counts only people whose 72 hours, 7 or 14 days have passed.",
                 people=(1, 2, 3, 5, 6, 8, 9), rates=(4, 7, 10))


def _any_in(ordered: Sequence[datetime], after: datetime, until: datetime) -> bool:
    """Whether a sorted list holds a time in (after, until]."""
    i = bisect.bisect_right(ordered, after)
    return i < len(ordered) and ordered[i] <= until


def _answered_nudges(nudges: Sequence[datetime], replies: Sequence[datetime]) -> list[datetime]:
    """Check-ins answered: a text within 24 hours and before the next check-in."""
    out = []
    for i, at in enumerate(nudges):
        until = min(at + ANSWER_WINDOW, nudges[i + 1]) if i + 1 < len(nudges) else at + ANSWER_WINDOW
        if _any_in(replies, at, until):
            out.append(at)
    return out


def opt_out_times(persons: Iterable[PersonRow], events: Iterable[EventRow]) -> dict[int, list[datetime]]:
    """Every opt-out, also those undone by an opt-in (the events keep them; opted_out_at is the
    latest still in force, recorded before the events existed too)."""
    out: dict[int, set[datetime]] = defaultdict(set)
    for e in events:
        if e.name == "opted_out" and e.participant_id is not None:
            out[e.participant_id].add(e.at)
    for p in persons:
        if p.opted_out_at is not None:
            out[p.id].add(p.opted_out_at)
    return {pid: sorted(ts) for pid, ts in out.items()}


def engagement(persons: Sequence[PersonRow], hits: Hits, events: Sequence[EventRow], period: Period,
               now: datetime) -> Table:
    return engagement_of(release_counts(persons, hits, (), events, period, now), now)


def engagement_of(counts: ReleaseCounts, now: datetime) -> Table:
    names = [week(k) for k in range(1, WEEKS + 1)]
    eligible, wrote, checked, opted = [0] * WEEKS, [0] * WEEKS, [0] * WEEKS, [0] * WEEKS
    spread: list[list[float]] = [[] for _ in range(WEEKS)]
    for keys in _cohorts_of(counts).values():
        g_eligible, g_wrote = [0] * WEEKS, [0] * WEEKS
        for key in keys:
            start = _group_start(key)
            for i in range(WEEKS):
                if start + timedelta(days=7 * (i + 1)) > now:
                    break               # the later weeks end later still
                g_eligible[i] += counts.people[key]
                g_wrote[i] += counts.contact.get(key + (names[i],), 0)
                checked[i] += counts.checked.get(key + (names[i],), 0)
                opted[i] += counts.opted.get(key + (names[i],), 0)
        for i in range(WEEKS):
            eligible[i] += g_eligible[i]
            wrote[i] += g_wrote[i]
            if g_eligible[i] >= SMALL_CELL:
                spread[i].append(rate(g_wrote[i], g_eligible[i]))
    data = [(i + 1, eligible[i], wrote[i], rate(wrote[i], eligible[i]), checked[i], rate(checked[i], eligible[i]),
             opted[i], rate(opted[i], eligible[i]), min(spread[i]) if spread[i] else None,
             max(spread[i]) if spread[i] else None) for i in range(WEEKS) if eligible[i]]
    return Table("engagement", "Engagement by week since release",
                 ("week since release", "people", "sent any text", "% sent any text", "checked in", "% checked in",
                  "opted out", "% opted out", "lowest cohort % any text", "highest cohort % any text"),
                 tuple(data),
                 "People released in the period, in each week since release that has ended. Checked in: answered "
                 "a check-in or started one. Lowest/highest: the spread across release weeks of 5 people or more.",
                 people=(1, 2, 4, 6), rates=(3, 5, 7))


# -- response, by week and by peer -----------------------------------------------------------------

def _response_row(rows: Sequence[TicketRow], now: datetime) -> tuple:
    waits = [_minutes(t.first_response_at - t.created_at) for t in rows if t.first_response_at]
    within = sum(1 for t in rows if t.first_response_at and t.first_response_at <= t.sla_due_at)
    missed = sum(1 for t in rows if (t.first_response_at and t.first_response_at > t.sla_due_at)
                 or (not t.first_response_at and now > t.sla_due_at))
    median = round(statistics.median(waits), 1) if waits else None
    return len(rows), len(waits), median, percentile(waits, 90), within, missed, rate(within, within + missed)


RESPONSE_COLUMNS = ("tickets", "answered", "median min", "p90 min", "within target", "missed",
                    "share within target %")


def response_by(tickets: Iterable[TicketRow], period: Period, now: datetime, by: str) -> Table:
    """`by`: "week" (Monday of the day the ticket opened) or "peer" (who has it)."""
    groups: dict[tuple, list[TicketRow]] = defaultdict(list)
    for t in tickets:
        if t.created_at in period:
            key = week_of(period.local_date(t.created_at)).isoformat() if by == "week" else (t.peer or "unassigned")
            groups[(key, t.priority)].append(t)
    rank = {p: i for i, p in enumerate(PRIORITIES)}
    data = tuple((key, prio) + _response_row(rows, now)
                 for (key, prio), rows in sorted(groups.items(), key=lambda kv: (kv[0][0], rank.get(kv[0][1], 9))))
    first = "week" if by == "week" else "peer"
    return Table(f"response_{by}", f"Time to first peer response, by {first} and priority",
                 (first, "priority") + RESPONSE_COLUMNS, data,
                 "Tickets opened in the period; a week starts on Monday.")


def peers(rows: Iterable[PeerRow], tickets: Iterable[TicketRow], period: Period) -> Table:
    """Caseload and open tickets now; tickets resolved in the period, in all and per week."""
    weeks = max(1, math.ceil(((period.end - period.start).days + 1) / 7))
    handled = Counter(t.peer for t in tickets if t.peer and t.resolved_at in period)
    data = tuple((p.name, p.caseload, p.open_tickets, handled[p.name], round(handled[p.name] / weeks, 1))
                 for p in sorted(rows, key=lambda r: r.name.lower()))
    return Table("peers", "Peers: caseload, open tickets, tickets handled",
                 ("peer", "caseload", "open tickets", "handled in period", "handled per week"), data,
                 "Caseload: people assigned now, not opted out. Handled: tickets they resolved in the period.",
                 people=(1,))


def peer_weeks(tickets: Iterable[TicketRow], period: Period) -> Table:
    counts = Counter((week_of(period.local_date(t.resolved_at)), t.peer) for t in tickets
                     if t.peer and t.resolved_at in period)
    return Table("peer_weeks", "Tickets handled per peer, by week", ("week", "peer", "handled"),
                 tuple((w.isoformat(), peer, n) for (w, peer), n in sorted(counts.items())),
                 "Tickets each peer resolved, in the week (starting Monday) they resolved them.")


def requests(events: Iterable[EventRow], tickets: Iterable[TicketRow], period: Period) -> Table:
    """What people asked for besides places: a peer, and emergencies and crises."""
    asked = [t for t in tickets if t.reason in PEER_REASONS and t.created_at in period]
    safety: dict[str, list[EventRow]] = defaultdict(list)
    for e in events:
        if e.name == "safety" and e.at in period:
            safety[str((e.data or {}).get("kind"))].append(e)

    def people_in(items, attr="participant_id"):
        return len({getattr(i, attr) for i in items if getattr(i, attr) is not None})
    data = (("asked for a peer", len(asked), people_in(asked)),
            ("emergency (overdose now)", sum(e.n for e in safety["emergency"]), people_in(safety["emergency"])),
            ("crisis (thoughts of suicide)", sum(e.n for e in safety["crisis"]), people_in(safety["crisis"])))
    return Table("requests", "Requests for a peer, emergencies and crises", ("what", "times", "people"), data,
                 "Emergencies and crises: texts the safety check answered at once (each also opens an urgent "
                 "ticket).", people=(2,))


# -- exports ---------------------------------------------------------------------------------------

def suppressed(table: Table) -> Table:
    """The table as exported: people counts of 1 to 4 become "<5", and the rates in the same row
    are blanked so they cannot give the count back."""
    if not table.people:
        return table
    rows = []
    for row in table.rows:
        out = list(row)
        hidden = False
        for i in table.people:
            if isinstance(row[i], int) and 0 < row[i] < SMALL_CELL:
                out[i], hidden = f"<{SMALL_CELL}", True
        if hidden:
            for i in table.rates:
                out[i] = None
        rows.append(tuple(out))
    return replace(table, rows=tuple(rows))


# The rows each table is computed from: the shell loads only these for one table (a CSV, a
# peer's own numbers). "tally": people_tally; "release": release_counts (the people released in
# the period, their windows' hits, tickets and events, counted).
INPUTS = {
    "people": ("tally",), "reach": ("release",), "engagement": ("release",), "checkins": ("checkins",),
    "risk": ("events",),
    "escalations": ("tickets",), "response": ("tickets",), "response_week": ("tickets",),
    "response_peer": ("tickets",), "locator": ("events",), "requests": ("events", "tickets"),
    "naloxone": ("tally",), "outcomes": ("tickets",), "peers": ("staff", "tickets"), "peer_weeks": ("tickets",),
    "events": ("events",),
}


def build(period: Period, persons: Sequence[PersonRow], checkins: Mapping[int, tuple[int, int]],
          events: Sequence[EventRow], tickets: Sequence[TicketRow], targets: Mapping[str, int],
          outcome_labels: Mapping[str, str], now: datetime, hits: Hits = Hits(),
          release_events: Sequence[EventRow] = (), release_tickets: Sequence[TicketRow] = (),
          staff: Sequence[PeerRow] = (), tally: Mapping[PeopleKind, int] | None = None,
          only: Iterable[str] | None = None, release: ReleaseCounts | None = None) -> Report:
    """`persons`: at least everyone released in the period (reach and engagement use no one
    else); `tally`: everyone, counted by kind (`people_tally`; counted from `persons` when left
    out). `checkins`: check-ins sent in the period and answered, by day since release
    (`checkin_days`); `hits`: who texted and checked in in each of `release_windows`
    (`window_hits`). `release_events` and `release_tickets` cover the people released in the
    period over their first 13 weeks; the rest covers the period itself. `release`: the people
    released in the period counted (`release_counts`, or the same in SQL, as the shell does):
    `persons`, `hits`, `release_events` and `release_tickets` are not read then.
    `only`: the tables wanted (all of them, in INPUTS' order, when left out)."""
    counted: list[ReleaseCounts] = [] if release is None else [release]

    def released() -> ReleaseCounts:
        if not counted:
            counted.append(release_counts(persons, hits, release_tickets, release_events, period, now))
        return counted[0]
    makers = {
        "people": lambda: people(people_tally(persons, period) if tally is None else tally),
        "reach": lambda: reach_of(released(), now), "engagement": lambda: engagement_of(released(), now),
        "checkins": lambda: checkin_response(checkins), "risk": lambda: risk_tiers(events, period),
        "escalations": lambda: escalations(tickets, period),
        "response": lambda: response_times(tickets, period, targets, now),
        "response_week": lambda: response_by(tickets, period, now, "week"),
        "response_peer": lambda: response_by(tickets, period, now, "peer"),
        "locator": lambda: locator(events, period), "requests": lambda: requests(events, tickets, period),
        "naloxone": lambda: naloxone(people_tally(persons, period) if tally is None else tally),
        "outcomes": lambda: outcomes(tickets, period, outcome_labels), "peers": lambda: peers(staff, tickets, period),
        "peer_weeks": lambda: peer_weeks(tickets, period), "events": lambda: conversation_events(events, period),
    }
    return Report(period, {name: makers[name]() for name in (INPUTS if only is None else only)})
