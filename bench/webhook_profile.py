"""Where one inbound text's time goes: the app's WSGI callable driven in-process, under cProfile.

    .venv/bin/python bench/webhook_profile.py [--db sqlite|postgresql] [-n 600] [--top 30]

The same signed requests as bench/webhook.py (500 people; first contact, then answers), built
before the clock starts, handed straight to `app.wsgi_app` on one thread: no HTTP server, no
load generator, no queueing, so the figures are the app's own CPU and its database round trips
per message. Prints ms per message, statements per message (counted at the cursor), the share
of named stages, and the top functions by own time. Loopback PostgreSQL only (tests/dbs.py).
"""
from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.loadgen import AUTH_TOKEN, PUBLIC_BASE_URL  # noqa: E402
from bench.webhook import BODIES, prepare, real_env  # noqa: E402

# (label, file suffix, function name): cumulative time of these, as a share of the whole.
STAGES = (
    ("the whole request (Flask's WSGI app)", "flask/app.py", "wsgi_app"),
    ("the view (runtime.handle and the rest)", "bot/channels/twilio_webhook.py", "inbound"),
    ("signature check", "bot/channels/twilio_webhook.py", "verify_signature"),
    ("store (touch, insert, mark answered)", "bot/runtime.py", "store"),
    ("process (lock .. apply, commit)", "bot/runtime.py", "process"),
    ("  open and commit (Database.work)", "db/session.py", "work"),
    ("  ticket check", "bot/tickets.py", "reopen_on_inbound"),
    ("  services", "bot/runtime.py", "services_for"),
    ("  flows", "bot/runtime.py", "flows_for"),
    ("  decide (core)", "core/conversation.py", "decide"),
    ("    safety", "core/safety.py", "classify"),
    ("  apply effects + save", "bot/runtime.py", "apply"),
    ("commit", "sqlalchemy/orm/session.py", "commit"),
    ("pool checkout", "sqlalchemy/pool/base.py", "_checkout"),
    ("  liveness ping", "sqlalchemy/engine/default.py", "do_ping"),
    ("TwiML", "bot/channels/twilio_webhook.py", "_twiml"),
    ("log lines", "logs.py", "event"),
    ("form parsing", "werkzeug/wrappers/request.py", "_load_form_data"),
)


def environ(sid: str, from_: str, body: str) -> dict:
    from twilio.request_validator import RequestValidator
    from werkzeug.test import EnvironBuilder
    params = {"MessageSid": sid, "SmsSid": sid, "AccountSid": "AC" + "0" * 32, "From": from_,
              "To": "+15005550006", "Body": body, "NumMedia": "0", "NumSegments": "1",
              "ApiVersion": "2010-04-01"}
    signature = RequestValidator(AUTH_TOKEN).compute_signature(PUBLIC_BASE_URL + "/twilio/sms", params)
    return EnvironBuilder(path="/twilio/sms", method="POST", data=urlencode(params),
                          content_type="application/x-www-form-urlencoded",
                          headers={"X-Twilio-Signature": signature}).get_environ()


def requests(start: int, n: int, people: int = 500):
    for i in range(start, start + n):
        person, turn = i % people, i // people
        yield environ(f"SMP{i:031d}"[:34], f"+1773{person:07d}", BODIES[(turn + person) % len(BODIES)])


def call(app, env) -> int:
    out = []
    body = app.wsgi_app(env, lambda status, headers, exc=None: out.append(status))
    b"".join(body)
    if hasattr(body, "close"):
        body.close()
    return int(out[0].split()[0])


def timed(app, todo) -> tuple[float, float]:
    """(wall ms, CPU ms of this process) per message; the best of three rounds."""
    best = (float("inf"), float("inf"))
    per = len(todo) // 3
    for r in range(3):
        chunk = todo[r * per:(r + 1) * per]
        w, c = time.perf_counter(), time.process_time()
        for env in chunk:
            assert call(app, env) == 200
        best = min(best, ((time.perf_counter() - w) / per * 1000, (time.process_time() - c) / per * 1000))
    return best


def plain(app, todo, url) -> int:
    from bench.webhook import floor_app
    import copy
    floor = floor_app()
    floor_todo = [copy.copy(env) for env in requests(100_000, len(todo))]
    for env in list(requests(200_000, 200)):
        call(floor, env)
    fw, fc = timed(floor, floor_todo)
    from core import conversation
    decide, spent = conversation.decide, [0.0, 0]

    def timed_decide(*args, **kw):     # the core's step, the lead's: its own CPU, measured apart
        c = time.process_time()
        try:
            return decide(*args, **kw)
        finally:
            spent[0] += time.process_time() - c
            spent[1] += 1
    conversation.decide = timed_decide
    hw, hc = timed(app, todo)
    conversation.decide = decide
    print(f"{url.split(':')[0]}: one thread, in-process, best of 3 x {len(todo) // 3}; "
          f"load average {os.getloadavg()[0]:.2f}")
    print(f"  floor     {fw:6.2f} ms wall  {fc:6.2f} ms CPU (this process) per message")
    print(f"  Homeward  {hw:6.2f} ms wall  {hc:6.2f} ms CPU  ({hw / fw:.1f}x / {hc / fc:.1f}x the floor)")
    print(f"  of which `decide` (core/conversation.py)  {spent[0] / max(spent[1], 1) * 1000:6.2f} ms CPU a text "
          f"(all three rounds)")
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", choices=("sqlite", "postgresql"), default="postgresql")
    ap.add_argument("-n", type=int, default=600, help="messages profiled, after 1,000 unprofiled")
    ap.add_argument("--top", type=int, default=30)
    ap.add_argument("--cpu", action="store_true",
                    help="profile with this process's CPU clock, not the wall clock: waits on the database, "
                         "the disk and the scheduler count nothing")
    ap.add_argument("--dump", help="also write the profile here (pstats), to read further")
    ap.add_argument("--plain", action="store_true",
                    help="no profiler: ms and CPU ms per message, Homeward against the floor app")
    args = ap.parse_args()
    tmp = tempfile.TemporaryDirectory()
    if args.db == "sqlite":
        url, drop = f"sqlite:///{tmp.name}/profile.db", None
    else:
        from tests import dbs
        url = dbs.create_pg_database()
        drop = lambda: dbs.drop_pg_database(url)  # noqa: E731
    try:
        prepare(url)
        os.environ.update(real_env(url))
        import logging

        from sqlalchemy import event

        from app import create_app
        app = create_app()
        logging.getLogger().handlers[0].stream = io.StringIO()   # INFO lines formatted, not shown
        warm = list(requests(0, 1000))
        for env in warm:                                          # first contacts, then answers
            assert call(app, env) == 200
        todo = list(requests(1000, args.n))
        if args.plain:
            return plain(app, todo, url)
        statements = [0]
        seen: dict[str, int] = {}
        engine = app.extensions["homeward.db"].engine

        def count(conn, cursor, sql, *rest):
            statements[0] += 1
            key = " ".join(sql.split())[:110]
            seen[key] = seen.get(key, 0) + 1
        event.listen(engine, "before_cursor_execute", count)
        from db import raw
        raw.on_execute = lambda sql: count(None, None, sql)     # the hot path's, straight to the driver
        prof = cProfile.Profile(time.process_time) if args.cpu else cProfile.Profile()
        t0 = time.perf_counter()
        prof.enable()
        for env in todo:
            assert call(app, env) == 200
        prof.disable()
        wall = time.perf_counter() - t0
        n = len(todo)
        stats = pstats.Stats(prof)
        if args.dump:
            stats.dump_stats(args.dump)
        total = sum(v[2] for v in stats.stats.values())   # own time of everything = profiled CPU
        print(f"{args.db}: {n} follow-up messages, {wall / n * 1000:.2f} ms each under cProfile "
              f"({'CPU' if args.cpu else 'wall'} clock: {total / n * 1000:.2f} ms profiled), "
              f"{statements[0] / n:.1f} statements each; load average {os.getloadavg()[0]:.2f}")
        print(f"{'stage':<40} {'ms/msg':>7} {'share':>6}")
        for label, suffix, name in STAGES:
            # the outermost of same-named functions (Session.commit calls SessionTransaction.commit)
            cum = max((v[3] for (f, _, fn), v in stats.stats.items() if fn == name and f.endswith(suffix)),
                      default=0.0)
            print(f"{label:<40} {cum / n * 1000:7.3f} {cum / total:6.1%}")
        print("\nstatements (per message):")
        for key, k in sorted(seen.items(), key=lambda kv: -kv[1]):
            print(f"  {k / n:5.2f}  {key}")
        buf = io.StringIO()
        pstats.Stats(prof, stream=buf).sort_stats("tottime").print_stats(args.top)
        print(buf.getvalue().split("\n", 6)[-1] if buf.getvalue() else "")
    finally:
        if drop:
            app.extensions["homeward.db"].engine.dispose()
            drop()
        tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
