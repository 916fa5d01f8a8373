"""`flask --app app participants enroll` and `flask --app app nudges preview PHONE`."""
from __future__ import annotations

from zoneinfo import ZoneInfo

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select

from bot.channels.addresses import BadAddress, e164
from bot import participants
from cli.clock import now_option
from core import channels
from bot.enrollment import EnrollmentError, validate
from db.models import AuditEvent, Contact, Participant, ScheduledMessage, User
from core import policy


@click.group("participants", help="People in the program.")
def participants_group():
    pass


@participants_group.command("enroll")
@click.option("--phone", required=True, help="Any format; stored as E.164.")
@click.option("--release-date", required=True, help="YYYY-MM-DD (past, today or future).")
@click.option("--name", default=None, help="First name the peer will use.")
@click.option("--language", default="en", type=click.Choice(["en", "es"]))
@click.option("--tz", default=None, help="Time zone, e.g. America/Chicago (default: the program's).")
@click.option("--checkin-time", default=None, help="Preferred local time, HH:MM.")
@click.option("--peer", default=None, help="The assigned peer's email.")
@click.option("--consent", "consent_channel", default="in_person", show_default=True,
              type=click.Choice(["in_person", "phone", "written", "sms"]), help="How the person agreed to texts.")
@now_option
@with_appcontext
def enroll_command(phone, release_date, name, language, tz, checkin_time, peer, consent_channel, now):
    db = current_app.extensions["homeward.db"]
    with db.session() as s:
        peer_id = None
        if peer:
            peer_id = s.scalar(select(User.id).where(User.email == peer.strip().lower()))
            if peer_id is None:
                raise click.BadParameter(f"no staff account {peer}", param_hint="--peer")
        today = now.astimezone(ZoneInfo(tz or current_app.config["PROGRAM_TIMEZONE"])).date()
        e, errors = validate({"phone": phone, "release_date": release_date, "first_name": name,
                              "language": language, "timezone": tz, "checkin_time": checkin_time,
                              "peer_id": str(peer_id) if peer_id else "", "consent": "yes",
                              "consent_channel": consent_channel}, today,
                             default_tz=current_app.config["PROGRAM_TIMEZONE"])
        if errors:
            for field, message in errors.items():
                click.echo(f"{field}: {message}", err=True)
            raise SystemExit(2)
        try:
            done = participants.enroll(s, e, now, current_app.extensions["homeward.schedule"]())
        except EnrollmentError as exc:
            raise click.ClickException(f"{exc.field}: {exc.message}") from None
        person, planned = done.person, done.planned
        s.add(AuditEvent(user_id=None, action="enroll", participant_id=person.id,
                         detail={"via": "cli", "planned_nudges": planned, **done.detail}, created_at=now))
        click.echo(f"enrolled person #{person.id}; {planned} messages planned "
                   f"(see: flask --app app nudges preview {phone})")


@click.group("nudges", help="The nudge schedule.")
def nudges_group():
    pass


@nudges_group.command("preview")
@click.argument("phone")
@with_appcontext
def preview(phone):
    """The person's upcoming messages, in their local time."""
    try:
        number = e164(phone)
    except BadAddress as exc:
        raise click.BadParameter(str(exc), param_hint="PHONE") from None
    db = current_app.extensions["homeward.db"]
    schedule = current_app.extensions["homeward.schedule"]()
    with db.session() as s:
        contact = s.scalar(select(Contact).where(Contact.address.in_(channels.phone_addresses(number))))
        if contact is None:
            raise click.ClickException("no one with that number")
        person = s.get(Participant, contact.participant_id)
        peer = s.get(User, person.assigned_peer_id) if person.assigned_peer_id else None
        rows = list(s.scalars(select(ScheduledMessage).where(
            ScheduledMessage.participant_id == person.id, ScheduledMessage.state.in_(("pending", "held")))
            .order_by(ScheduledMessage.due_at)))
        zone = ZoneInfo(person.timezone)
        state = "opted out" if person.opted_out else person.status
        click.echo(f"person #{person.id} ({person.first_name or 'no name'}), released {person.release_date}, "
                   f"{person.timezone}, {state}: {len(rows)} upcoming")
        for row in rows:
            local = row.due_at.astimezone(zone)
            day = (local.date() - person.release_date).days if person.release_date else "?"
            body = row.body or policy.render(schedule, row.template_key or "nudge.0", person.language,
                                             person.first_name, peer.name.split()[0] if peer else None,
                                             current_app.config["PROGRAM_NAME"], person.discreet)
            held = " (held: paused)" if row.state == "held" else ""
            click.echo(f"{local:%a %Y-%m-%d %H:%M %Z}  day {day:>3}  {row.kind:<8}{held} {body}")
