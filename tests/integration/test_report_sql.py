"""The report's SQL path against its pure path, on both databases: the per-window probes, the
check-ins answered by day (the recorded answer: the runtime's mark, the recount, migration
0012's backfill) and every table, on a seeded program with time zones, DST changes, microsecond
times, replies at exactly 24 hours, check-ins sent at the same instant and failed ones."""
from __future__ import annotations

import csv
import io
import random
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy import insert, select, update

from core import report as core
from db import checkins
from db.migrate import upgrade
from db.models import Contact, Escalation, Event, Message, Participant
from db.session import Database
from tests import dbs
from tests.report_seed import seed_program
from tests.integration.test_admin_report import table
from tests.staff import login, make_user
from tests.twilio_signing import sms
from web.admin import report as admin_report

UTC = timezone.utc
P = core.Period(date(2026, 3, 1), date(2026, 3, 31), "America/New_York")
NOW = datetime(2026, 6, 15, 16, tzinfo=UTC)
ZONES = ("America/New_York", "America/Los_Angeles", "Europe/Berlin", "Pacific/Honolulu")


def seed_random(db, people: int = 48, seed: int = 18) -> None:
    """People released around the period (both DST changes inside it), each with check-ins and
    texts at random microseconds, and the edges placed on purpose."""
    rnd = random.Random(seed)
    rows, msgs = [], []

    def msg(pid, direction, kind, at, status=None):
        msgs.append(dict(participant_id=pid, direction=direction, channel="sms", kind=kind, body="(seed)",
                         status=status or ("sent" if direction == "out" else "processed"), created_at=at,
                         updated_at=at))

    for pid in range(1, people + 1):
        tz = ZONES[pid % len(ZONES)]
        release = date(2026, 2, 25) + timedelta(days=rnd.randrange(0, 40))
        start = datetime.combine(release, time(0), tzinfo=ZoneInfo(tz))
        rows.append(dict(id=pid, first_name=f"P{pid}", status="merged" if pid == people else "active", fields={},
                         language="en", timezone=tz, discreet=True, release_date=release, consent_at=start,
                         created_at=start))
        for _ in range(40):
            at = start + timedelta(days=rnd.uniform(-2, 100))
            if rnd.random() < 0.5:
                msg(pid, "out", rnd.choice(("nudge", "nudge", "welcome", "bot")), at,
                    "failed" if rnd.random() < 0.1 else None)
            else:
                msg(pid, "in", "person", at)
        nudge = start + timedelta(days=rnd.randrange(0, 20), hours=14, microseconds=rnd.randrange(1, 10**6))
        msg(pid, "out", "nudge", nudge)
        msg(pid, "in", "person", nudge + timedelta(hours=24) + timedelta(microseconds=pid % 2))  # on the edge
        twin = nudge + timedelta(days=30)
        msg(pid, "out", "nudge", twin)
        msg(pid, "out", "welcome", twin)                                                  # the same instant
        msg(pid, "in", "person", twin + timedelta(minutes=5))
        msg(pid, "in", "person", start)                                                   # at release midnight
    with db.session() as s:
        s.execute(insert(Participant), rows)
        s.execute(insert(Message), msgs)


def seed_release_edges(db, people: int = 48, seed: int = 18) -> None:
    """What reach and engagement count beside the texts, for the people of `seed_random`: check-ins
    started (events), opt-outs (events, some undone, and `opted_out_at`) and tickets resolved as
    reached or otherwise, at random and on the windows' edges (a window's first instant in, its end
    out); people released on a week's last day (Sunday), with no zone stored (the program's), not
    enrolled, and released outside the period."""
    rnd = random.Random(seed)
    events, tickets, opted, extra = [], [], {}, []
    with db.session() as s:
        persons = s.execute(select(Participant.id, Participant.release_date, Participant.timezone)).all()
    for pid, release, tz in persons:
        start = datetime.combine(release, time(0), tzinfo=ZoneInfo(tz or P.tz))
        for _ in range(rnd.randrange(0, 5)):
            events.append(dict(participant_id=pid, name="checkin", data={"mood": rnd.randrange(1, 6)},
                               created_at=start + timedelta(days=rnd.uniform(-3, 95))))
        events.append(dict(participant_id=pid, name="checkin", data={},
                           created_at=start + timedelta(days=7 * (pid % 14))))
        events.append(dict(participant_id=pid, name="checkin", data={},
                           created_at=start + timedelta(days=7 * (pid % 13 + 1), microseconds=-1)))   # a week's last µs
        if pid % 5 == 0:
            events.append(dict(participant_id=pid, name="opted_out", data={},
                               created_at=start + timedelta(days=7 * (pid % 13))))                   # a week's start
            events.append(dict(participant_id=pid, name="opted_in", data={},
                               created_at=start + timedelta(days=7 * (pid % 13), hours=2)))
        if pid % 7 == 0:
            opted[pid] = start + timedelta(days=rnd.uniform(0, 95))
        for days, outcome in ((3, "reached"), (rnd.uniform(-1, 15), rnd.choice(core.REACHED_OUTCOMES + ("other",))),
                              (7, "naloxone_provided"), (14, "referred_treatment")):
            if rnd.random() < 0.4:
                resolved = start + timedelta(days=days, microseconds=-(pid % 2))       # the window's end, or just in
                tickets.append(dict(participant_id=pid, reason="no_contact", priority="normal", priority_rank=2,
                                    status="resolved", note="", created_at=resolved - timedelta(hours=1),
                                    sla_due_at=resolved, reopened_count=0, resolved_at=resolved, outcome=outcome))
    first = max(pid for pid, _, _ in persons) + 1
    for i, (release, tz, status) in enumerate(((date(2026, 3, 8), "America/Chicago", "active"),   # a Sunday
                                               (date(2026, 3, 15), "", "active"),                 # a Sunday, no zone
                                               (date(2026, 3, 9), "", "paused"),
                                               (date(2026, 3, 9), "", "prospect"),                # not enrolled
                                               (date(2026, 3, 9), "America/New_York", "prospect"),
                                               (date(2026, 4, 1), "America/New_York", "active"))):  # after P
        pid = first + i
        start = datetime.combine(release, time(0), tzinfo=ZoneInfo(tz or P.tz))
        extra.append(dict(id=pid, first_name=f"E{pid}", status=status, fields={}, language="en", timezone=tz,
                          discreet=True, release_date=release, created_at=start,
                          consent_at=None if status == "prospect" else start))
        events.append(dict(participant_id=pid, name="checkin", data={}, created_at=start + timedelta(days=8)))
        events.append(dict(participant_id=pid, name="opted_out", data={}, created_at=start + timedelta(days=15)))
        tickets.append(dict(participant_id=pid, reason="no_contact", priority="normal", priority_rank=2,
                            status="resolved", note="", created_at=start, sla_due_at=start, reopened_count=0,
                            resolved_at=start, outcome="reached"))                              # release midnight
    # people who text little, so that each edge decides a count: (zone, texts, ticket, opted out), as
    # offsets from release midnight; a ticket resolved as reached
    d, us = timedelta(days=1), timedelta(microseconds=1)
    quiet = (("America/Los_Angeles", [3 * d], 3 * d, 14 * d), ("America/Los_Angeles", [7 * d - us], 7 * d, 7 * d),
             ("Europe/Berlin", [8 * d], 14 * d - us, 14 * d - us), ("Europe/Berlin", [13 * d], 3 * d - us, None),
             ("America/New_York", [14 * d], 14 * d, 21 * d), ("Pacific/Honolulu", [], 7 * d - us, 7 * d - us),
             ("America/Chicago", [6 * d, 20 * d], None, 28 * d), ("Europe/Berlin", [10 * d], None, None),
             ("Asia/Kolkata", [], -us, None))                # reached before release: not a contact
    messages = []
    for i, (tz, texts, ticket, out) in enumerate(quiet):
        pid, release = first + 10 + i, date(2026, 3, 2) + timedelta(days=3 * i)
        start = datetime.combine(release, time(0), tzinfo=ZoneInfo(tz))
        extra.append(dict(id=pid, first_name=f"Q{pid}", status="active", fields={}, language="en", timezone=tz,
                          discreet=True, release_date=release, created_at=start, consent_at=start))
        messages += [dict(participant_id=pid, direction="in", channel="sms", kind="person", body="(seed)",
                          status="processed", created_at=start + o, updated_at=start + o) for o in texts]
        if ticket is not None:
            tickets.append(dict(participant_id=pid, reason="no_contact", priority="normal", priority_rank=2,
                                status="resolved", note="", created_at=start, sla_due_at=start, reopened_count=0,
                                resolved_at=start + ticket, outcome="referred_treatment"))
        if out is not None:
            opted[pid] = start + out
        for o in (-us, 91 * d - us, 91 * d):   # before release, week 13's last instant, after it: one counts
            events.append(dict(participant_id=pid, name="checkin", data={}, created_at=start + o))
    with db.session() as s:
        s.execute(insert(Participant), extra)
        s.execute(insert(Message), messages)
        for pid, at in opted.items():
            s.execute(update(Participant).where(Participant.id == pid).values(opted_out_at=at))
        s.execute(update(Participant).where(Participant.id == first + 1).values(opted_out_at=datetime.combine(
            date(2026, 3, 22), time(0), tzinfo=ZoneInfo(P.tz))))                 # week 2's first instant
        s.execute(insert(Event), events)
        s.execute(insert(Escalation), tickets)
        for pid in (first + 1, first + 2):
            for k in range(0, 90, 5):
                at = datetime.combine(date(2026, 3, 9), time(0), ZoneInfo(P.tz)) + timedelta(days=k, hours=k % 24)
                s.add(Message(participant_id=pid, direction="in" if k % 2 else "out", channel="sms",
                              kind="person" if k % 2 else "nudge", body="(seed)",
                              status="processed" if k % 2 else "sent", created_at=at, updated_at=at))


def pure_events(s) -> list[core.EventRow]:
    return [core.EventRow(name, data or {}, at, pid) for name, data, at, pid in s.execute(
        select(Event.name, Event.data, Event.created_at, Event.participant_id))]


def pure_tickets(s) -> list[core.TicketRow]:
    return admin_report._tickets(s, sa.true())


def pure_messages(s) -> list[core.MessageRow]:
    """Every message, as the pure path takes them (check-ins the carrier refused left out)."""
    return [core.MessageRow(pid, d, kind, at) for pid, d, kind, at in s.execute(
        select(Message.participant_id, Message.direction, Message.kind, Message.created_at).where(
            (Message.direction == "in") | (Message.status.not_in(checkins.NOT_SENT))))]


def pure_persons(s, period=P) -> list[core.PersonRow]:
    """Everyone, as the pure path takes them (the SQL path loads only the people released in the
    period, and counts the rest)."""
    return [core.PersonRow(pid, status, release, tz or period.tz, consent, opted, created,
                           core.naloxone_answer((fields or {}).get("naloxone_on_hand")))
            for pid, status, release, tz, consent, opted, created, fields in s.execute(
                select(Participant.id, Participant.status, Participant.release_date, Participant.timezone,
                       Participant.consent_at, Participant.opted_out_at, Participant.created_at,
                       Participant.fields).where(Participant.status != "merged"))]


def both_paths(db, period=P, now=NOW):
    """The rows the shell loads, and the same computed from every row by the pure path (`hits`
    from the messages, `release` from the people, hits, every ticket and every event)."""
    with db.session() as s:
        rows = admin_report.load_rows(s, period, now)
        messages = pure_messages(s)
        persons = pure_persons(s, period)
        events, tickets = pure_events(s), pure_tickets(s)
    hits = core.window_hits(persons, core.release_windows(persons, period, now), messages)
    pure = dict(rows, persons=persons, tally=core.people_tally(persons, period),
                checkins=core.checkin_days(persons, messages, period), hits=hits,
                release=core.release_counts(persons, hits, tickets, events, period, now))
    return rows, pure


def report(rows, period=P, now=NOW) -> dict:
    built = core.build(period, (), rows["checkins"], rows["events"], rows["tickets"], {}, {}, now,
                       staff=rows["staff"], tally=rows["tally"], release=rows["release"])
    return {name: t.rows for name, t in built.tables.items()}


def report_from_rows(rows, period=P, now=NOW) -> dict:
    """The pure path all the way: reach and engagement from the people, hits, tickets and events."""
    built = core.build(period, rows["persons"], rows["checkins"], rows["events"], rows["tickets"], {}, {}, now,
                       hits=rows["hits"], release_events=rows["events_all"], release_tickets=rows["tickets_all"],
                       staff=rows["staff"], tally=rows["tally"])
    return {name: t.rows for name, t in built.tables.items()}


def test_the_sql_path_and_the_pure_path_agree(db):
    seed_random(db)
    with db.session() as s:
        checkins.recount_answered(s.connection())
    seed_release_edges(db)
    sql, pure = both_paths(db)
    assert sql["release"] == pure["release"] and sql["checkins"] == pure["checkins"]
    with db.session() as s:                   # the probes (for people with no zone) answer the same
        assert admin_report.probe_hits(s, core.release_windows(pure["persons"], P, NOW), P) == pure["hits"]
    assert len(pure["hits"].texted) > 200 and len(pure["hits"].answered) > 50     # the probes found things
    counted = sql["release"]
    assert sum(counted.contact.values()) > 200 and sum(counted.checked.values()) > 50 and sum(counted.opted.values())
    assert (date(2026, 3, 15), P.tz) in counted.people and (date(2026, 3, 8), "America/Chicago") in counted.people
    assert sum(a for _, a in sql["checkins"].values()) > 20
    assert report(sql) == report(pure)
    assert report(sql)["reach"] and report(sql)["engagement"]
    with db.session() as s:                   # and the tables are the ones computed from the rows
        whole = dict(pure, events_all=pure_events(s), tickets_all=pure_tickets(s))
    assert report(sql) == report_from_rows(whole)
    for days in (1, 10, 60):                  # windows still open: counted only once they end
        now = datetime.combine(P.start + timedelta(days=days), time(0), tzinfo=UTC)
        sql, pure = both_paths(db, now=now)
        assert sql["release"] == pure["release"], days


def test_texts_marked_one_by_one_as_they_arrive_agree_with_the_recount(db):
    """What the runtime records, text by text in the order they came, is the pure answer too."""
    seed_random(db, people=24, seed=7)
    with db.session() as s:
        conn = s.connection()
        conn.execute(update(Message).values(answered_at=None))
        texts = conn.execute(select(Message.participant_id, Message.created_at)
                             .where(Message.direction == "in").order_by(Message.created_at, Message.id)).all()
        for pid, at in texts:
            checkins.mark_answered(conn, pid, at)
    sql, pure = both_paths(db)
    assert sql["checkins"] == pure["checkins"] and sql["release"] == pure["release"]
    assert sum(a for _, a in sql["checkins"].values()) > 10


def test_a_reply_through_the_webhook_marks_the_check_in_and_the_report_counts_it(app, db):
    phone, sent = "+13125550177", datetime(2026, 3, 12, 14, tzinfo=UTC)
    seed_program(db)
    with db.session() as s:
        person = Participant(first_name="Rey", status="active", release_date=date(2026, 3, 11),
                             timezone="America/New_York", consent_at=sent - timedelta(days=1), fields={})
        s.add(person)
        s.flush()
        s.add(Contact(participant_id=person.id, channel="sms", address=f"sms:{phone}"))
        for at in (sent, sent + timedelta(days=1)):
            s.add(Message(participant_id=person.id, direction="out", channel="sms", kind="nudge", body="(seed)",
                          status="sent", created_at=at, updated_at=at))
    app.extensions["homeward.clock"] = lambda: sent + timedelta(hours=3)
    assert sms(app.test_client(), phone, "4").status_code == 200        # answers the first check-in
    app.extensions["homeward.clock"] = lambda: sent + timedelta(days=2, hours=1)
    assert sms(app.test_client(), phone, "hi").status_code == 200       # 25 hours after the second: late
    with db.session() as s:
        marks = s.execute(select(Message.created_at, Message.answered_at).where(
            Message.participant_id == person.id, Message.kind == "nudge").order_by(Message.created_at)).all()
    assert marks == [(sent, sent + timedelta(hours=3)), (sent + timedelta(days=1), None)]
    make_user(db, "sam@example.org", "supervisor", "Sam Rivera")
    client = app.test_client()
    login(client, "sam@example.org")
    html = client.get("/admin/report?start=2026-03-10&end=2026-03-20").get_data(as_text=True)
    days = {r[0]: r[1:] for r in table(html, "checkins")}
    assert days["1"] == ["4", "2", "50.0"]          # the seeded three, and Rey's first: answered
    assert days["2"] == ["4", "0", "0.0"]           # Rey's second: not answered in time


def test_migration_0012_backfills_the_check_ins_answered_before_it(db_url, tmp_path):
    url = f"sqlite:///{tmp_path / 'old.db'}" if db_url.startswith("sqlite") else dbs.create_pg_database()
    old = Database(url)
    try:
        upgrade(old.engine, "0010")
        at = datetime(2026, 3, 12, 14, 0, 0, 250_000)                   # naive UTC, as stored
        written = sa.table("messages", *(sa.column(c) for c in ("participant_id", "direction", "channel", "kind",
                                                                 "body", "num_media", "status")),
                           sa.column("created_at", sa.DateTime), sa.column("updated_at", sa.DateTime))
        with old.engine.begin() as conn:
            conn.exec_driver_sql("INSERT INTO participants (id, language, timezone, status, discreet, fields, "
                                 "created_at) VALUES (1, 'en', 'America/New_York', 'active', true, '{}', '2026-03-01')")
            for direction, kind, when in (("out", "nudge", at), ("in", "person", at + timedelta(hours=24)),
                                          ("out", "nudge", at + timedelta(days=2)),
                                          ("in", "person", at + timedelta(days=3, microseconds=1))):
                conn.execute(insert(written).values(participant_id=1, direction=direction, channel="sms", kind=kind,
                                                    body="", num_media=0, status="sent", created_at=when,
                                                    updated_at=when))
        upgrade(old.engine)
        table = checkins.MESSAGES
        with old.engine.connect() as conn:
            marks = conn.execute(select(table.c.created_at, table.c.answered_at).where(table.c.direction == "out")
                                 .order_by(table.c.created_at)).all()
        assert [(str(a)[:26], str(b)[:26] if b else None) for a, b in marks] == [
            ("2026-03-12 14:00:00.250000", "2026-03-13 14:00:00.250000"),   # exactly 24 hours: answered
            ("2026-03-14 14:00:00.250000", None)]                            # 24 h and a microsecond: not
    finally:
        old.engine.dispose()
        if not url.startswith("sqlite"):
            dbs.drop_pg_database(url)


def test_the_people_counted_in_sql_are_the_pure_tally(db):
    """The people and naloxone tables from SQL counts (`load_tally`) equal the pure ones from
    rows: every status, times on the period's edges (its first instant in, its end out), an
    opt-out, merged records, and naloxone answers of every JSON type."""
    start, end = P.start_utc, P.end_utc
    answers = (True, False, "yes", " Sí ", "NO", "true", "maybe", "", 1, 0, None, {"x": 1}, [True])
    times = (None, start, start - timedelta(microseconds=1), end, end - timedelta(microseconds=1),
             start + timedelta(days=3, microseconds=7))
    rows, pid = [], 0
    for status in ("prospect", "active", "paused", "completed", "merged"):
        for i, answer in enumerate(answers + ("missing", "no fields")):
            for j, consent in enumerate(times):
                pid += 1
                fields = {} if answer == "missing" else None if answer == "no fields" else {"naloxone_on_hand": answer}
                rows.append(dict(id=pid, first_name=f"P{pid}", status=status, fields=fields, language="en",
                                 timezone=ZONES[pid % 4], discreet=True, release_date=date(2026, 3, 1 + j),
                                 consent_at=consent, opted_out_at=times[(i + j) % len(times)],
                                 created_at=times[(i + 2 * j) % len(times)] or start - timedelta(days=9)))
    with db.session() as s:
        s.execute(insert(Participant), rows)
    with db.session() as s:
        sql = admin_report.load_tally(s, P)
        pure = core.people_tally(pure_persons(s), P)
    assert sql == pure
    assert sum(sql.values()) == len(rows) - len(rows) // 5            # the merged left out
    assert {k.naloxone_on_hand for k in sql} == {True, False, None}
    assert core.people(sql) == core.people(pure) and core.naloxone(sql) == core.naloxone(pure)
    enrolled, new = core.people(sql).rows[0][1:]
    assert 0 < new < enrolled
    has, has_not = core.naloxone(sql).rows[0][1], core.naloxone(sql).rows[1][1]
    assert has and has_not


def kept_days(db) -> tuple[list, list]:
    """The kept summaries as the triggers left them (rows emptied by refusals and moves left out)."""
    days, weeks = checkins.DAYS, checkins.WEEKS
    with db.session() as s:
        return (sorted((str(tz), str(day), str(release), n, yes) for tz, day, release, n, yes in s.execute(
                    select(days.c.timezone, days.c.day, days.c.release_date, days.c.sent, days.c.answered)
                    .where(days.c.sent != 0))),
                sorted(tuple(r) for r in s.execute(select(weeks).where((weeks.c.texts != 0) | (weeks.c.answered != 0)))))


def rebuilt_days(db) -> tuple[list, list]:
    with db.session() as s:
        checkins.rebuild_checkin_days(s.connection())
        checkins.rebuild_person_weeks(s.connection())
    return kept_days(db)


def test_the_kept_check_in_days_follow_every_write_that_changes_one(db):
    """Triggers keep `report_checkin_days` (migration 0015) in each write's transaction: check-ins
    inserted, refused by the carrier and retried, answered, deleted, moved by a real merge; a
    release date and a zone edited, a release date cleared, a record marked merged. After all of
    it, without a recount, the summary is what a rebuild from the messages gives; once the answers
    are recounted for the people (a refused check-in moves the next one's window: the recorded
    answer is as of its time), the report is the pure one (a person with no zone stored, the
    program's, counted from the messages)."""
    from bot.merging import merge
    seed_random(db)
    seed_release_edges(db)
    with db.session() as s:
        checkins.recount_answered(s.connection())
    assert kept_days(db) == rebuilt_days(db) and all(kept_days(db))
    at = datetime(2026, 3, 14, 12, 30, 0, 500, tzinfo=UTC)
    with db.session() as s:
        conn = s.connection()
        ids = [r.id for r in conn.execute(select(Message.id).where(Message.direction == "out", Message.kind == "nudge")
                                          .order_by(Message.id))]
        conn.execute(update(Message).where(Message.id.in_(ids[:30:3])).values(status="failed"))
        conn.execute(update(Message).where(Message.id.in_(ids[1:30:3])).values(status="undelivered"))
        conn.execute(update(Message).where(Message.id.in_(ids[:15:3])).values(status="sending"))      # retried
        conn.execute(update(Message).where(Message.id.in_(ids[40:60])).values(status="delivered"))     # no change
        conn.execute(sa.delete(Message).where(Message.id.in_(ids[60:64])))
        conn.execute(insert(Message), [dict(participant_id=p, direction="out", channel="sms", kind="welcome",
                                            body="(seed)", status="sending", created_at=at, updated_at=at)
                                       for p in (3, 4, 5)])
        conn.execute(insert(Message), [dict(participant_id=p, direction="in", channel="sms", kind="person",
                                            body="(seed)", status="received", created_at=at + timedelta(minutes=5),
                                            updated_at=at) for p in (3, 4, 13)])
        conn.execute(update(Message).where(Message.status == "received").values(status="processed"))  # no change
        for p in (3, 4):
            checkins.mark_answered(conn, p, at + timedelta(minutes=5))
        conn.execute(update(Participant).where(Participant.id == 6).values(release_date=date(2026, 3, 3)))
        conn.execute(update(Participant).where(Participant.id == 7).values(timezone="Asia/Kolkata"))
        conn.execute(update(Participant).where(Participant.id == 8).values(release_date=None))
        conn.execute(update(Participant).where(Participant.id == 9).values(status="merged"))
        conn.execute(update(Participant).where(Participant.id == 10).values(timezone=""))   # the program's zone
    with db.session() as s:
        keep, other = s.get(Participant, 11), s.get(Participant, 12)
        merge(s, keep, other, NOW)
    assert kept_days(db) == rebuilt_days(db)
    with db.session() as s:
        checkins.recount_answered(s.connection(), range(1, 49))       # the per-person form: no rebuild
    assert kept_days(db) == rebuilt_days(db)
    sql, pure = both_paths(db)
    assert sql["checkins"] == pure["checkins"] and sql["release"] == pure["release"]
    assert report(sql) == report(pure)


def test_the_0015_migrations_backfill_the_kept_summaries(db_url, tmp_path):
    url = f"sqlite:///{tmp_path / 'old.db'}" if db_url.startswith("sqlite") else dbs.create_pg_database()
    old = Database(url)
    try:
        upgrade(old.engine, "0014_report_people")
        with old.engine.begin() as conn:
            conn.exec_driver_sql("INSERT INTO participants (id, language, timezone, status, discreet, fields, created_at, "
                                 "release_date) VALUES (1, 'en', 'America/Los_Angeles', 'active', true, '{}', "
                                 "'2026-03-01', '2026-03-01'), (2, 'en', 'America/New_York', 'merged', true, '{}', "
                                 "'2026-03-01', '2026-03-01')")
            for pid, status, when, answered in ((1, "sent", "2026-03-02 07:59:59.999999", None),   # 23:59 in LA
                                                (1, "sent", "2026-03-02 08:00:00", "2026-03-02 09:00:00"),
                                                (1, "failed", "2026-03-02 10:00:00", None),
                                                (2, "sent", "2026-03-02 10:00:00", None)):         # merged
                conn.exec_driver_sql(
                    "INSERT INTO messages (participant_id, direction, channel, kind, body, num_media, status, "
                    f"created_at, updated_at, answered_at) VALUES ({pid}, 'out', 'sms', 'nudge', '', 0, '{status}', "
                    f"'{when}', '{when}', {repr(answered) if answered else 'NULL'})")
            conn.exec_driver_sql("INSERT INTO messages (participant_id, direction, channel, kind, body, num_media, "
                                 "status, created_at, updated_at) VALUES (1, 'in', 'sms', 'person', '', 0, "
                                 "'processed', '2026-03-02 09:00:00', '2026-03-02 09:00:00')")
        upgrade(old.engine)
        days = checkins.DAYS
        with old.engine.connect() as conn:
            rows = conn.execute(select(days.c.timezone, days.c.day, days.c.release_date, days.c.sent,
                                       days.c.answered).order_by(days.c.day)).all()
        assert [(tz, str(d), str(r), n, a) for tz, d, r, n, a in rows] == [
            ("America/Los_Angeles", "2026-03-01", "2026-03-01", 1, 0),
            ("America/Los_Angeles", "2026-03-02", "2026-03-01", 1, 1)]
        with old.engine.connect() as conn:                    # day 1 in LA: a text, and a check-in answered
            assert [tuple(r) for r in conn.execute(select(checkins.WEEKS))] == [(1, 0, 1, 1, 1)]
    finally:
        old.engine.dispose()
        if not url.startswith("sqlite"):
            dbs.drop_pg_database(url)


def test_the_events_counted_in_sql_give_the_tables_of_the_events(db):
    """`load_events` counts the period's events alike in SQL (a row a kind, with its count); the
    risk, locator, requests and events tables from those rows are the ones from every event: data
    of every JSON type, keys missing, times on the period's edges and on its weeks' (the program's
    midnights), safety events of one person counted once as a person."""
    rnd = random.Random(5)
    start, end = P.start_utc, P.end_utc
    monday = datetime.combine(date(2026, 3, 9), time(0), tzinfo=ZoneInfo(P.tz))
    times = (start, start - timedelta(microseconds=1), end, end - timedelta(microseconds=1), monday,
             monday - timedelta(microseconds=1), datetime(2026, 3, 8, 7, tzinfo=UTC),      # DST day, 03:00 EDT
             datetime(2026, 3, 20, 3, 59, tzinfo=UTC))                                   # 23:59 on the 19th
    values = ("high", "low", "moderate", "", None, 1, 0, 2.5, 3.0, True, False, {"a": 1}, [1, "x"], "Sí ✓",
              "found", "more", "need_place", "emergency", "crisis", "MISSING")
    names = ("risk_check", "locator", "checkin", "screening", "safety", "timed_out", "expired", "opted_out",
             "opted_in")
    with db.session() as s:
        s.execute(insert(Participant), [dict(id=i, first_name=f"P{i}", status="active", fields={}, language="en",
                                             timezone="America/New_York", discreet=True, created_at=start)
                                        for i in range(1, 8)])
        rows = []
        for i in range(600):
            name = names[i % len(names)]
            data = {}
            for key in ("tier", "need", "status", "sites", "mood", "result", "kind", "flow"):
                value = rnd.choice(values)
                if value != "MISSING":
                    data[key] = value
            at = times[i % len(times)] if i % 3 == 0 else start + (end - start) * rnd.random()
            rows.append(dict(participant_id=rnd.choice((1, 2, 3, 4, 5, 6, 7, None)), name=name,
                             data=data if i % 17 else None, created_at=at))
        s.execute(insert(Event), rows)
    with db.session() as s:
        counted = admin_report.load_events(s, P)
        every = [e for e in pure_events(s)]
    assert len(counted) < len(every) and sum(e.n for e in counted) == sum(1 for e in every if e.at in P
                                                                         and e.name in admin_report.EVENT_NAMES)

    def tables(events):
        return (core.risk_tiers(events, P), core.locator(events, P), core.requests(events, [], P),
                core.conversation_events(events, P))
    assert tables(counted) == tables(every)
    risk, locator, requests, events = tables(counted)
    assert len(risk.rows) >= 4 and "unknown" in risk.columns and locator.rows and events.rows
    assert requests.rows[1][1] > requests.rows[1][2] > 1              # emergencies: more than the people


def test_the_csv_downloads_of_the_tables_counted_in_sql_hide_small_cells_as_the_pure_ones(app, db):
    """Reach, engagement, requests, locator, risk and events as downloaded (counted in SQL, small
    cells hidden) are the pure tables from every row, suppressed: counts of 1 to 4 people as "<5"
    and the rates beside them blank."""
    seed_random(db)
    with db.session() as s:
        checkins.recount_answered(s.connection())
    seed_release_edges(db)
    with db.session() as s:
        s.execute(insert(Event), [dict(participant_id=1 + i % 3, name=name, data=data,
                                       created_at=datetime(2026, 3, 2 + i, 15, tzinfo=UTC))
                                  for i, (name, data) in enumerate(
                                      [("safety", {"kind": "emergency"})] * 4 + [("safety", {"kind": "crisis"})]
                                      + [("locator", {"need": "naloxone", "status": "found", "sites": 2})] * 3
                                      + [("risk_check", {"tier": "high"}), ("risk_check", {"tier": 2})])])
    _, pure = both_paths(db)
    with db.session() as s:
        events, tickets = pure_events(s), pure_tickets(s)
    expected = {"reach": core.reach_of(pure["release"], NOW), "engagement": core.engagement_of(pure["release"], NOW),
                "requests": core.requests(events, tickets, P), "locator": core.locator(events, P),
                "risk": core.risk_tiers(events, P), "events": core.conversation_events(events, P)}
    app.extensions["homeward.clock"] = lambda: NOW
    make_user(db, "sam@example.org", "supervisor", "Sam Rivera")
    client = app.test_client()
    login(client, "sam@example.org")
    hidden = 0
    for name, made in expected.items():
        body = client.get(f"/admin/report/{name}.csv?start={P.start}&end={P.end}").get_data(as_text=True)
        rows = list(csv.reader(io.StringIO(body)))
        want = core.suppressed(made)
        assert rows[0] == list(want.columns) and len(rows) > 1, name
        assert rows[1:] == [["" if v is None else str(v) for v in row] for row in want.rows], name
        hidden += sum(v == "<5" for row in rows for v in row)
    assert hidden >= 5
