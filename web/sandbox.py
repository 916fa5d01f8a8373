"""The sandbox phone: staff text the bot as a participant would and see every message the
service would have sent. On by itself only without Twilio credentials; with them, only when
SANDBOX_ENABLED is set. It acts only for reserved fictional numbers (+1 NXX 555-0100 to -0199,
which no real person can have): it never shows a real person's thread or posts as their number.
Every thread shown is in the audit log. Like every staff page, it never puts a phone number in a
URL: the thread is chosen by person id."""
from __future__ import annotations

import re
import uuid

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from sqlalchemy import select

from bot.channels.addresses import BadAddress, e164
from bot.runtime import Inbound
from db.models import Contact, Message
from web import audit
from web.auth import role_required
from web.context import me, now
from web.params import db_int

bp = Blueprint("sandbox", __name__, url_prefix="/sandbox")
DEFAULT_NUMBER = "+15005550199"
RESERVED = re.compile(r"^\+1[2-9][0-9]{2}55501[0-9]{2}\Z")     # NANP's fictional 555-01xx
NOT_RESERVED = ("The sandbox only texts as a made-up number, +1 NXX 555 0100 to 0199 "
                "(for example +1 500 555 0199), never a real person's.")


def enabled(config: dict, sender_is_sandbox: bool) -> bool:
    """No Twilio credentials: on. Real credentials: only when SANDBOX_ENABLED says so."""
    return sender_is_sandbox or bool(config.get("SANDBOX_ENABLED"))


def is_sandbox_number(number: str) -> bool:
    return bool(RESERVED.match(number))


@bp.get("")
@role_required("peer")
def phone():
    db = current_app.extensions["homeward.db"]
    person_id = request.args.get("person", type=db_int)
    with db.session() as s:
        where = (Contact.participant_id == person_id) if person_id else (Contact.address == f"sms:{DEFAULT_NUMBER}")
        contacts = list(s.scalars(select(Contact).where(where, Contact.channel == "sms")))
        contact = next((c for c in contacts if is_sandbox_number(c.address.removeprefix("sms:"))), None)
        if contacts and contact is None:
            flash(NOT_RESERVED, "error")
        number = contact.address.removeprefix("sms:") if contact else DEFAULT_NUMBER
        thread = [] if contact is None else list(s.scalars(
            select(Message).where(Message.participant_id == contact.participant_id)
            .order_by(Message.created_at, Message.id)))
        if contact is not None:
            audit.record(s, me(), "sandbox_view", now(), contact.participant_id)
    return render_template("sandbox.html", number=number, thread=thread)


@bp.post("")
@role_required("peer")
def send():
    try:
        number = e164(request.form.get("number", DEFAULT_NUMBER))
    except BadAddress:
        flash("That is not a phone number.", "error")
        return redirect(url_for("sandbox.phone"))
    if not is_sandbox_number(number):
        flash(NOT_RESERVED, "error")
        return redirect(url_for("sandbox.phone"))
    runtime = current_app.extensions["homeward.runtime"]
    result = runtime.handle(Inbound("sms", "sms:" + number, request.form.get("body", ""), "SBIN" + uuid.uuid4().hex, 0),
                            now())
    return redirect(url_for("sandbox.phone", person=result.participant_id))
