"""How fast the program report renders with 10,000 people and 1,000,000 messages, on SQLite and
PostgreSQL (issue 18 budget: under 1 s).

    .venv/bin/python bench/report.py [--people 10000] [--messages 1000000] [--runs 5] [--skip-pg]

People are released over the 180 days before `now`, and write and are written to at one steady
rate over their first 90 days (check-ins out, replies in): nothing falls after `now`, so people
released lately have fewer messages so far (about 1.5 a day each; until 2026-12-01 the seed put
every message that would have come after `now` on the last day: 127,075 of the 30 days' 208,097
check-ins). Tickets for 1 in 10, events for check-ins and the locator.
Timed: GET /admin/report for the default 30 days and for 180 days, and one CSV. The history is
written directly, not through the runtime, so the check-ins answered are recounted after seeding
(db/checkins.recount_answered, what migration 0012 runs a copy of as its backfill; it rebuilds the
check-in summary too), and that is timed too.
The report never loads messages, people or events as rows: SQL counts them per release day and
zone, per day and per kind (web/admin/report.load_release, load_checkin_days, load_tally,
load_events). `--keep DIR` keeps the seed for the next run (same data before and after a change).
Results: docs/benchmarks.md.
"""
from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, func, insert, select, text  # noqa: E402
from werkzeug.security import generate_password_hash  # noqa: E402

from app import create_app  # noqa: E402
from db.checkins import recount_answered  # noqa: E402
from db.migrate import upgrade  # noqa: E402
from db.models import Escalation, Event, Message, Participant, User  # noqa: E402

NOW = datetime(2026, 6, 30, 16, tzinfo=timezone.utc)
PASSWORD = "bench-password-only"
SEEDED = "bench_seeded"      # an event no report counts: the kept seed is whole


FOLLOW = timedelta(days=90)


def seed(db, people: int, messages: int) -> None:
    rnd = random.Random(18)
    with db.session() as s:
        peers = []
        for i in range(10):
            u = User(email=f"peer{i}@bench.example", name=f"Peer {i}", role="peer", password_hash="!")
            s.add(u)
            s.flush()
            peers.append(u.id)
        s.add(User(email="sup@bench.example", name="Sup", role="supervisor",
                   password_hash=generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")))
        s.flush()
        releases = {}
        rows = []
        for i in range(1, people + 1):
            release = (NOW - timedelta(days=rnd.randrange(0, 180))).date()
            releases[i] = datetime(release.year, release.month, release.day, 4, tzinfo=timezone.utc)
            rows.append({"id": i, "first_name": f"P{i}", "status": "active", "fields": {}, "language": "en",
                         "timezone": "America/New_York", "discreet": True, "release_date": release,
                         "consent_at": releases[i], "created_at": releases[i], "assigned_peer_id": peers[i % 10]})
        s.execute(insert(Participant), rows)
        # each message goes to a person in proportion to the time they have been followed so far
        spans = {i: min(FOLLOW, NOW - releases[i]) for i in releases}
        owners = rnd.choices(list(spans), weights=[spans[i].total_seconds() for i in spans], k=messages)
        mid, batch, sent = 0, [], dict.fromkeys(spans, 0)
        for i in owners:
            at = releases[i] + timedelta(seconds=rnd.uniform(0, spans[i].total_seconds()))
            mid += 1
            out = sent[i] % 2 == 0
            sent[i] += 1
            batch.append({"id": mid, "participant_id": i, "direction": "out" if out else "in", "channel": "sms",
                          "kind": "nudge" if out else "person", "body": "(bench)", "num_media": 0,
                          "status": "sent" if out else "processed", "created_at": at, "updated_at": at})
            if len(batch) >= 50_000:
                s.execute(insert(Message), batch)
                batch = []
        if batch:
            s.execute(insert(Message), batch)
        events, tickets = [], []
        for i in range(1, people + 1):
            at = releases[i] + timedelta(seconds=rnd.uniform(0, min(timedelta(days=30), spans[i]).total_seconds()))
            events.append({"participant_id": i, "name": "checkin", "data": {"mood": 3}, "created_at": at})
            events.append({"participant_id": i, "name": "locator", "created_at": at,
                           "data": {"need": "naloxone", "status": "found", "sites": rnd.choice((0, 3))}})
            if i % 10 == 0:
                created = min(at, NOW - timedelta(hours=3))
                tickets.append({"participant_id": i, "reason": "struggling", "priority": "high", "priority_rank": 1,
                                "status": "resolved", "note": "", "created_at": created,
                                "sla_due_at": created + timedelta(minutes=30), "reopened_count": 0,
                                "first_response_at": created + timedelta(minutes=rnd.randrange(1, 90)),
                                "resolved_at": created + timedelta(hours=2), "outcome": "reached",
                                "assignee_id": peers[i % 10]})
        s.execute(insert(Event), events)
        s.execute(insert(Escalation), tickets)
    if not db.is_sqlite:
        with db.engine.begin() as conn:
            for table in ("participants", "messages"):
                conn.exec_driver_sql(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                     f"{people if table == 'participants' else mid})")


def settle(db) -> None:
    """What autovacuum does on a live PostgreSQL: statistics, and the visibility map without
    which an index-only scan still reads every row it finds (freshly loaded tables have none)."""
    if not db.is_sqlite:
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")


def timed(fn, runs: int) -> tuple[float, float, float]:
    """Median and worst wall time, and the median CPU time of this process (the web app's; on
    PostgreSQL the server's own CPU is not in it): on a shared machine the CPU is the steadier."""
    fn()
    samples, cpu = [], []
    for _ in range(runs):
        start, start_cpu = time.perf_counter(), time.process_time()
        fn()
        samples.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return statistics.median(samples), max(samples), statistics.median(cpu)


def seeded(db) -> bool:
    """Whether a kept database holds a finished seed (the supervisor is added first, the marker
    last)."""
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(Event).where(Event.name == SEEDED)) > 0


def bench(url: str, label: str, people: int, messages: int, runs: int, only_seed: bool = False) -> None:
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench", "TWILIO_ACCOUNT_SID": "",
                      "TWILIO_AUTH_TOKEN": "", "WTF_CSRF_ENABLED": False, "LOG_LEVEL": "WARNING"})
    app.extensions["homeward.clock"] = lambda: NOW
    db = app.extensions["homeward.db"]
    upgrade(db.engine)
    if seeded(db):
        print(f"\n{label}: the kept seed ({url.rsplit('/', 1)[-1]})")
    else:
        t0 = time.perf_counter()
        seed(db, people, messages)
        print(f"\n{label}: {people:,} people, {messages:,} messages seeded in {time.perf_counter() - t0:.0f} s")
        t0 = time.perf_counter()
        with db.engine.begin() as conn:
            recount_answered(conn)
        print(f"  check-ins answered recounted (the migration's backfill) in {time.perf_counter() - t0:.0f} s")
        settle(db)
        with db.session() as s:
            s.add(Event(name=SEEDED, data={"people": people, "messages": messages}, created_at=NOW))
    if only_seed:
        db.engine.dispose()
        return
    client = app.test_client()
    assert client.post("/login", data={"email": "sup@bench.example", "password": PASSWORD}).status_code == 302
    for name, path in (("GET /admin/report (30 days)", "/admin/report"),
                       ("GET /admin/report (180 days)", "/admin/report?start=2026-01-02&end=2026-06-30"),
                       ("GET /admin/report/reach.csv (30 days)", "/admin/report/reach.csv")):
        def get():
            resp = client.get(path)
            assert resp.status_code == 200
        median, worst, cpu = timed(get, runs)
        verdict = "ok" if median < 1 else "OVER BUDGET"
        print(f"  {name:<40} median {median * 1000:7.0f} ms  worst {worst * 1000:7.0f} ms  "
              f"CPU {cpu * 1000:6.0f} ms  {verdict}  (load {os.getloadavg()[0]:.1f})")
    db.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--people", type=int, default=10_000)
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--skip-pg", action="store_true")
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument("--keep", metavar="DIR",
                        help="keep the seed: SQLite in DIR/report-PEOPLE-MESSAGES.db, PostgreSQL in the database "
                             "bench_report_PEOPLE_MESSAGES; a later run with --keep reuses them (the report only "
                             "reads), so the code before and after can be timed on one seed")
    parser.add_argument("--seed-only", action="store_true", help="with --keep: seed (if not kept yet), time nothing")
    args = parser.parse_args()
    name = f"report-{args.people}-{args.messages}"
    if not args.skip_sqlite:
        if args.keep:
            Path(args.keep).mkdir(parents=True, exist_ok=True)
            bench(f"sqlite:///{Path(args.keep).resolve() / name}.db", "SQLite", args.people, args.messages,
                  args.runs, args.seed_only)
        else:
            with tempfile.TemporaryDirectory() as tmp:
                bench(f"sqlite:///{tmp}/bench.db", "SQLite", args.people, args.messages, args.runs)
    if not args.skip_pg:
        from sqlalchemy.engine import make_url

        from tests import dbs
        if args.keep:
            server = make_url(dbs.PG_SERVER)
            kept = name.replace("-", "_").replace("report", "bench_report")
            admin = create_engine(server, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                if not conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": kept}):
                    conn.execute(text(f'CREATE DATABASE "{kept}"'))
            admin.dispose()
            bench(server.set(database=kept).render_as_string(hide_password=False), "PostgreSQL", args.people,
                  args.messages, args.runs, args.seed_only)
        else:
            url = dbs.create_pg_database()
            try:
                bench(url, "PostgreSQL", args.people, args.messages, args.runs)
            finally:
                dbs.drop_pg_database(url)


if __name__ == "__main__":
    main()
