"""Inbound webhook throughput and latency: the real app against a bare Flask app, same gunicorn.

    .venv/bin/python bench/webhook.py [--seconds 5] [--levels 1 8 32] [--workers 2 --threads 8]
                                      [--skip-pg] [--skip-sqlite]

Both servers run under gunicorn with the same workers and threads (the Procfile's: 2 workers,
8 threads, gthread). The bare app answers POST /twilio/sms with a constant TwiML reply and does
nothing else. The real app (`app:create_app()`, INFO logging as in production) gets signed
inbound messages and does the whole path: signature check, dedupe on MessageSid, store, lock the
person, safety and keywords, the flow step, the reply stored and returned as TwiML. Messages
come from 500 people in turn (first contact, then answers), each with a fresh MessageSid.

Load: an asyncio HTTP/1.1 client on keep-alive connections (bench/loadgen.py), one connection per
unit of concurrency, for --seconds at each level after a warm-up; loopback only. Measured in the
same run, on SQLite and then PostgreSQL, and the ratio printed. Goals (issue 9), judged at
concurrency 32: the real app reaches at least half the bare app's throughput, and its p99 is
under 100 ms. Exit status 0 whatever the goals say (the numbers are the product); --strict
exits 1 when a goal fails.
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


def requests_for(port: int, tag: str, people: int = 500):
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
    from db.migrate import upgrade
    from db.session import make_engine
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()


def measure(server: Gunicorn, tag: str, levels, seconds: float) -> dict:
    source = requests_for(server.port, tag)
    drive("127.0.0.1", server.port, source, 8, duration=min(2.0, seconds))     # warm-up: caches, pools, flows
    out = {}
    for c in levels:
        run = drive("127.0.0.1", server.port, source, c, duration=seconds, max_requests=200_000)
        bad = {k: v for k, v in run.statuses().items() if k != 200}
        out[c] = run
        print(f"    c={c:<3} {run.throughput:8.0f} req/s  p50 {ms(run.p50):>6} ms  p99 {ms(run.p99):>7} ms"
              f"  n={len(run.results)}" + (f"  NON-200: {bad} {run.errors[:2]}" if bad else ""), file=sys.stderr)
    return out


def bench_db(label: str, url: str, args, tmp: Path) -> tuple[dict, dict]:
    prepare(url)
    common = dict(workers=args.workers, threads=args.threads)
    print(f"  {label}: bare Flask", file=sys.stderr)
    bare = Gunicorn("bench.webhook:bare_app()", {}, log=tmp / f"bare-{label}.log", **common)
    try:
        bare_runs = measure(bare, "B", args.levels, args.seconds)
    finally:
        bare.stop()
    print(f"  {label}: Homeward", file=sys.stderr)
    real = Gunicorn("app:create_app()", real_env(url), log=tmp / f"real-{label}.log", **common)
    try:
        real_runs = measure(real, "R" + label[0], args.levels, args.seconds)
    finally:
        real.stop()
    return bare_runs, real_runs


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=5.0, help="per concurrency level (bounded)")
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

    print(f"\nWebhook benchmark: gunicorn --workers {args.workers} --threads {args.threads} for both apps, "
          f"{args.seconds:g} s per level, {os.cpu_count()} cores (load generator on the same machine)\n")
    print("| database | concurrency | bare req/s | bare p50 / p99 ms | Homeward req/s | Homeward p50 / p99 ms "
          "| throughput ratio | errors |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    failed = False
    verdicts = []
    for label, bare, real in results:
        for c in args.levels:
            b, r = bare[c], real[c]
            errors = sum(v for k, v in r.statuses().items() if k != 200) + \
                sum(v for k, v in b.statuses().items() if k != 200)
            print(f"| {label} | {c} | {b.throughput:,.0f} | {ms(b.p50)} / {ms(b.p99)} | {r.throughput:,.0f} "
                  f"| {ms(r.p50)} / {ms(r.p99)} | {r.throughput / b.throughput:.2f}× | {errors} |")
        ratio, p99 = real[top].throughput / bare[top].throughput, real[top].p99
        errors = sum(v for run in real.values() for k, v in run.statuses().items() if k != 200)
        for goal, ok in ((f"throughput at {top} >= 0.5x bare (got {ratio:.2f}x)", ratio >= 0.5),
                         (f"p99 at {top} < 100 ms (got {ms(p99)} ms)", p99 < 0.100),
                         (f"every request answered 200 (non-200: {errors})", errors == 0)):
            verdicts.append(f"{'PASS' if ok else 'FAIL'}  {label}: {goal}")
            failed |= not ok
    print()
    print("\n".join(verdicts))
    return 1 if failed and args.strict else 0


if __name__ == "__main__":
    sys.exit(main())
