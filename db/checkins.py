"""Check-ins answered, recorded when it happens, so the program report counts a column instead
of probing every check-in's window (docs/benchmarks.md, "Program report").

A check-in is an outbound nudge or welcome that was not refused by the carrier. It is answered
when the person writes after it, within 24 hours and no later than the next check-in; the
column `messages.answered_at` holds the first such text's time. The same rule as
`core.report._answered_nudges` (db may not import core: the constants are repeated here and a
unit test holds the two together).

`mark_answered` runs in the transaction that stores an inbound text; `recount_answered` sets the
column again from the messages themselves, for history written directly (the demo, seeds, the
benchmark) and after a merge (migration 0012 runs a frozen copy as its backfill).

The report reads check-ins by day from `report_checkin_days` (a row per zone, local day and
release date), which triggers keep in the transaction of each write (migration 0015: every path
that sends, refuses, answers or moves a check-in, or edits a release date or zone, without
calls in each). SQLite has no time zones: `local_date` is registered on each connection
(db/session.make_engine) for them. A full `recount_answered` also rebuilds the summary.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Iterable
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy import and_, bindparam, exists, func, or_, select, update

from db.raw import Raw

CHECKIN_KINDS = ("nudge", "welcome")
NOT_SENT = ("failed", "undelivered")
ANSWER_WINDOW = timedelta(hours=24)

MESSAGES = sa.table("messages", sa.column("id", sa.Integer), sa.column("participant_id", sa.Integer),
                    sa.column("direction", sa.String), sa.column("kind", sa.String),
                    sa.column("status", sa.String), sa.column("created_at", sa.DateTime),
                    sa.column("answered_at", sa.DateTime))


LOCAL_DATE = "homeward_local_date"     # (UTC time, zone) -> the local date, in SQL on both databases
DAYS = sa.table("report_checkin_days", sa.column("timezone", sa.String), sa.column("day", sa.Date),
                sa.column("release_date", sa.Date), sa.column("sent", sa.Integer), sa.column("answered", sa.Integer))
PEOPLE = sa.table("participants", sa.column("id", sa.Integer), sa.column("timezone", sa.String),
                  sa.column("release_date", sa.Date), sa.column("status", sa.String))


def local_date(at, tz):
    """SQLite's homeward_local_date: a stored UTC time (text) to its date in `tz`, as ISO text;
    None for a zone Python does not know (the check-in is then not kept in the summary, and the
    report counts it from the messages)."""
    try:
        when = at if isinstance(at, datetime) else datetime.fromisoformat(at)
        return when.replace(tzinfo=timezone.utc).astimezone(ZoneInfo(tz)).date().isoformat()
    except (TypeError, ValueError, KeyError, OSError):
        return None


def is_checkin(m) -> sa.ColumnElement[bool]:
    return and_(m.c.direction == "out", m.c.kind.in_(CHECKIN_KINDS), m.c.status.not_in(NOT_SENT))


def _open_checkin(pid):
    """The person's latest check-in before `at` and after `since`: the one a text at `at` answers
    (any earlier one's window ended at this one)."""
    m = MESSAGES.alias("open_checkin")
    return (select(m.c.id).where(m.c.participant_id == pid, is_checkin(m),
                                 m.c.created_at < bindparam("at"), m.c.created_at >= bindparam("since"))
            .order_by(m.c.created_at.desc(), m.c.id.desc()).limit(1).scalar_subquery())


def mark_statement(pid=None):
    """The UPDATE `mark_answered` runs, for the person `pid` (a bound :pid, or an expression, as
    in the runtime's one-statement store on PostgreSQL); its parameters are `answered_params`."""
    pid = bindparam("pid") if pid is None else pid
    return (update(MESSAGES).where(MESSAGES.c.id == _open_checkin(pid), MESSAGES.c.answered_at.is_(None))
            .values(answered_at=bindparam("at")))


MARK = Raw(mark_statement())   # on every text's path: straight to the driver (db/raw.py)


def answered_params(at: datetime) -> dict:
    at = at.astimezone(timezone.utc).replace(tzinfo=None)
    return {"at": at, "since": at - ANSWER_WINDOW}


def mark_answered(conn, participant_id: int, at: datetime) -> int:
    """A text from the person at `at`: mark the check-in it answers. Times are naive UTC here
    (this table is typeless), as the UTCDateTime columns store them."""
    return max(MARK.execute(conn, pid=participant_id, **answered_params(at)), 0)


def _plus_window(column, dialect: str):
    """`column` + 24 hours, exactly. SQLite keeps times as text with six fraction digits; a bound
    built with its date functions would lose them (strftime's %f has three), so the fraction is
    carried over as text (the trap in docs/benchmarks.md)."""
    seconds = int(ANSWER_WINDOW.total_seconds())
    if dialect == "sqlite":
        return func.strftime("%Y-%m-%d %H:%M:%S", column, f"+{seconds} seconds").op("||")(func.substr(column, 20))
    return column + sa.text(f"interval '{seconds} seconds'")


def recount_answered(conn, participant_ids: Iterable[int] | None = None) -> int:
    """Set `answered_at` on every check-in (of these people, or everyone) from their messages."""
    n, r, nxt = MESSAGES, MESSAGES.alias("reply"), MESSAGES.alias("next_checkin")
    later = or_(nxt.c.created_at > n.c.created_at, and_(nxt.c.created_at == n.c.created_at, nxt.c.id > n.c.id))
    first_reply = (select(func.min(r.c.created_at))
                   .where(r.c.participant_id == n.c.participant_id, r.c.direction == "in",
                          r.c.created_at > n.c.created_at,
                          r.c.created_at <= _plus_window(n.c.created_at, conn.dialect.name),
                          ~exists().where(nxt.c.participant_id == n.c.participant_id, is_checkin(nxt), later,
                                          nxt.c.created_at < r.c.created_at).correlate(n, r))
                   .correlate(n).scalar_subquery())
    stmt = update(n).where(is_checkin(n)).values(answered_at=first_reply)
    if participant_ids is not None:
        stmt = stmt.where(n.c.participant_id.in_(list(participant_ids)))
    count = conn.execute(stmt).rowcount or 0
    if participant_ids is None:
        rebuild_checkin_days(conn)
        rebuild_person_weeks(conn)
    return count


def rebuild_checkin_days(conn) -> None:
    """The summary again from the messages (the triggers keep it; this is the repair, and what
    the benchmark and tests compare it with)."""
    m, p = MESSAGES, PEOPLE
    day = func.homeward_local_date(m.c.created_at, p.c.timezone)
    rows = (select(p.c.timezone, day.label("day"), p.c.release_date, m.c.answered_at)
            .select_from(m.join(p, p.c.id == m.c.participant_id))
            .where(p.c.release_date.is_not(None), p.c.status != "merged", is_checkin(m)).subquery())
    conn.execute(DAYS.delete())
    conn.execute(DAYS.insert().from_select(
        ["timezone", "day", "release_date", "sent", "answered"],
        select(rows.c.timezone, rows.c.day, rows.c.release_date, func.count(), func.count(rows.c.answered_at))
        .where(rows.c.day.is_not(None)).group_by(rows.c.timezone, rows.c.day, rows.c.release_date)))


WEEKS = sa.table("report_person_weeks", sa.column("participant_id", sa.Integer), sa.column("week", sa.Integer),
                 sa.column("texts", sa.Integer), sa.column("early", sa.Integer), sa.column("answered", sa.Integer))
FOLLOWED_DAYS = 91      # weeks 0-12 since release


def rebuild_person_weeks(conn) -> None:
    """`report_person_weeks` again from the messages: per person and week since release, the
    texts they sent (in the first three days too) and the check-ins sent in it that were answered."""
    m, p = MESSAGES, PEOPLE
    local = func.homeward_local_date(m.c.created_at, p.c.timezone)
    if conn.dialect.name == "sqlite":
        since = sa.cast(func.julianday(local) - func.julianday(p.c.release_date), sa.Integer)
    else:
        since = sa.cast(sa.cast(local, sa.Date) - p.c.release_date, sa.Integer)
    parts = (select(m.c.participant_id, since.label("d"), (m.c.direction == "in").label("wrote"))
             .select_from(m.join(p, p.c.id == m.c.participant_id))
             .where(p.c.release_date.is_not(None), p.c.status != "merged",
                    or_(m.c.direction == "in", and_(is_checkin(m), m.c.answered_at.is_not(None)))).subquery())
    week = (parts.c.d // 7).label("week")
    text = sa.case((parts.c.wrote, 1), else_=0)
    conn.execute(WEEKS.delete())
    conn.execute(WEEKS.insert().from_select(
        ["participant_id", "week", "texts", "early", "answered"],
        select(parts.c.participant_id, week, func.sum(text), func.sum(sa.case((parts.c.d < 3, text), else_=0)),
               func.sum(sa.case((parts.c.wrote, 0), else_=1)))
        .where(parts.c.d >= 0, parts.c.d < FOLLOWED_DAYS).group_by(parts.c.participant_id, week)))
