"""`flask --app app chat [--lang es]`: talk to the real runtime in the terminal.

Messages go through the same store → decide → apply path as a text to /twilio/sms, but on a
throwaway SQLite database made for this session (migrated, with the shipped flows published), so
"i want to die" typed as a test never opens a ticket in the live inbox and the pretend number
never becomes a person there. Which database it uses is printed at start. Effects are shown as
they happen (core/describe.py): escalations, fields, language, timers, flows ending.
"""
from __future__ import annotations

import logging
import tempfile
import uuid
from datetime import datetime, timezone
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from core.describe import trace
from bot.runtime import Inbound
from cli.clock import parse_now

DEFAULT_PHONE = "+15005550188"


def describe(effect, tz: str = "UTC") -> str | None:
    """One effect as a terminal line (core/describe.py); None for a reply (shown as bot>)."""
    line = trace(effect, tz)
    return f"{line.kind}: {line.detail}" if line else None


@click.command("chat", help="Text the bot from the terminal (sandbox channel). Ctrl-D to quit.")
@click.option("--lang", type=click.Choice(["en", "es"]), default=None, help="Start in this language.")
@click.option("--phone", default=DEFAULT_PHONE, show_default=True, help="The pretend sender's number.")
@click.option("--now", "now_text", default=None,
              help="Pretend it is this time (ISO 8601): every message is sent at it; default: the real clock.")
@with_appcontext
def chat_command(lang, phone, now_text):
    logging.getLogger().setLevel(logging.WARNING)   # the effects below say what happened
    with tempfile.TemporaryDirectory(prefix="homeward-chat-") as tmp:
        runtime, where, sites = throwaway_runtime(Path(tmp))
        click.echo(f"Throwaway database {where}: nothing here reaches the live inbox, and it is deleted "
                   f"when you quit. Places: {sites} copied from the live database"
                   + ("." if sites else " (none there: run `make run` or `flask --app app sites import` first)."))
        _talk(runtime, lang, phone, parse_now(now_text))


def throwaway_runtime(folder: Path):
    """A second app on a fresh SQLite file: the same code and flows, none of the live data."""
    from app import create_app
    from db.migrate import upgrade
    where = folder / "chat.db"
    app = create_app({**current_app.config, "DATABASE_URL": f"sqlite:///{where}", "TESTING": True,
                      "LOG_LEVEL": "WARNING"})
    db = app.extensions["homeward.db"]
    upgrade(db.engine)
    with db.session() as s:
        app.extensions["homeward.flows"].publish_dir(s, only_changed=False)
    copied = _copy_sites(current_app.extensions["homeward.db"], db)
    return app.extensions["homeward.runtime"], where, copied


def _copy_sites(live, throwaway) -> int:
    """The live database's places, so "narcan in dayton" answers with what a texter would get.
    Places are not about anyone; no person, message or ticket is copied."""
    from sqlalchemy import insert, select
    from sqlalchemy.exc import SQLAlchemyError
    from db.models import Site
    try:
        with live.engine.connect() as conn:
            rows = [dict(r) for r in conn.execute(select(Site.__table__)).mappings()]
    except SQLAlchemyError:          # a live database not set up yet: the chat still works
        return 0
    if rows:
        with throwaway.engine.begin() as conn:
            conn.execute(insert(Site.__table__), rows)
    return len(rows)


def _talk(runtime, lang, phone, at: datetime | None) -> None:
    address = f"sms:{phone}"
    click.echo(f"Texting {current_app.config['PROGRAM_NAME']} as {phone} (sandbox). Ctrl-D to quit.")
    if lang:
        _send(runtime, address, "ESPAÑOL" if lang == "es" else "ENGLISH", at)
    while True:
        try:
            body = click.prompt("you", prompt_suffix="> ", default="", show_default=False)
        except (EOFError, click.Abort):
            click.echo()
            return
        _send(runtime, address, body, at)


def _send(runtime, address: str, body: str, at: datetime | None) -> None:
    result = runtime.handle(Inbound("sms", address, body, f"SBCHAT{uuid.uuid4().hex}"),
                            at or datetime.now(timezone.utc))
    for text in result.replies:
        click.secho(f"bot> {text}", fg="green")
    for effect in result.effects:
        line = describe(effect, runtime.program.timezone)
        if line:
            click.secho(f"  · {line}", fg="yellow")
    if result.failed:
        click.secho("  · processing failed: the message was kept and escalated", fg="red")
