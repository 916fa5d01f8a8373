"""Helpers shared by the multi-process worker tests, bench/dispatch.py and bench/soak.py:
seed many due outbox rows fast, start real worker processes, read their ledgers."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import func, insert, select, text

ROOT = Path(__file__).resolve().parent.parent


def midday_timezone(now: datetime) -> str:
    """A fixed-offset zone where `now` is early afternoon, so quiet hours never get in the way
    of a test or benchmark whatever the wall clock says ("Etc/GMT-3" is UTC+3)."""
    offset = (13 - now.astimezone(timezone.utc).hour + 12) % 24 - 12     # -12 .. +11 hours
    return "Etc/GMT" if offset == 0 else f"Etc/GMT{-offset:+d}"


def db_now(db) -> datetime:
    """Now on the database's clock (UTC): the worker processes these rows are seeded for run on
    this machine's clock, so "due" and "lease expired" are read there, not by the test."""
    with db.session() as s:
        if db.is_sqlite:
            return datetime.fromisoformat(s.scalar(text("SELECT strftime('%Y-%m-%d %H:%M:%f', 'now')"))).replace(tzinfo=timezone.utc)
        return s.scalar(text("SELECT now()")).astimezone(timezone.utc)


def seed_due(db, n: int, now: datetime | None = None, kind: str = "nudge", phone_base: int = 1_312_000_0000) -> list[str]:
    """n active, consenting people, each with one address and one due row (a nudge in their
    peer's name, due a minute ago). Returns the addresses: one row per address, so a provider
    ledger of addresses counts sends per row."""
    from db.models import Contact, Participant, ScheduledMessage, User
    now = now or db_now(db)
    tz = midday_timezone(now)
    with db.session() as s:
        peer = User(email=f"peer-{os.getpid()}-{time.monotonic_ns()}@bench.example", name="Luis Ortega",
                    role="peer", password_hash="x")
        s.add(peer)
        s.flush()
        first = (s.scalar(select(func.max(Participant.id))) or 0) + 1
        ids = range(first, first + n)
        s.execute(insert(Participant), [
            {"id": i, "first_name": f"P{i}", "language": "en", "timezone": tz, "status": "active",
             "release_date": now.date(), "consent_at": now - timedelta(hours=1), "consent_channel": "sms",
             "discreet": True, "fields": {}, "assigned_peer_id": peer.id, "created_at": now} for i in ids])
        addresses = [f"sms:+{phone_base + i}" for i in ids]
        first_contact = (s.scalar(select(func.max(Contact.id))) or 0) + 1
        s.execute(insert(Contact), [
            {"id": first_contact + k, "participant_id": i, "channel": "sms", "address": addresses[k], "created_at": now}
            for k, i in enumerate(ids)])
        s.execute(insert(ScheduledMessage), [
            {"participant_id": i, "kind": kind, "dedupe_key": f"{kind}:0:{now.date()}", "template_key": "nudge.0",
             "due_at": now - timedelta(minutes=1), "state": "pending", "attempts": 0, "quiet_ok": False,
             "created_at": now, "updated_at": now} for i in ids])
    if not db.is_sqlite:   # ids were given explicitly: move the sequences past them
        with db.engine.begin() as conn:
            for table in ("participants", "contacts"):
                conn.exec_driver_sql(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                     f"(SELECT max(id) FROM {table}))")
            conn.exec_driver_sql("ANALYZE")
    return addresses


def states(db) -> Counter:
    from db.models import ScheduledMessage
    with db.session() as s:
        return Counter(dict(s.execute(select(ScheduledMessage.state, func.count())
                                      .group_by(ScheduledMessage.state)).all()))


def messages_per_row(db) -> Counter:
    """How many outbound Message rows each outbox row produced (by the row's message link and by
    person: one row per person in seed_due)."""
    from db.models import Message
    with db.session() as s:
        return Counter(dict(s.execute(select(Message.participant_id, func.count())
                                      .where(Message.direction == "out")
                                      .group_by(Message.participant_id)).all()))


def read_ledger(path: str | Path) -> Counter:
    p = Path(path)
    if not p.exists():
        return Counter()
    return Counter(line for line in p.read_text().splitlines() if line)


class Worker:
    """`python -m tests.worker_proc` as a child process with its own environment."""

    def __init__(self, db_url: str, ledger: str | Path | None = None, env: dict | None = None,
                 args: tuple = (), wait_go: bool = False, log: str | Path | None = None):
        cmd = [sys.executable, "-m", "tests.worker_proc", *args]
        if ledger:
            cmd += ["--ledger", str(ledger)]
        if wait_go:
            cmd.append("--wait-go")
        full_env = {**os.environ, "DATABASE_URL": db_url, "LOG_LEVEL": "WARNING",
                    "TWILIO_ACCOUNT_SID": "", "TWILIO_AUTH_TOKEN": "", **(env or {})}
        self.log = open(log, "w") if log else subprocess.DEVNULL
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env=full_env, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=self.log, text=True)
        if wait_go:
            line = self.proc.stdout.readline()
            if line.strip() != "ready":
                self.proc.kill()
                raise RuntimeError(f"worker did not start: {line!r}")

    def go(self) -> None:
        self.proc.stdin.write("go\n")
        self.proc.stdin.flush()

    def wait(self, timeout: float) -> tuple[int, str]:
        out, _ = self.proc.communicate(timeout=timeout)
        return self.proc.returncode, out

    def kill9(self) -> None:
        self.proc.kill()          # SIGKILL: no handler, no cleanup, no final commit
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        if hasattr(self.log, "close"):
            self.log.close()
