"""`flask --app app chat [--lang es]`: talk to the real runtime in the terminal.

Messages go through the same store → decide → apply path as a text to /twilio/sms, but on a
throwaway SQLite database made for this session (migrated, with the shipped flows published), so
"i want to die" typed as a test never opens a ticket in the live inbox and the pretend number
never becomes a person there. Which database it uses is printed at start. Effects are shown as
they happen: escalations, fields, language, timers, flows ending.
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

from core.effects import Escalate, Reply, ScheduleTimeout
from bot.runtime import Inbound

DEFAULT_PHONE = "+15005550188"


def describe(effect) -> str | None:
    if isinstance(effect, Reply):
        return None
    if isinstance(effect, Escalate):
        return f"escalation: {effect.reason} ({effect.priority}) {effect.note}".rstrip()
    if isinstance(effect, ScheduleTimeout):
        return f"timeout scheduled for {effect.at.isoformat(timespec='minutes')}"
    fields = ", ".join(f"{k}={v!r}" for k, v in vars(effect).items())
    return f"{type(effect).__name__}({fields})"


@click.command("chat", help="Text the bot from the terminal (sandbox channel). Ctrl-D to quit.")
@click.option("--lang", type=click.Choice(["en", "es"]), default=None, help="Start in this language.")
@click.option("--phone", default=DEFAULT_PHONE, show_default=True, help="The pretend sender's number.")
@with_appcontext
def chat_command(lang, phone):
    logging.getLogger().setLevel(logging.WARNING)   # the effects below say what happened
    with tempfile.TemporaryDirectory(prefix="homeward-chat-") as tmp:
        runtime, where = throwaway_runtime(Path(tmp))
        click.echo(f"Throwaway database {where}: nothing here reaches the live inbox, and it is deleted "
                   f"when you quit.")
        _talk(runtime, lang, phone)


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
    return app.extensions["homeward.runtime"], where


def _talk(runtime, lang, phone) -> None:
    address = f"sms:{phone}"
    click.echo(f"Texting {current_app.config['PROGRAM_NAME']} as {phone} (sandbox). Ctrl-D to quit.")
    if lang:
        _send(runtime, address, "ESPAÑOL" if lang == "es" else "ENGLISH")
    while True:
        try:
            body = click.prompt("you", prompt_suffix="> ", default="", show_default=False)
        except (EOFError, click.Abort):
            click.echo()
            return
        _send(runtime, address, body)


def _send(runtime, address: str, body: str) -> None:
    result = runtime.handle(Inbound("sms", address, body, f"SBCHAT{uuid.uuid4().hex}"), datetime.now(timezone.utc))
    for text in result.replies:
        click.secho(f"bot> {text}", fg="green")
    for effect in result.effects:
        line = describe(effect)
        if line:
            click.secho(f"  · {line}", fg="yellow")
    if result.failed:
        click.secho("  · processing failed: the message was kept and escalated", fg="red")
