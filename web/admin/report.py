"""The program report (/admin/report): how the program is doing, for a date range.

The numbers come from core/report.py (pure); this shell loads plain rows for the period and
draws each table as a chart with pygal, server-side, inline SVG with no script and nothing from
another site. Every table downloads as CSV, with small cells hidden. De-identified: only counts,
rates and times; no names, numbers or texts reach the page or the files. CSV downloads are
audited. Messages are never loaded one by one, nor the people released or the period's events:
SQL counts reach and engagement per release day and zone from the kept weeks (load_release), the
check-ins per day (load_checkin_days), the people by kind (load_tally) and the events alike
(load_events); Python's work is per group, not per person.
"""
from __future__ import annotations

import csv
import io
import json
import math
import re
from collections import Counter
from dataclasses import replace
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pygal
from flask import Blueprint, Response, abort, current_app, render_template, request
from markupsafe import Markup
from pygal.style import Style
from sqlalchemy import (Date, Integer, String, and_, bindparam, case, cast as sa_cast, column, func, literal,
                        literal_column, or_, select, text, values)

from bot.tickets import OUTCOMES
from db.checkins import is_checkin
from db.models import Escalation, Event, Message, Participant, ReportCheckinDay, ReportPersonWeek, User
from db.types import UTCDateTime
from web import audit, params, program_settings
from core import report as core
from web.auth import role_required
from flask_login import current_user

from web.context import db, is_supervisor, me, now
from web.headers import csp_nonce

bp = Blueprint("admin_report", __name__, url_prefix="/admin/report")
DEFAULT_DAYS = 30
MAX_DAYS = 3 * 366
EVENT_NAMES = ("risk_check", "locator", "checkin", "screening", "safety", "timed_out", "expired", "opted_out")
RELEASE_EVENTS = ("checkin", "opted_out")
FOLLOW_UP = timedelta(weeks=core.WEEKS)
MESSAGES, PARTICIPANTS = Message.__table__, Participant.__table__
STYLE = Style(background="#ffffff", plot_background="#ffffff", foreground="#1d2330", foreground_strong="#1d2330",
              foreground_subtle="#5b6475", font_family="system-ui, sans-serif", label_font_size=12,
              major_label_font_size=12, legend_font_size=12, title_font_size=15, value_font_size=11,
              colors=("#1f5fbf", "#b86e00", "#3b6e3b", "#b3261e", "#6b4fa3", "#0f7b83", "#56607a"))
PRIORITY_COLORS = ("#b3261e", "#b86e00", "#3b6e3b")          # urgent, high, normal: as in the inbox
TIER_COLORS = ("#3b6e3b", "#b86e00", "#b3261e", "#56607a")    # low, moderate, high, unknown


@bp.after_request
def _no_store(response):
    response.headers["Cache-Control"] = "no-store"
    return response


# -- the period and the rows -----------------------------------------------------------------------

def period_from(args) -> tuple[core.Period, list[str]]:
    tz = current_app.config.get("PROGRAM_TIMEZONE", "America/New_York")
    today = now().astimezone(ZoneInfo(tz)).date()
    problems = []

    def day(name: str, default: date) -> date:
        raw = (args.get(name) or "").strip()
        if not raw:
            return default
        try:
            return params.day(raw)
        except ValueError:
            problems.append(f"“{raw}” is not a date we can report on; showing {default.isoformat()} instead.")
            return default

    end = day("end", today)
    start = day("start", end - timedelta(days=DEFAULT_DAYS - 1))
    if start > end:
        start, end = end, start
    if (end - start).days >= MAX_DAYS:
        start = end - timedelta(days=MAX_DAYS - 1)
        problems.append(f"A report covers at most {MAX_DAYS} days; it starts on {start.isoformat()}.")
    return core.Period(start, end, tz), problems


def _values(name: str, columns, rows):
    """Rows from Python as a table in the statement (a CTE of VALUES, on both databases)."""
    return values(*(column(n, t) for n, t in columns), name=name).data(rows).cte(name)


def _chunks(items, size: int = 2000):
    """Bound parameters per statement stay far below SQLite's and PostgreSQL's limits."""
    for i in range(0, len(items), size):
        yield items[i:i + size]


WINDOW_COLUMNS = (("release_date", Date()), ("tz", String()), ("bit", Integer()), ("week", Integer()),
                  ("lo", UTCDateTime()), ("hi", UTCDateTime()))
HIT_NAMES = core.REACH_NAMES + tuple(core.week(k) for k in range(1, core.WEEKS + 1))   # a bit each


def _zone(period: core.Period):
    """The person's time zone as the rows carry it (the program's when none is stored)."""
    return func.coalesce(func.nullif(PARTICIPANTS.c.timezone, ""), period.tz)


WEEKS_KEPT = ReportPersonWeek.__table__


def probe_hits(s, windows, period: core.Period, unzoned: bool = False) -> core.Hits:
    """Who texted and whose check-in was answered in each window, probed in the messages (for the
    people with no zone stored, when `unzoned`: `load_release`; the tests hold it for everyone).
    Per person released in the period and window after release (bounds from Python: local
    midnights), whether they texted in it and whether a check-in sent in it was answered: two
    index probes each (`ix_messages_report_person`), the people from `ix_participants_report_release`.
    One row back per person, the windows hit as bits (one statement, compiled once). SQLite,
    without statistics, would rather scan every person in id order (for the grouping) against
    every window: 6 times slower at 180 days; the windows' columns are kept from its indexes."""
    texted, answered = set(), set()
    for chunk in _chunks(list(windows)):
        w = _values("release_windows", WINDOW_COLUMNS,
                    [(x.release_date, x.timezone, 1 << HIT_NAMES.index(x.name), int(x.name not in core.REACH_NAMES),
                      x.lo, x.hi) for x in chunk])
        inside = and_(MESSAGES.c.participant_id == PARTICIPANTS.c.id, MESSAGES.c.created_at >= w.c.lo,
                      MESSAGES.c.created_at < w.c.hi)
        wrote = select(literal(1)).where(inside, MESSAGES.c.direction == "in").exists()
        done = select(literal(1)).where(inside, is_checkin(MESSAGES), MESSAGES.c.answered_at.is_not(None)).exists()
        release, tz = w.c.release_date, w.c.tz
        if s.bind.dialect.name == "sqlite":     # (unary + keeps SQLite from scanning every person instead)
            release, tz = (literal_column(f"+release_windows.{c}", t) for c, t in (("release_date", Date()),
                                                                                   ("tz", String())))
        q = (select(PARTICIPANTS.c.id, func.sum(case((wrote, w.c.bit), else_=0)),
                    func.sum(case((and_(w.c.week == 1, done), w.c.bit), else_=0)))
             .select_from(w).join(PARTICIPANTS, and_(PARTICIPANTS.c.release_date == release, _zone(period) == tz))
             .where(PARTICIPANTS.c.status != "merged").group_by(PARTICIPANTS.c.id))
        if unzoned:
            q = q.where(func.coalesce(PARTICIPANTS.c.timezone, "") == "")
        for pid, wrote_bits, done_bits in s.execute(q):
            wrote_bits, done_bits = int(wrote_bits or 0), int(done_bits or 0)
            for i, name in enumerate(HIT_NAMES):
                if wrote_bits >> i & 1:
                    texted.add((pid, name))
                if done_bits >> i & 1:
                    answered.add((pid, name))
    return core.Hits(frozenset(texted), frozenset(answered))


EVENTS, TICKETS = Event.__table__, Escalation.__table__
FIRST_WEEK = len(core.REACH_NAMES)          # bit of "week 1"; the reach windows' bits are below it
FOLLOWED_DAYS = 7 * core.WEEKS
STARTED, OPTED, REACHED = 0, 1, 2           # what a time after release is, in load_release


def _released(period: core.Period):
    """The people reach and engagement count: released in the period, enrolled, not merged."""
    p = PARTICIPANTS.c
    return and_(p.status != "merged", p.release_date.between(period.start, period.end),
                or_(p.consent_at.is_not(None), p.status.in_(("active", "paused", "completed"))))


def _day_since_release(dialect: str, at, person):
    """A time's day since release on the person's calendar (their stored zone), in SQL: the local
    date from `homeward_local_date` (migration 0015; SQLite's is db/checkins.local_date), as the
    kept weeks are. A window after release is a run of those days: [release midnight + n days)
    is the days below n (local midnights are where the days change)."""
    local = func.homeward_local_date(at, person.c.timezone)
    if dialect == "postgresql":
        return sa_cast(local - person.c.release_date, Integer)
    return sa_cast(func.julianday(local) - func.julianday(person.c.release_date), Integer)


def load_release(s, period: core.Period, now) -> core.ReleaseCounts:
    """Reach and engagement's counts (`core.ReleaseCounts`) in SQL, per release date and zone: a
    row back per group, not per person. Inside the statement, a row a person, the windows hit as
    bits (`HIT_NAMES`): the kept weeks (`report_person_weeks`) for texts and check-ins answered,
    OR'd with the weeks of their check-in events and opt-outs (events and `opted_out_at`) and the
    reach windows of tickets resolved as reached, placed by their day since release; then summed
    per group, a column a window. Only the windows ended by `now` are kept (`core.group_windows`).
    The people with no zone stored (the summary cannot place their days) are counted from their
    rows (`core.release_counts`, their hits probed in the messages)."""
    p, k, e, t = PARTICIPANTS.c, WEEKS_KEPT.c, EVENTS.c, TICKETS.c
    zoned = and_(_released(period), p.timezone != "")
    groups = {(release, tz): n for release, tz, n in s.execute(
        select(p.release_date, p.timezone, func.count()).where(zoned).group_by(p.release_date, p.timezone))}
    ended = {(w.release_date, w.timezone, w.name) for w in core.group_windows(groups, now)}
    contact, checked, opted = Counter(), Counter(), Counter()
    if groups:
        dialect = s.bind.dialect.name
        ppl = (select(p.id, p.release_date, p.timezone, p.opted_out_at).where(zoned)
               .cte("released").prefix_with("MATERIALIZED"))      # (read six times: scanned once)
        r_lo, r_hi = period.start_utc - timedelta(days=1), min(period.end_utc + timedelta(days=1) + FOLLOW_UP, now)
        one = literal(1)

        def since(at):
            return _day_since_release(dialect, at, ppl).label("d")

        def of_events(name, kind):
            return (select(ppl.c.id.label("pid"), literal(kind).label("kind"), since(e.created_at))
                    .select_from(ppl).join(EVENTS, e.participant_id == ppl.c.id)
                    .where(e.name == name, e.created_at >= r_lo, e.created_at < r_hi))
        # each time's day since release computed once (MATERIALIZED: inlined, SQLite and PostgreSQL
        # compute it again at each use, and on SQLite each is a Python call)
        days = (of_events("checkin", STARTED).union_all(
            of_events("opted_out", OPTED),
            select(ppl.c.id, literal(OPTED), since(ppl.c.opted_out_at)).where(ppl.c.opted_out_at.is_not(None)),
            select(ppl.c.id, literal(REACHED), since(t.resolved_at)).select_from(ppl)
            .join(TICKETS, t.participant_id == ppl.c.id)
            .where(t.outcome.in_(core.REACHED_OUTCOMES), t.resolved_at >= r_lo, t.resolved_at < r_hi))
            .cte("release_days").prefix_with("MATERIALIZED"))
        counted = and_(days.c.d >= 0, days.c.d < FOLLOWED_DAYS)

        def weeks_of(kind, name):
            """Per person, the weeks since release holding a time of `kind`, as bits."""
            week = (select(days.c.pid, (days.c.d // 7).label("w")).where(days.c.kind == kind, counted)
                    .distinct().subquery())
            return (select(week.c.pid, func.sum(one.op("<<")(week.c.w + FIRST_WEEK)).label("bits"))
                    .group_by(week.c.pid).subquery(name))
        started, outs = weeks_of(STARTED, "started"), weeks_of(OPTED, "outs")
        reached = (select(days.c.pid, func.min(days.c.d).label("first"))     # the windows nest: the first counts
                   .where(days.c.kind == REACHED, counted).group_by(days.c.pid).subquery("reached"))
        weekly = one.op("<<")(k.week + FIRST_WEEK)
        kept = (select(k.participant_id.label("pid"), func.sum(case((k.texts > 0, weekly), else_=0)).label("texted"),
                       func.max(k.early).label("early"),
                       func.sum(case((k.answered > 0, weekly), else_=0)).label("answered"))
                .where(k.participant_id.in_(select(ppl.c.id))).group_by(k.participant_id).subquery("kept"))
        texted = func.coalesce(kept.c.texted, 0)
        contact_bits = texted
        for name, span in core.REACH_SPANS:       # 72 h: the first three days; 7 and 14 days: the first weeks
            bit = 1 << core.REACH_NAMES.index(name)
            by_text = (func.coalesce(kept.c.early, 0) > 0 if span == 3
                       else texted.op("&")(((1 << span // 7) - 1) << FIRST_WEEK) != 0)
            assert span == 3 or span % 7 == 0
            contact_bits = contact_bits.op("|")(case((or_(by_text, reached.c.first < span), bit), else_=0))
        checked_bits = func.coalesce(kept.c.answered, 0).op("|")(func.coalesce(started.c.bits, 0))
        per = (select(ppl.c.release_date, ppl.c.timezone, contact_bits.label("contact"),
                      checked_bits.label("checked"), func.coalesce(outs.c.bits, 0).label("opted"))
               .select_from(ppl).outerjoin(kept, kept.c.pid == ppl.c.id)
               .outerjoin(reached, reached.c.pid == ppl.c.id).outerjoin(started, started.c.pid == ppl.c.id)
               .outerjoin(outs, outs.c.pid == ppl.c.id).subquery("per_person"))
        measures = [(contact, per.c.contact, range(len(HIT_NAMES))),
                    (checked, per.c.checked, range(FIRST_WEEK, len(HIT_NAMES))),
                    (opted, per.c.opted, range(FIRST_WEEK, len(HIT_NAMES)))]
        cols = [func.sum(case((col.op("&")(1 << b) != 0, 1), else_=0)) for _, col, bits in measures for b in bits]
        for release, tz, *sums in s.execute(select(per.c.release_date, per.c.timezone, *cols)
                                            .group_by(per.c.release_date, per.c.timezone)):
            sums = iter(sums)
            for counter, _, bits in measures:
                for b in bits:
                    n, key = int(next(sums) or 0), (release, tz, HIT_NAMES[b])
                    if n and key in ended:
                        counter[key] += n
    counts = core.ReleaseCounts.of(groups, contact, checked, opted)
    unzoned = [core.PersonRow(pid, status, release, period.tz, consent, opted_at, created)
               for pid, status, release, consent, opted_at, created in s.execute(
                   select(p.id, p.status, p.release_date, p.consent_at, p.opted_out_at, p.created_at)
                   .where(_released(period), func.coalesce(p.timezone, "") == ""))]
    if unzoned:
        hits = probe_hits(s, core.release_windows(unzoned, period, now), period, unzoned=True)
        ids = [x.id for x in unzoned]
        r_lo, r_hi = period.start_utc - timedelta(days=1), min(period.end_utc + timedelta(days=1) + FOLLOW_UP, now)
        events = [core.EventRow(name, {}, at, pid) for chunk in _chunks(ids) for name, at, pid in s.execute(
            select(Event.name, Event.created_at, Event.participant_id).where(
                Event.name.in_(RELEASE_EVENTS), Event.participant_id.in_(chunk),
                Event.created_at >= r_lo, Event.created_at < r_hi))]
        tickets = [row for chunk in _chunks(ids) for row in _tickets(s, and_(
            Escalation.participant_id.in_(chunk), Escalation.outcome.in_(core.REACHED_OUTCOMES),
            Escalation.resolved_at >= r_lo, Escalation.resolved_at < r_hi))]
        counts = counts + core.release_counts(unzoned, hits, tickets, events, period, now)
    return counts


KEPT = ReportCheckinDay.__table__


def load_checkin_days(s, period: core.Period) -> dict[int, tuple[int, int]]:
    """Check-ins sent in the period and answered (the recorded answer), by day since release.
    The local days the period holds whole come from the kept summary (`report_checkin_days`, a
    row per zone, local day and release date: migration 0015), one statement a zone; a zone's
    day the period cuts (the program's midnight is not the person's) is counted from the
    messages, from `ix_messages_report_sent`, and so are the people the summary cannot keep
    (no zone stored: the program's applies)."""
    days: dict[int, tuple[int, int]] = {}

    def add(day: int, n: int, yes: int) -> None:
        before = days.get(day, (0, 0))
        days[day] = (before[0] + int(n), before[1] + int(yes))   # (PostgreSQL sums are Decimal)

    eligible = and_(PARTICIPANTS.c.status != "merged", PARTICIPANTS.c.release_date.is_not(None))
    zones = sorted(s.scalars(select(_zone(period)).where(eligible).distinct()))
    kept = (select(KEPT.c.release_date, KEPT.c.day, KEPT.c.sent, KEPT.c.answered)
            .where(KEPT.c.timezone == bindparam("tz"), KEPT.c.day.between(bindparam("first"), bindparam("last")),
                   KEPT.c.sent > 0))
    per = (select(MESSAGES.c.participant_id, func.count().label("n"), func.count(MESSAGES.c.answered_at).label("yes"))
           .where(is_checkin(MESSAGES), MESSAGES.c.created_at >= bindparam("lo", type_=UTCDateTime()),
                  MESSAGES.c.created_at < bindparam("hi", type_=UTCDateTime()))
           .group_by(MESSAGES.c.participant_id).subquery("per_person"))
    cut = (select(PARTICIPANTS.c.release_date, func.sum(per.c.n), func.sum(per.c.yes)).select_from(per)
           .join(PARTICIPANTS, and_(PARTICIPANTS.c.id == per.c.participant_id, eligible,
                                    PARTICIPANTS.c.timezone == bindparam("tz")))
           .group_by(PARTICIPANTS.c.release_date))
    for tz in zones:
        whole, cut_days = core.whole_days(period, tz)
        if whole:
            for release, day, n, yes in s.execute(kept, {"tz": tz, "first": whole[0], "last": whole[-1]}):
                add((day - release).days, n, yes)
        for day, lo, hi in cut_days:
            for release, n, yes in s.execute(cut, {"tz": tz, "lo": lo, "hi": hi}):
                add((day - release).days, n, yes)
    unzoned_ids = s.scalars(select(PARTICIPANTS.c.id).where(eligible, func.coalesce(PARTICIPANTS.c.timezone, "") == ""))
    unzoned = [row for chunk in _chunks(list(unzoned_ids)) for row in s.execute(
        select(PARTICIPANTS.c.release_date, MESSAGES.c.created_at, MESSAGES.c.answered_at.is_not(None))
        .select_from(PARTICIPANTS).join(MESSAGES, MESSAGES.c.participant_id == PARTICIPANTS.c.id)
        .where(PARTICIPANTS.c.id.in_(chunk), is_checkin(MESSAGES), _within(MESSAGES.c.created_at, period)))]
    for day, (n, yes) in core.checkin_days_of(unzoned, period.tz).items():
        add(day, n, yes)
    return days


def _tickets(s, where) -> list[core.TicketRow]:
    return [core.TicketRow(*row) for row in s.execute(
        select(Escalation.reason, Escalation.priority, Escalation.created_at, Escalation.sla_due_at,
               Escalation.first_response_at, Escalation.resolved_at, Escalation.outcome,
               Escalation.participant_id, User.name)
        .outerjoin(User, User.id == Escalation.assignee_id).where(where))]


def _within(col, period: core.Period):
    return and_(col >= period.start_utc, col < period.end_utc)


def _flag(condition):
    """A condition as a column: true or false, never NULL (a NULL time is not in the period)."""
    return case((condition, True), else_=False)


def _naloxone_json(dialect: str):
    """The answer stored in `fields` as (JSON type, text): read in SQL, interpreted by the core."""
    key = "naloxone_on_hand"
    if dialect == "postgresql":
        value = PARTICIPANTS.c.fields.op("->")(literal(key))
        return func.json_typeof(value), PARTICIPANTS.c.fields.op("->>")(literal(key))
    return func.json_type(PARTICIPANTS.c.fields, f"$.{key}"), func.json_extract(PARTICIPANTS.c.fields, f"$.{key}")


def _naloxone(kind: str | None, value) -> bool | None:
    if kind in ("true", "false"):                       # SQLite's json_type
        return kind == "true"
    if kind == "boolean":                               # PostgreSQL's json_typeof
        return value == "true"
    if kind in ("text", "string"):
        return core.naloxone_answer(value)
    return None                                          # missing, null, a number: not an answer


def _json_at(dialect: str, key: str):
    """An event's `data[key]` as (JSON type, value) in SQL; `_json_value` reads it back."""
    data = EVENTS.c.data
    if dialect == "postgresql":
        value = data.op("->")(literal(key))
        return func.json_typeof(value), data.op("->>")(literal(key))
    return func.json_type(data, f"$.{key}"), func.json_extract(data, f"$.{key}")


def _json_value(kind: str | None, value):
    """The value as Python's json gives it, from SQLite's json_type / json_extract or PostgreSQL's
    json_typeof / ->> (NULL type: no such key)."""
    if kind is None or kind == "null":
        return None
    if kind in ("true", "false"):                       # SQLite
        return kind == "true"
    if kind == "boolean":                               # PostgreSQL
        return value == "true"
    if kind in ("text", "string"):
        return value
    if kind in ("integer", "real"):                     # SQLite: the number itself
        return value
    return json.loads(value)                            # a number (PostgreSQL), an array, an object



def load_events(s, period: core.Period) -> list[core.EventRow]:
    """The period's events counted in SQL, alike by what the tables read (`core.EVENT_KEYS`):
    their name, the data they look at (as JSON type and value, read back as Python's json would),
    the local day for those placed on the calendar (`core.DAY_EVENTS`, the program's zone) and the
    person for those counting people (`core.PERSON_EVENTS`); a row a kind, with its count (`n`),
    instead of a row an event."""
    e, dialect = EVENTS.c, s.bind.dialect.name
    slots = max(len(keys) for keys in core.EVENT_KEYS.values())
    cols = []
    for i in range(slots):
        kinds, values = [], []
        for name, keys in core.EVENT_KEYS.items():
            if i < len(keys):
                kind, value = _json_at(dialect, keys[i])
                kinds.append((e.name == name, kind))
                values.append((e.name == name, sa_cast(value, String) if dialect == "postgresql" else value))
        cols += [case(*kinds).label(f"kind_{i}"), case(*values).label(f"value_{i}")]
    day = case((e.name.in_(core.DAY_EVENTS), func.homeward_local_date(e.created_at, literal(period.tz))),
               else_=None)
    person = case((e.name.in_(core.PERSON_EVENTS), e.participant_id), else_=None)
    kinds = select(e.name, day.label("day"), person.label("person"), *cols).where(
        e.name.in_(EVENT_NAMES), e.created_at >= period.start_utc, e.created_at < period.end_utc).subquery()
    out = []
    zone = ZoneInfo(period.tz)
    for name, local, pid, *rest in s.execute(select(*kinds.c, func.count()).group_by(*kinds.c)):
        *rest, n = rest
        data = {}
        for key, kind, value in zip(core.EVENT_KEYS.get(name, ()), rest[::2], rest[1::2]):
            if kind is not None:
                data[key] = _json_value(kind, value)
        at = period.start_utc
        if local is not None:           # noon of its day in the program's zone: inside the period, that day
            at = datetime.combine(local if isinstance(local, date) else date.fromisoformat(local), time(12), zone)
        out.append(core.EventRow(name, data, at, pid, int(n)))
    return out


def load_tally(s, period: core.Period) -> Counter:
    """Everyone, counted by what the people and naloxone tables ask (`core.people_tally`, in
    SQL): one scan of the people, a handful of groups back."""
    p = PARTICIPANTS.c
    kind, value = _naloxone_json(s.bind.dialect.name)
    person = select(p.status, _flag(p.consent_at.is_not(None)).label("consented"),
                    _flag(p.opted_out_at.is_not(None)).label("opted"),
                    _flag(_within(func.coalesce(p.consent_at, p.created_at), period)).label("new"),
                    _flag(_within(p.opted_out_at, period)).label("opted_new"),
                    _flag(_within(p.created_at, period)).label("created_new"), kind.label("kind"),
                    value.label("value")).where(p.status != "merged").subquery()
    tally: Counter = Counter()
    for status, consented, opted, new, opted_new, created_new, k, v, n in s.execute(
            select(*person.c, func.count()).group_by(*person.c)):
        tally[core.PeopleKind(status, bool(consented), bool(opted), bool(new), bool(opted_new), bool(created_new),
                              _naloxone(k, v))] += n
    return tally


ALL_INPUTS = frozenset(i for needs in core.INPUTS.values() for i in needs)


def load_rows(s, period: core.Period, now, peer_id: int | None = None, need=ALL_INPUTS):
    """Plain rows for the period, and for the people released in it, their first 13 weeks;
    people as counts and messages only as counts and per-window answers from SQL (no message
    row is loaded). `need`: the inputs wanted (`core.INPUTS`), the rest left empty."""
    rows = dict(tally=Counter(), checkins={}, events=[], tickets=[], release=core.ReleaseCounts(), staff=[])
    if "tally" in need:
        rows["tally"] = load_tally(s, period)
    if "release" in need:
        rows["release"] = load_release(s, period, now)
    if "checkins" in need:
        rows["checkins"] = load_checkin_days(s, period)
    if "events" in need:
        rows["events"] = load_events(s, period)
    if "tickets" in need:
        rows["tickets"] = _tickets(s, or_(Escalation.created_at.between(period.start_utc, period.end_utc),
                                          Escalation.resolved_at.between(period.start_utc, period.end_utc)))
    if "staff" in need:
        rows["staff"] = load_peers(s, peer_id)
    return rows


def load_peers(s, peer_id: int | None = None) -> list[core.PeerRow]:
    """Active peers (or only `peer_id`), with their caseload and open tickets counted in SQL."""
    caseload = (select(func.count()).where(Participant.assigned_peer_id == User.id,
                                           Participant.status.in_(("active", "paused")),
                                           Participant.opted_out_at.is_(None)).scalar_subquery())
    open_tickets = (select(func.count()).where(Escalation.assignee_id == User.id,
                                               Escalation.status == "open").scalar_subquery())
    q = select(User.name, caseload, open_tickets).where(User.active.is_(True))
    q = q.where(User.id == peer_id) if peer_id is not None else q.where(User.role == "peer")
    return [core.PeerRow(name, n, o) for name, n, o in s.execute(q)]


def build_report(period: core.Period, peer_id: int | None = None, only=None) -> core.Report:
    """The report, or only the tables in `only` (loading only what they are computed from)."""
    need = ALL_INPUTS if only is None else frozenset(i for name in only for i in core.INPUTS[name])
    with db().session() as s:
        if s.bind.dialect.name == "postgresql":     # JIT compiling took longer than the statements (0.7 s)
            s.execute(text("SET LOCAL jit = off"))
            # psycopg prepares a statement run 5 times on a connection, and after 5 more PostgreSQL
            # plans it once for any parameters: for load_release's that generic plan took 11 s
            # (0.2 s planned for the period's own dates), from the 11th report on a connection on
            s.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))
        rows = load_rows(s, period, now(), peer_id, need)
        targets = program_settings.sla_minutes(s)
    return core.build(period, (), rows["checkins"], rows["events"], rows["tickets"],
                      targets=targets, outcome_labels=OUTCOMES, now=now(), staff=rows["staff"],
                      tally=rows["tally"], only=only, release=rows["release"])


# -- charts -----------------------------------------------------------------------------------------

def _label(value) -> str:
    """Chart labels are data (reasons, needs): keep them short and free of markup characters."""
    return re.sub(r"[<>&\"'`]", "", str(value)).replace("_", " ")[:40]


def _chart(kind, title: str, colors=None, top: float | None = None, **config):
    """A pygal chart in the page's look. `top`: the largest count shown, for whole-number axes."""
    style = Style(**{**STYLE.to_dict(), **({"colors": colors} if colors else {})})
    options = {"show_legend": True, "legend_at_bottom": True, "truncate_legend": 40, **config}
    if top:     # (pygal cannot place fixed labels on a chart without data)
        step = max(1, math.ceil(top / 8))
        options["y_labels"] = list(range(0, int(top) + step + 1, step))
    return kind(js=[], disable_xml_declaration=True, style=style, width=800, height=340,
                title=re.sub(r"[<>&]", "", title), no_data_text="No data in this period", **options)


def svg(chart) -> Markup:
    """The chart as inline SVG, without pygal's config script (no JavaScript runs on this page),
    its comments and its tooltip's style attribute; its stylesheet carries the CSP nonce."""
    out = chart.render(is_unicode=True)
    out = re.sub(r"<script\b[^>]*>.*?</script>|<!--.*?-->| style=\"[^\"]*\"", "", out, flags=re.S)
    out = out.replace("<style", f'<style nonce="{csp_nonce()}"')
    return Markup(out)


def _has_data(table: core.Table) -> bool:
    return any(isinstance(v, (int, float)) and v for row in table.rows for v in row[1:])


def charts(report: core.Report) -> dict[str, Markup]:
    """A chart for each table that has something to draw; an empty one gets the page's small
    "no data yet" line instead of pygal's block over the chart."""
    t = report.tables
    out = {}

    rows = t["reach"].rows
    c = _chart(pygal.Bar, "Reached after release, % by release week", range=(0, 100))
    c.x_labels = [r[0] for r in rows]
    c.add("reached in 72 h", [r[4] for r in rows])
    c.add("reached in 7 days", [r[7] for r in rows])
    c.add("not reached by day 14", [r[10] for r in rows])
    out["reach"] = c

    rows = t["engagement"].rows
    c = _chart(pygal.Line, "Engagement by week since release, % of people", range=(0, 100))
    c.x_labels = [str(r[0]) for r in rows]
    c.add("sent any text", [r[3] for r in rows])
    c.add("checked in", [r[5] for r in rows])
    c.add("opted out", [r[7] for r in rows])
    if any(r[8] is not None for r in rows):
        c.add("lowest cohort (any text)", [r[8] for r in rows], stroke_style={"dasharray": "3, 4"}, show_dots=False)
        c.add("highest cohort (any text)", [r[9] for r in rows], stroke_style={"dasharray": "3, 4"}, show_dots=False)
    out["engagement"] = c

    c = _chart(pygal.Bar, "Check-ins answered, % by day since release", range=(0, 100), show_legend=False)
    rows = t["checkins"].rows
    c.x_labels = [str(r[0]) for r in rows]
    c.add("response rate %", [r[3] for r in rows])
    out["checkins"] = c

    rows, cols = t["risk"].rows, t["risk"].columns[1:]
    c = _chart(pygal.StackedBar, "Risk checks by tier, per week", TIER_COLORS,
               top=max((sum(r[1:]) for r in rows), default=0))
    c.x_labels = [r[0] for r in rows]
    for i, tier in enumerate(cols, start=1):
        c.add(tier, [r[i] or None for r in rows])
    out["risk"] = c

    rows = t["escalations"].rows
    c = _chart(pygal.StackedBar, "Tickets by reason and priority", PRIORITY_COLORS,
               top=max((r[-1] for r in rows), default=0))
    c.x_labels = [_label(r[0]) for r in rows]
    for i, p in enumerate(core.PRIORITIES, start=1):
        c.add(p, [r[i] or None for r in rows])
    out["escalations"] = c

    rows = [r for r in t["response"].rows if r[0] != "all"]
    c = _chart(pygal.Bar, "Minutes to first peer response: median, p90 and target")
    c.x_labels = [r[0] for r in rows]
    c.add("median", [r[4] for r in rows])
    c.add("90th percentile", [r[5] for r in rows])
    c.add("target", [r[1] for r in rows])
    out["response"] = c if any(r[3] for r in rows) else None

    rows = t["response_week"].rows
    weeks = sorted({r[0] for r in rows})
    c = _chart(pygal.Line, "Share answered within target, % by week", PRIORITY_COLORS, range=(0, 100))
    c.x_labels = weeks
    for p in core.PRIORITIES:
        by_week = {r[0]: r[-1] for r in rows if r[1] == p}
        c.add(p, [by_week.get(w) for w in weeks])
    out["response_week"] = c if any(r[-1] is not None for r in rows) else None

    rows, cols = t["locator"].rows, t["locator"].columns[1:-1]
    c = _chart(pygal.StackedBar, "Where-to-get-it questions by need", ("#3b6e3b", "#b3261e", "#b86e00", "#1f5fbf",
                                                                        "#56607a"),
               top=max((r[-1] for r in rows), default=0))
    c.x_labels = [_label(r[0]) for r in rows]
    for i, status in enumerate(cols, start=1):
        c.add(_label(status), [r[i] or None for r in rows])
    out["locator"] = c

    rows = t["requests"].rows
    c = _chart(pygal.HorizontalBar, "Requests for a peer, emergencies and crises", show_legend=False,
               top=max((r[1] for r in rows), default=0))
    c.x_labels = [_label(r[0]) for r in rows]
    c.add("times", [r[1] for r in rows])
    out["requests"] = c

    c = _chart(pygal.Pie, "Naloxone on hand (of those asked)", ("#3b6e3b", "#b3261e"), inner_radius=0.45)
    for answer, n, _ in t["naloxone"].rows[:2]:
        c.add(answer, n or None)
    out["naloxone"] = c if any(r[1] for r in t["naloxone"].rows[:2]) else None

    rows = [r for r in t["outcomes"].rows if r[1]]
    c = _chart(pygal.HorizontalBar, "Recorded outcomes", show_legend=False, top=max((r[1] for r in rows), default=0))
    c.x_labels = [_label(r[0]) for r in rows]
    c.add("tickets", [r[1] for r in rows])
    out["outcomes"] = c

    rows = t["peer_weeks"].rows
    weeks, names = sorted({r[0] for r in rows}), sorted({r[1] for r in rows})
    c = _chart(pygal.StackedBar, "Tickets handled per peer, by week",
               top=max((sum(r[2] for r in rows if r[0] == w) for w in weeks), default=0))
    c.x_labels = weeks
    for name in names:
        c.add(_label(name), [next((r[2] for r in rows if r[0] == w and r[1] == name), None) for w in weeks])
    out["peer_weeks"] = c
    return {name: svg(chart) if chart is not None and _has_data(t[name]) else None for name, chart in out.items()}


# -- pages ------------------------------------------------------------------------------------------

SECTIONS = (
    ("Reached in the days that matter most", ("reach",)),
    ("How engagement holds up", ("engagement", "checkins", "people")),
    ("How fast peers answer", ("response", "response_week", "response_peer")),
    ("What people needed", ("locator", "requests", "outcomes", "escalations", "naloxone", "risk", "events")),
    ("Peers", ("peers", "peer_weeks")),
)
OWN_TABLES = ("peers", "peer_weeks", "response_peer")     # what a peer sees: their own work


@bp.get("")
@role_required("supervisor")
def index():
    period, problems = period_from(request.args)
    report = build_report(period)
    people = {r[0]: r for r in report.tables["people"].rows}
    return render_template("admin/report.html", report=report, period=period, problems=problems,
                           charts=charts(report), people=people, sections=SECTIONS, mine=False)


def _own(report: core.Report, name: str) -> core.Report:
    """Only the rows about this peer (by name, as the tables carry it)."""
    tables = {}
    for key in (k for k in OWN_TABLES if k in report.tables):
        t = report.tables[key]
        col = t.columns.index("peer")
        tables[key] = replace(t, rows=tuple(r for r in t.rows if r[col] == name))
    return core.Report(report.period, tables)


@bp.get("/mine")
@role_required("peer")
def mine():
    """A peer's own numbers: caseload, open tickets, tickets handled, time to first response."""
    period, problems = period_from(request.args)
    report = _own(build_report(period, me(), only=OWN_TABLES), current_user.name)
    return render_template("admin/report.html", report=report, period=period, problems=problems,
                           charts=charts_of(report), people=None, mine=True,
                           sections=(("Your work", OWN_TABLES),))


def charts_of(report: core.Report) -> dict[str, Markup | None]:
    t = report.tables
    rows = t["peer_weeks"].rows
    c = _chart(pygal.Bar, "Tickets you handled, by week", show_legend=False,
               top=max((r[2] for r in rows), default=0))
    c.x_labels = [r[0] for r in rows]
    c.add("handled", [r[2] for r in rows])
    return {"peer_weeks": svg(c) if _has_data(t["peer_weeks"]) else None}


def _cell(value):
    """No formulas: a text cell a spreadsheet would run (=, +, -, @) is written as text."""
    if value is None:
        return ""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


@bp.get("/<name>.csv")
@role_required("peer")
def download(name: str):
    """A table as CSV, small cells hidden. Peers get only their own rows of their own tables."""
    period, _ = period_from(request.args)
    if not is_supervisor() and name not in OWN_TABLES:
        abort(403)                      # program-wide numbers are the supervisors'
    if name not in core.INPUTS:
        abort(404)
    if is_supervisor():                 # only this table, from only its rows
        table = build_report(period, only=(name,)).tables[name]
    else:
        table = _own(build_report(period, me(), only=(name,)), current_user.name).tables[name]
    table = core.suppressed(table)
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(table.columns)
    for row in table.rows:
        writer.writerow([_cell(v) for v in row])
    with db().session() as s:
        audit.record(s, me(), "report_export", now(), None, table=name, start=period.start.isoformat(),
                     end=period.end.isoformat())
    filename = f"homeward-{name}-{period.start.isoformat()}-to-{period.end.isoformat()}.csv"
    return Response(buf.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})
