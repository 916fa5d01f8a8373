"""`flask --app app chat [--lang es]`: talk to the real runtime in the terminal.

Messages go through the same store → decide → apply path as a text to /twilio/sms, against the
configured database, on the sandbox channel (nothing is sent anywhere). Effects are shown as they
happen: escalations, fields, language, timers, flows ending.
"""
from __future__ import annotations

import logging
import uuid
from datetime import datetime, timezone

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
    runtime = current_app.extensions["homeward.runtime"]
    logging.getLogger().setLevel(logging.WARNING)   # the effects below say what happened
    address = f"sms:{phone}"
    at = parse_now(now_text)
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
