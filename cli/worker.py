"""`flask --app app worker [--once] [--now ISO-TIME]`: the outbox dispatcher and sweeps."""
from __future__ import annotations

from datetime import datetime, timedelta

import click
from sqlalchemy import select
from flask import current_app
from flask.cli import with_appcontext

from db.models import Setting
from scheduler.dispatch import DispatchConfig, Dispatcher, worker_id
from scheduler import sweeps
from scheduler.worker import run_forever, run_once
from cli.clock import parse_now


def _setting(db, key: str, default):
    with db.session() as s:
        row = s.get(Setting, key)
        return row.value if row is not None else default


def build_dispatcher(app) -> Dispatcher:
    db = app.extensions["homeward.db"]

    def tune() -> tuple[float, int | None]:
        """Read each pass (one query), so a supervisor's change to the pace applies without a restart."""
        with db.session() as s:
            values = dict(s.execute(select(Setting.key, Setting.value).where(
                Setting.key.in_(("sender_rate_per_second", "sender_daily_cap")))).all())
        rate = values.get("sender_rate_per_second", app.config.get("SENDER_RATE_PER_SECOND", 1.0))
        return float(rate), values.get("sender_daily_cap")

    rate, cap = tune()
    cfg = DispatchConfig(worker_id=worker_id(), program_name=app.config["PROGRAM_NAME"],
                         rate_per_second=rate, daily_cap=cap, program_tz=app.config["PROGRAM_TIMEZONE"],
                         lease=timedelta(seconds=float(app.config.get("WORKER_LEASE_SECONDS", 120))),
                         retry_base=timedelta(seconds=float(app.config.get("RETRY_BASE_SECONDS", 30))),
                         retry_cap=timedelta(seconds=float(app.config.get("RETRY_CAP_SECONDS", 1800))))
    return Dispatcher(db, app.extensions["homeward.sender"], app.extensions["homeward.schedule"], cfg,
                      after_nudge=app.extensions["homeward.runtime"].await_checkins, tune=tune)


def make_sweeps(app):
    """Everything the worker checks once a minute besides the outbox."""
    db, runtime = app.extensions["homeward.db"], app.extensions["homeward.runtime"]
    schedule = app.extensions["homeward.schedule"]

    older = timedelta(seconds=float(app.config.get("UNPROCESSED_AFTER_SECONDS", 30)))

    def run(now: datetime) -> None:
        sweeps.unprocessed(db, runtime, now, older)   # first: an emergency may be among them
        runtime.run_timeouts(now)
        sweeps.sla_breaches(db, now, app.config["PROGRAM_TIMEZONE"])   # supervisors' texts, sent this tick
        sweeps.no_contact(db, schedule(), now, app.config["PROGRAM_TIMEZONE"])
        sweeps.expire_conversations(db, now)
    return run


@click.command("worker", help="Send due messages and run sweeps (APScheduler); one per deployment slot.")
@click.option("--once", is_flag=True, help="Run a single pass (sweeps, then drain what is due) and exit.")
@click.option("--now", "now_text", default=None, help="Pretend it is this time (ISO 8601); implies --once.")
@with_appcontext
def worker_command(once: bool, now_text: str | None):
    app = current_app._get_current_object()
    dispatcher = build_dispatcher(app)
    sweeps = make_sweeps(app)
    now = parse_now(now_text)
    if once or now is not None:
        result = run_once(dispatcher, sweeps, now)
        click.echo(f"claimed {result.claimed}, sent {result.sent}, deferred {result.deferred}, "
                   f"skipped {result.skipped}, retrying {result.retried}, failed {result.failed}")
        return
    run_forever(dispatcher, sweeps)
