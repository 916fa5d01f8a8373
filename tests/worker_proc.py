"""A real worker process for the multi-process tests, the dispatch benchmark and the soak.

    python -m tests.worker_proc [--ledger FILE] [--rate R] [--twilio-timeout S] [--wait-go]
                                [--deadline S]

Configuration comes from the environment exactly as for `flask --app app worker`
(DATABASE_URL, WORKER_LEASE_SECONDS, RETRY_BASE_SECONDS, TWILIO_*, ...). The app is built by
create_app() and the dispatcher by cli.worker.build_dispatcher(), the code the real worker runs;
what differs from `flask --app app worker` is only the loop around it: drain, and when nothing
is claimable, poll (as the worker's APScheduler tick would) until no row is pending or claimed,
then exit 0 (exit 3 if --deadline passes first).

--ledger FILE: every send the sender accepted is appended to FILE as "<address>\\n" with one
write(2) on an O_APPEND descriptor, before the dispatcher records it. So the ledger is what the
"provider" saw: a worker killed between the send and the commit leaves a line whose row will be
sent again, exactly the duplicate the delivery guarantee allows.

--wait-go: print "ready" once the app is built and wait for a line on stdin before working, so a
benchmark times dispatching, not interpreter start-up.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


class LedgerSender:
    """Wraps a sender; appends each accepted send's address to a file, atomically per line."""

    def __init__(self, inner, path: str):
        self.inner, self.name = inner, inner.name
        self.fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    def send(self, to_address: str, body: str):
        result = self.inner.send(to_address, body)
        os.write(self.fd, f"{to_address}\n".encode())
        return result


def open_rows(db) -> int:
    from sqlalchemy import func, select

    from db.models import ScheduledMessage
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(ScheduledMessage)
                        .where(ScheduledMessage.state.in_(("pending", "claimed")))) or 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ledger")
    ap.add_argument("--rate", type=float, default=100_000.0, help="sender messages per second")
    ap.add_argument("--twilio-timeout", type=float, default=None,
                    help="build the twilio sender with this HTTP time-out (seconds)")
    ap.add_argument("--wait-go", action="store_true")
    ap.add_argument("--deadline", type=float, default=300.0, help="give up after this many seconds")
    ap.add_argument("--poll", type=float, default=0.05, help="seconds between passes when idle")
    args = ap.parse_args()

    from app import create_app
    from bot.channels.sender import TwilioSender
    from cli.worker import build_dispatcher
    from scheduler.worker import drain

    app = create_app({"SENDER_RATE_PER_SECOND": args.rate, "LOG_LEVEL": os.environ.get("LOG_LEVEL", "WARNING")})
    dispatcher = build_dispatcher(app)
    cfg = app.config
    if args.twilio_timeout is not None and isinstance(dispatcher.sender, TwilioSender):
        dispatcher.sender = TwilioSender(
            cfg["TWILIO_ACCOUNT_SID"], cfg["TWILIO_AUTH_TOKEN"], cfg["TWILIO_MESSAGING_SERVICE_SID"],
            cfg["TWILIO_FROM_NUMBER"], status_callback=cfg["PUBLIC_BASE_URL"] + "/twilio/status",
            api_base_url=cfg["TWILIO_API_BASE_URL"], timeout=args.twilio_timeout)
    if args.ledger:
        dispatcher.sender = LedgerSender(dispatcher.sender, args.ledger)
    db = app.extensions["homeward.db"]
    if args.wait_go:
        print("ready", flush=True)
        sys.stdin.readline()

    deadline = time.monotonic() + args.deadline
    sent = 0
    while time.monotonic() < deadline:
        sent += drain(dispatcher).sent
        if open_rows(db) == 0:
            print(f"done: sent {sent}", flush=True)
            return 0
        time.sleep(args.poll)   # nothing claimable right now (leased elsewhere, backing off): next tick
    print(f"deadline: sent {sent}, {open_rows(db)} rows still open", flush=True)
    return 3


if __name__ == "__main__":
    sys.exit(main())
