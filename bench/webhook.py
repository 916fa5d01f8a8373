"""Inbound webhook throughput and latency: the real app against a bare Flask app, same gunicorn.

    .venv/bin/python bench/webhook.py [--seconds 4] [--levels 1 8 32] [--workers 2 --threads 8]
                                      [--skip-pg] [--skip-sqlite]

Both servers run under gunicorn with the same workers and threads (the Procfile's: 2 workers,
8 threads, gthread). The bare app answers POST /twilio/sms with a constant TwiML reply and does
nothing else. The real app (`app:create_app()`, INFO logging as in production) gets signed
inbound messages and does the whole path: signature check, dedupe on MessageSid, store, lock the
person, safety and keywords, the flow step, the reply stored and returned as TwiML. Messages
come from 500 people in turn, each with a fresh MessageSid; every person's first text (a new
person, the welcome) is sent in the warm-up, so the levels measure answers to people who have
texted before.

A third app, the persist-only floor, is measured too because the bare app does no I/O at all:
it verifies the signature and stores the message with one INSERT ... ON CONFLICT DO NOTHING in
one transaction (the least a persist-first webhook can do), so "Homeward / floor" says what the
conversation itself costs (the person, the lock, safety, the flow, the stored reply) on top of
the irreducible minimum.

Load: an asyncio HTTP/1.1 client on keep-alive connections (bench/loadgen.py), one connection per
unit of concurrency, for --seconds at each level after a warm-up; loopback only. Measured in the
same run, on SQLite and then PostgreSQL, and the ratio printed. Each server is loaded only
once all its workers have built the app (bench/gunicorn_ready.py): the port opens seconds before.

Goals (issue 20), each printed PASS or FAIL, on both databases: at the highest concurrency
(32), Homeward's throughput at least 0.5x the floor's, its p99 at most 2.5x the floor's, and
no errors; at concurrency 1, its p50 at most 3x the floor's. And the understanding step (the
safety classifier and the understanding model, as `decide` runs them) under 1 ms a text, timed
in this process on the benchmark's texts. Exit status 0 whatever the goals say (the numbers are
the product); --strict exits 1 when a goal fails.
"""
from __future__ import annotations

import argparse
import itertools
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.loadgen import AUTH_TOKEN, PUBLIC_BASE_URL, Gunicorn, drive, ms, signed_sms  # noqa: E402

TWIML = ('<?xml version="1.0" encoding="UTF-8"?><Response><Message>Thanks, we got your message.'
         '</Message></Response>')
BODIES = ("hi", "yes", "3", "I'm ok today", "HELP", "4", "where can I get narcan", "thanks", "no", "5",
          "can my peer call me", "2")


def bare_app():
    """gunicorn 'bench.webhook:bare_app()': the floor, a constant TwiML answer."""
    from flask import Flask, Response
    app = Flask("bare")

    @app.post("/twilio/sms")
    def sms():
        return Response(TWIML, 200, mimetype="text/xml")
    return app


FLOOR_TABLE = "bench_inbound_floor"


def floor_app():
    """gunicorn 'bench.webhook:floor_app()': the least a persist-first webhook must do. Verify the
    signature, then store the message with the one statement that is also the redelivery check
    (INSERT ... ON CONFLICT (sid) DO NOTHING, built once, as Homeward's store does; same engine,
    pool and driver settings), commit, answer the constant TwiML. No person, no conversation,
    no flow."""
    from flask import Flask, Response, request
    from sqlalchemy import Column, MetaData, String, Table, Text
    from twilio.request_validator import RequestValidator

    from db.queries import insert_unless_exists
    from db.session import make_engine
    engine = make_engine(os.environ["DATABASE_URL"])
    table = Table(FLOOR_TABLE, MetaData(), Column("sid", String(64), primary_key=True),
                  Column("sender", String(40)), Column("body", Text))
    store = insert_unless_exists(engine.dialect.name, table, "sid", table.c.sid)
    validator = RequestValidator(os.environ["TWILIO_AUTH_TOKEN"])
    app = Flask("floor")

    @app.post("/twilio/sms")
    def sms():
        form = request.form
        if not validator.validate(PUBLIC_BASE_URL + request.path, form, request.headers.get("X-Twilio-Signature", "")):
            return Response("bad signature", 403)
        with engine.begin() as conn:
            conn.execute(store, {"sid": form["MessageSid"], "sender": form["From"], "body": form["Body"]})
        return Response(TWIML, 200, mimetype="text/xml")
    return app


PEOPLE = 500


def requests_for(port: int, tag: str, people: int = PEOPLE):
    """Endless signed inbound messages: person i, their n-th text, a new MessageSid each."""
    host = f"127.0.0.1:{port}"
    for n in itertools.count():
        person, turn = n % people, n // people
        sid = f"SM{tag}{n:030d}"[:34]
        yield signed_sms(sid, f"+1773{person:07d}", BODIES[(turn + person) % len(BODIES)], host)


def real_env(url: str) -> dict:
    return {"DATABASE_URL": url, "TWILIO_AUTH_TOKEN": AUTH_TOKEN, "PUBLIC_BASE_URL": PUBLIC_BASE_URL,
            "TWILIO_ACCOUNT_SID": "", "SECRET_KEY": "bench", "LOG_LEVEL": "INFO", "PROXY_HOPS": "0"}


def prepare(url: str) -> None:
    from sqlalchemy import text

    from db.migrate import upgrade
    from db.session import make_engine
    engine = make_engine(url)
    upgrade(engine)
    with engine.begin() as conn:
        conn.execute(text(f"CREATE TABLE IF NOT EXISTS {FLOOR_TABLE} "
                          "(sid VARCHAR(64) PRIMARY KEY, sender VARCHAR(40), body TEXT)"))
    engine.dispose()


def measure(server: Gunicorn, tag: str, levels, seconds: float) -> dict:
    source = requests_for(server.port, tag)
    # Warm-up: every person's first text (a new person and the welcome: once in a person's life),
    # then caches, pools and flows; what is measured is answering people who have texted before.
    drive("127.0.0.1", server.port, source, 8, duration=120, max_requests=PEOPLE)
    drive("127.0.0.1", server.port, source, 8, duration=min(2.0, seconds))
    out = {}
    for c in levels:
        run = drive("127.0.0.1", server.port, source, c, duration=seconds, max_requests=200_000)
        bad = {k: v for k, v in run.statuses().items() if k != 200}
        out[c] = run
        print(f"    c={c:<3} {run.throughput:8.0f} req/s  p50 {ms(run.p50):>6} ms  p99 {ms(run.p99):>7} ms"
              f"  n={len(run.results)}" + (f"  NON-200: {bad} {run.errors[:2]}" if bad else ""), file=sys.stderr)
    return out


def bench_db(label: str, url: str, args, tmp: Path) -> tuple[dict, dict, dict]:
    prepare(url)
    common = dict(workers=args.workers, threads=args.threads)
    out = []
    for name, spec, env, tag in (("bare Flask", "bench.webhook:bare_app()", {}, "B"),
                                 ("persist-only floor", "bench.webhook:floor_app()", real_env(url), "F" + label[0]),
                                 ("Homeward", "app:create_app()", real_env(url), "R" + label[0])):
        print(f"  {label}: {name}", file=sys.stderr)
        server = Gunicorn(spec, env, log=tmp / f"{tag}-{label}.log", **common)
        try:
            out.append(measure(server, tag, args.levels, args.seconds))
        finally:
            server.stop()
    return tuple(out)


def understanding_cost() -> float:
    """CPU ms of the understanding step for the slowest of BODIES: safety.classify and
    understand.understand, as core.conversation.decide calls them (built once, as create_app does)."""
    from core import safety, understand
    model = understand.default_model()
    safety.warm()
    worst = 0.0
    for body in BODIES:
        for _ in range(20):
            safety.classify(body), understand.understand(body, model)
        t0 = time.thread_time()
        for _ in range(200):
            safety.classify(body), understand.understand(body, model)
        worst = max(worst, (time.thread_time() - t0) / 200 * 1000)
    return worst


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=4.0, help="per concurrency level (bounded)")
    ap.add_argument("--levels", type=int, nargs="+", default=[1, 8, 32])
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--threads", type=int, default=8)
    ap.add_argument("--skip-pg", action="store_true")
    ap.add_argument("--skip-sqlite", action="store_true")
    ap.add_argument("--strict", action="store_true", help="exit 1 when a goal fails")
    args = ap.parse_args()
    top = max(args.levels)
    results = []
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        if not args.skip_sqlite:
            results.append(("SQLite", *bench_db("SQLite", f"sqlite:///{tmp}/bench.db", args, tmp)))
        if not args.skip_pg:
            from tests import dbs
            url = dbs.create_pg_database()
            try:
                results.append(("PostgreSQL", *bench_db("PostgreSQL", url, args, tmp)))
            finally:
                dbs.drop_pg_database(url)

    print(f"\nWebhook benchmark ({time.strftime('%Y-%m-%d %H:%M', time.gmtime())} UTC, load average "
          f"{' / '.join(f'{x:.2f}' for x in os.getloadavg())} at the end): gunicorn --workers {args.workers} --threads {args.threads} for both apps, "
          f"{args.seconds:g} s per level, {os.cpu_count()} cores (load generator on the same machine)\n")
    print("| database | concurrency | bare req/s | bare p50 / p99 ms | floor req/s | floor p50 / p99 ms "
          "| Homeward req/s | Homeward p50 / p99 ms | Homeward / bare | Homeward / floor | errors |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    failed = False
    verdicts = []
    for label, bare, floor, real in results:
        for c in args.levels:
            b, f, r = bare[c], floor[c], real[c]
            errors = sum(v for run in (b, f, r) for k, v in run.statuses().items() if k != 200)
            print(f"| {label} | {c} | {b.throughput:,.0f} | {ms(b.p50)} / {ms(b.p99)} "
                  f"| {f.throughput:,.0f} | {ms(f.p50)} / {ms(f.p99)} | {r.throughput:,.0f} "
                  f"| {ms(r.p50)} / {ms(r.p99)} | {r.throughput / b.throughput:.2f}× "
                  f"| {r.throughput / f.throughput:.2f}× | {errors} |")
        ratio = real[top].throughput / floor[top].throughput
        p99 = real[top].p99 / floor[top].p99
        errors = sum(v for run in real.values() for k, v in run.statuses().items() if k != 200)
        goals = [(f"throughput at {top} >= 0.5x the floor's (got {ratio:.2f}x)", ratio >= 0.5),
                 (f"p99 at {top} <= 2.5x the floor's (got {ms(real[top].p99)} / {ms(floor[top].p99)} ms "
                  f"= {p99:.1f}x)", p99 <= 2.5),
                 (f"no errors (non-200 or failed connections: {errors})", errors == 0)]
        if 1 in real:
            p50 = real[1].p50 / floor[1].p50
            goals.append((f"p50 at 1 <= 3x the floor's (got {ms(real[1].p50)} / {ms(floor[1].p50)} ms "
                          f"= {p50:.1f}x)", p50 <= 3))
        for goal, ok in goals:
            verdicts.append(f"{'PASS' if ok else 'FAIL'}  {label}: {goal}")
            failed |= not ok
    cost = understanding_cost()
    verdicts.append(f"{'PASS' if cost < 1.0 else 'FAIL'}  the understanding step < 1 ms a text "
                    f"(got {cost:.3f} ms CPU, the slowest of the benchmark's texts, mean of 200)")
    failed |= cost >= 1.0
    print()
    print("\n".join(verdicts))
    return 1 if failed and args.strict else 0


if __name__ == "__main__":
    sys.exit(main())
