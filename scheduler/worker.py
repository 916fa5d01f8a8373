"""The worker process: APScheduler only ticks; the schedule lives in the database.

One BlockingScheduler per deployment slot (the Procfile's `worker`), never inside
create_app(). Any number of workers may run against one PostgreSQL: claims are atomic.
"""
from __future__ import annotations

import logging
from datetime import datetime, timezone

from apscheduler.schedulers.blocking import BlockingScheduler

import logs
from scheduler.dispatch import Dispatcher, PassResult

log = logging.getLogger("homeward.worker")


def drain(dispatcher: Dispatcher, now: datetime | None = None, max_passes: int = 1000) -> PassResult:
    """Work batches until nothing is due (or, with a fixed `now`, until a pass claims nothing)."""
    total = PassResult()
    for _ in range(max_passes):
        result = dispatcher.run_pass(now)
        for name in ("claimed", "sent", "deferred", "skipped", "retried", "failed", "lost_lease"):
            setattr(total, name, getattr(total, name) + getattr(result, name))
        if result.claimed == 0:
            break
    return total


def run_once(dispatcher: Dispatcher, sweeps, now: datetime | None) -> PassResult:
    if sweeps is not None:
        sweeps(now or datetime.now(timezone.utc))
    return drain(dispatcher, now)


def run_forever(dispatcher: Dispatcher, sweeps, dispatch_seconds: int = 5, sweep_seconds: int = 60) -> None:
    scheduler = BlockingScheduler(timezone="UTC")

    def dispatch_tick():
        result = drain(dispatcher)
        if result.claimed:
            logs.event(log, "dispatch pass", **vars(result))

    def sweep_tick():
        if sweeps is not None:
            sweeps(datetime.now(timezone.utc))

    # max_instances=1 + coalesce: a slow pass is never overlapped or replayed in a burst.
    scheduler.add_job(dispatch_tick, "interval", seconds=dispatch_seconds, id="dispatch",
                      max_instances=1, coalesce=True, next_run_time=datetime.now(timezone.utc))
    scheduler.add_job(sweep_tick, "interval", seconds=sweep_seconds, id="sweeps",
                      max_instances=1, coalesce=True, next_run_time=datetime.now(timezone.utc))
    logs.event(log, "worker started", worker=dispatcher.cfg.worker_id, sender=dispatcher.sender.name)
    try:
        scheduler.start()
    except (KeyboardInterrupt, SystemExit):
        logs.event(log, "worker stopped", worker=dispatcher.cfg.worker_id)
