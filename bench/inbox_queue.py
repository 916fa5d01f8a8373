"""How fast the peer inbox's queue renders with 10,000 open tickets, on SQLite and PostgreSQL.

    .venv/bin/python bench/inbox_queue.py [--open 10000] [--runs 30] [--skip-pg]

Baseline, measured in the same run on the same data: the bare query for the same 50 rows
(ORDER BY priority, SLA; LIMIT 50), no joins, no template. The ratio says what the page costs on
top of reading its rows: login check, counts, joins for names and numbers, the template. The
unpaginated line shows what pagination saves (rendering every open ticket, done once).
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert, select  # noqa: E402
from werkzeug.security import generate_password_hash  # noqa: E402

from app import create_app  # noqa: E402
from db.migrate import upgrade  # noqa: E402
from db.models import Contact, Escalation, Message, Participant, User  # noqa: E402
from web import queries  # noqa: E402

PASSWORD = "bench-password-only"
PRIORITIES = (("urgent", 0, 5), ("high", 1, 30), ("normal", 2, 240))


def seed(db, n: int) -> None:
    now = datetime.now(timezone.utc)
    with db.session() as s:
        peers = []
        for i in range(20):
            user = User(email=f"peer{i}@bench.example", name=f"Peer {i}", role="peer",
                        password_hash=generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000"))
            s.add(user)
            s.flush()
            peers.append(user.id)
        s.execute(insert(Participant), [{"id": i, "first_name": f"P{i}", "status": "active", "fields": {},
                                         "language": "en", "timezone": "America/New_York", "discreet": True,
                                         "created_at": now} for i in range(1, n + 1)])
        s.execute(insert(Contact), [{"id": i, "participant_id": i, "channel": "sms",
                                     "address": f"sms:+1312{i:07d}", "created_at": now} for i in range(1, n + 1)])
        s.execute(insert(Message), [{"id": i, "participant_id": i, "contact_id": i, "direction": "in",
                                     "channel": "sms", "kind": "person", "body": "help", "status": "processed",
                                     "num_media": 0, "created_at": now - timedelta(minutes=i % 600),
                                     "updated_at": now} for i in range(1, n + 1)])
        rows = []
        for i in range(1, n + 1):
            priority, rank, sla = PRIORITIES[i % 3]
            created = now - timedelta(minutes=i % 600)
            rows.append({"participant_id": i, "reason": "bench", "priority": priority, "priority_rank": rank,
                         "status": "open", "note": "", "message_id": i, "created_at": created,
                         "sla_due_at": created + timedelta(minutes=sla), "reopened_count": 0,
                         "assignee_id": peers[i % 25] if i % 25 < 20 else None})
        s.execute(insert(Escalation), rows)
    if not db.is_sqlite:  # the ids were given explicitly: move the sequences past them
        with db.engine.begin() as conn:
            for table in ("participants", "contacts", "messages"):
                conn.exec_driver_sql(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), {n})")
            conn.exec_driver_sql("ANALYZE")


def timed(fn, runs: int) -> float:
    fn()  # warm: caches, compiled templates, connection pool
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def bench(url: str, label: str, n: int, runs: int) -> None:
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench", "TWILIO_ACCOUNT_SID": "",
                      "TWILIO_AUTH_TOKEN": "", "WTF_CSRF_ENABLED": False, "LOG_LEVEL": "WARNING"})
    db = app.extensions["homeward.db"]
    upgrade(db.engine)
    t0 = time.perf_counter()
    seed(db, n)
    print(f"\n{label}: {n:,} open tickets seeded in {time.perf_counter() - t0:.1f} s")
    client = app.test_client()
    assert client.post("/login", data={"email": "peer0@bench.example", "password": PASSWORD}).status_code == 302

    def bare():
        with db.session() as s:
            rows = s.execute(select(Escalation.id, Escalation.participant_id, Escalation.reason,
                                    Escalation.priority, Escalation.sla_due_at, Escalation.assignee_id)
                             .where(Escalation.status == "open")
                             .order_by(Escalation.priority_rank, Escalation.sla_due_at, Escalation.id)
                             .limit(queries.PER_PAGE)).all()
        assert len(rows) == queries.PER_PAGE

    def page(url_):
        def get():
            resp = client.get(url_)
            assert resp.status_code == 200 and resp.data.count(b'class="ticket ') == queries.PER_PAGE
        return get

    base = timed(bare, runs)
    print(f"  {'baseline: bare query, 50 rows':<44} {base * 1000:8.2f} ms")
    last = -(-n // queries.PER_PAGE)
    for name, url_ in (("GET /inbox (page 1)", "/inbox"), ("GET /inbox/rows (the poll)", "/inbox/rows"),
                       ("GET /inbox?view=mine", "/inbox?view=mine"),
                       (f"GET /inbox?page={last - 1} (deep page)", f"/inbox?page={last - 1}")):
        t = timed(page(url_), runs)
        print(f"  {name:<44} {t * 1000:8.2f} ms   x{t / base:6.1f} baseline")
    with app.test_request_context():
        start = time.perf_counter()
        with db.session() as s:
            every = queries.queue_page(s, "all", 1, 1, per_page=n)
        html = app.jinja_env.get_template("_queue_rows.html").render(
            rows=every, counts={"all": n, "mine": 0, "unassigned": 0}, view="all", page=1, pages=1,
            now=datetime.now(timezone.utc), sla_text=__import__("web.present").present.sla_text,
            current_user=type("U", (), {"id": 1})(), csrf_token=lambda: "x")
        t = time.perf_counter() - start
    print(f"  {'unpaginated: all rows, once (avoided)':<44} {t * 1000:8.2f} ms   x{t / base:6.1f} baseline"
          f"  ({len(html) // 1024:,} KiB)")
    db.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--open", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--skip-pg", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        bench(f"sqlite:///{tmp}/bench.db", "SQLite", args.open, args.runs)
    if not args.skip_pg:
        from tests import dbs
        url = dbs.create_pg_database()
        try:
            bench(url, "PostgreSQL", args.open, args.runs)
        finally:
            dbs.drop_pg_database(url)


if __name__ == "__main__":
    main()
