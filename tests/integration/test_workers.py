"""Worker processes against one PostgreSQL (issue 5's tests): two workers never send a row
twice, and a worker killed with SIGKILL loses nothing.

Each worker is a real process (`python -m tests.worker_proc`: create_app + build_dispatcher, the
code `flask --app app worker` runs) with the sandbox sender wrapped in a ledger: one line per
send the "provider" accepted, written before the dispatcher records it. So the ledger counts real
sends, including a re-send after a kill that the Message table cannot show (the retried row
reuses its Message).
"""
from __future__ import annotations

import time

import pytest
from sqlalchemy import func, select

from db.models import Contact, Message, ScheduledMessage
from db.session import Database
from scheduler.dispatch import DispatchConfig
from tests import dbs
from tests.outbox import Worker, db_now, messages_per_row, read_ledger, seed_due, states

pytestmark = pytest.mark.slow


@pytest.fixture
def pg(_pg_url):
    database = Database(_pg_url)
    dbs.wipe(database.engine)
    yield database
    database.engine.dispose()


def wait_for(condition, timeout: float, what: str, every: float = 0.02):
    """Poll `condition` until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(every)
    pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")


def sent_count(db) -> int:
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(ScheduledMessage)
                        .where(ScheduledMessage.state == "sent")) or 0


def claimed_count(db) -> int:
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(ScheduledMessage)
                        .where(ScheduledMessage.state == "claimed")) or 0


def test_two_worker_processes_send_each_of_5000_rows_exactly_once(pg, _pg_url, tmp_path):
    addresses = seed_due(pg, 5000)
    workers = [Worker(_pg_url, ledger=tmp_path / f"ledger-{i}.txt", wait_go=True,
                      log=tmp_path / f"worker-{i}.log") for i in range(2)]
    try:
        for w in workers:
            w.go()
        results = [w.wait(timeout=300) for w in workers]
    finally:
        for w in workers:
            w.stop()
    assert [rc for rc, _ in results] == [0, 0], results

    assert states(pg) == {"sent": 5000}                          # no row left unsent, none failed
    per_row = messages_per_row(pg)
    assert len(per_row) == 5000 and set(per_row.values()) == {1}  # one Message per row
    ledgers = [read_ledger(tmp_path / f"ledger-{i}.txt") for i in range(2)]
    total = ledgers[0] + ledgers[1]
    assert set(total) == set(addresses)                          # every row reached the provider
    assert max(total.values()) == 1                              # ... exactly once
    assert all(sum(ledger.values()) > 0 for ledger in ledgers)   # both workers really took part
    assert not set(ledgers[0]) & set(ledgers[1])


def test_a_worker_killed_with_sigkill_mid_run_loses_nothing(pg, _pg_url, tmp_path):
    addresses = seed_due(pg, 2000)
    lease = 3.0
    env = {"WORKER_LEASE_SECONDS": str(lease)}
    first = Worker(_pg_url, ledger=tmp_path / "ledger-a.txt", env=env, wait_go=True, log=tmp_path / "a.log")
    try:
        first.go()
        # Mid-run: some rows sent and a batch claimed (not between two batches).
        wait_for(lambda: sent_count(pg) >= 300 and claimed_count(pg) > 0, 120,
                 "the first worker to send 300 rows and hold a claim")
        first.kill9()
    finally:
        first.stop()

    # What was in flight when it died: rows it had claimed, and messages written as "sending"
    # (the provider may or may not have accepted them: the documented duplicate window).
    with pg.session() as s:
        claimed = list(s.execute(select(ScheduledMessage.participant_id, ScheduledMessage.claimed_until)
                                 .where(ScheduledMessage.state == "claimed")))
        sending = s.scalar(select(func.count()).select_from(ScheduledMessage)
                           .join(Message, Message.id == ScheduledMessage.message_id)
                           .where(ScheduledMessage.state == "claimed", Message.status == "sending")) or 0
    sent_before = sent_count(pg)
    assert sent_before < 2000, "the worker finished before it could be killed; seed more rows"
    assert claimed, "the worker died holding no claim; nothing was in flight"
    # A worker writes a chunk "sending" in one transaction, sends it, records it in one more
    # (issue 20): at most one chunk, never more than a claim batch, is in that window.
    assert sending <= DispatchConfig(worker_id="any").batch

    # The lease runs out (a claim is never taken while its lease holds), then a second worker.
    # Read on the database's clock, the machine clock the worker processes compare leases with.
    last = max(until for _, until in claimed)
    wait_for(lambda: db_now(pg) > last, lease + 30, "the dead worker's lease to expire", every=0.05)
    second = Worker(_pg_url, ledger=tmp_path / "ledger-b.txt", env=env, wait_go=True, log=tmp_path / "b.log")
    try:
        second.go()
        rc, out = second.wait(timeout=300)
    finally:
        second.stop()
    assert rc == 0, out

    assert states(pg) == {"sent": 2000}                            # nothing lost
    per_row = messages_per_row(pg)
    assert len(per_row) == 2000 and set(per_row.values()) == {1}
    a, b = read_ledger(tmp_path / "ledger-a.txt"), read_ledger(tmp_path / "ledger-b.txt")
    total = a + b
    assert set(total) == set(addresses)                            # every row reached the provider
    duplicates = sum(total.values()) - len(addresses)
    # The bound the delivery guarantee documents: only a row whose send was in flight (written
    # "sending", not yet recorded) when the worker died can go out twice.
    assert duplicates <= sending, (duplicates, sending)
    assert max(total.values()) <= 2
    # The rows the dead worker had claimed were finished by the second one after the lease.
    with pg.session() as s:
        claimed_addresses = set(s.scalars(select(Contact.address).where(
            Contact.participant_id.in_([pid for pid, _ in claimed]))))
    assert claimed_addresses and claimed_addresses <= set(b)
    assert sum(a.values()) >= sent_before   # the ledger saw at least what the database recorded
