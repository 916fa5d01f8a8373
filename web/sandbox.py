"""The sandbox phone: with no Twilio credentials, staff text the bot as a participant would and
see every message the service would have sent. Registered only on the sandbox channel.
Like every staff page, it never puts a phone number in a URL: the thread is chosen by person id."""
from __future__ import annotations

import uuid
from datetime import datetime, timezone

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from sqlalchemy import select

from bot.channels.addresses import BadAddress, e164
from bot.runtime import Inbound
from db.models import Contact, Message
from web.auth import role_required
from web.params import db_int

bp = Blueprint("sandbox", __name__, url_prefix="/sandbox")
DEFAULT_NUMBER = "+15005550199"


@bp.get("")
@role_required("peer")
def phone():
    db = current_app.extensions["homeward.db"]
    person_id = request.args.get("person", type=db_int)
    with db.session() as s:
        where = (Contact.participant_id == person_id) if person_id else (Contact.address == f"sms:{DEFAULT_NUMBER}")
        contact = s.scalar(select(Contact).where(where, Contact.channel == "sms").limit(1))
        number = contact.address.removeprefix("sms:") if contact else DEFAULT_NUMBER
        thread = [] if contact is None else list(s.scalars(
            select(Message).where(Message.participant_id == contact.participant_id)
            .order_by(Message.created_at, Message.id)))
    return render_template("sandbox.html", number=number, thread=thread)


@bp.post("")
@role_required("peer")
def send():
    try:
        address = "sms:" + e164(request.form.get("number", DEFAULT_NUMBER))
    except BadAddress:
        flash("That is not a phone number.", "error")
        return redirect(url_for("sandbox.phone"))
    runtime = current_app.extensions["homeward.runtime"]
    result = runtime.handle(Inbound("sms", address, request.form.get("body", ""), "SBIN" + uuid.uuid4().hex, 0),
                            datetime.now(timezone.utc))
    return redirect(url_for("sandbox.phone", person=result.participant_id))
