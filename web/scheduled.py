"""A peer's one-off message for later ("I'll text you Friday morning"): written now, sent by the
worker at the chosen local time, with the same send-time checks as every nudge."""
from __future__ import annotations

import uuid
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, flash, redirect, request, url_for
from sqlalchemy import select

from core.sms import count_segments
from db.models import Participant, ScheduledMessage
from core.policy import in_quiet_hours
from web import audit, params
from web.auth import role_required
from web.context import db, me, now, quiet

bp = Blueprint("scheduled", __name__)


def upcoming(s, person_id: int) -> list[ScheduledMessage]:
    return list(s.scalars(select(ScheduledMessage).where(
        ScheduledMessage.participant_id == person_id, ScheduledMessage.state.in_(("pending", "held")))
        .order_by(ScheduledMessage.due_at).limit(20)))


def _back(person_id: int):
    return redirect(url_for("people.show", person_id=person_id) + "#later")


@bp.post("/people/<int:person_id>/schedule")
@role_required("peer")
def schedule(person_id: int):
    body = (request.form.get("body") or "").strip()
    at_text = request.form.get("send_at", "")
    with db().session() as s:
        person = s.get(Participant, person_id)
        if person is None:
            abort(404)
        if person.opted_out:
            flash("This person opted out (STOP): nothing can be scheduled for them.", "error")
            return _back(person_id)
        if not body:
            flash("Write the message to schedule.", "error")
            return _back(person_id)
        if count_segments(body).segments > 2:
            flash(f"That is {count_segments(body).describe()}; keep it to two segments.", "error")
            return _back(person_id)
        try:
            local = params.local_datetime(at_text).replace(tzinfo=ZoneInfo(person.timezone))
        except ValueError:
            flash("Choose a date and time to send it.", "error")
            return _back(person_id)
        due = local.astimezone(now().tzinfo)
        if due <= now():
            flash("That time has passed; choose a time ahead.", "error")
            return _back(person_id)
        if in_quiet_hours(due, person.timezone, quiet()):
            flash("That is during the person's quiet hours (21:00–09:00 their time); choose another time.", "error")
            return _back(person_id)
        row = ScheduledMessage(participant_id=person.id, kind="peer", dedupe_key=f"peer:{uuid.uuid4().hex}",
                               body=body, due_at=due, author_id=me(), created_at=now(), updated_at=now())
        s.add(row)
        s.flush()
        audit.record(s, me(), "schedule_message", now(), person.id, scheduled_id=row.id)
    flash(f"Scheduled for {local:%a %b %-d, %H:%M} their time.", "info")
    return _back(person_id)


@bp.post("/people/<int:person_id>/scheduled/<int:row_id>/cancel")
@role_required("peer")
def cancel(person_id: int, row_id: int):
    with db().session() as s:
        row = s.get(ScheduledMessage, row_id)
        if row is None or row.participant_id != person_id or row.kind != "peer" or row.state != "pending":
            abort(404)
        row.state, row.last_error, row.updated_at = "cancelled", "cancelled by staff", now()
        audit.record(s, me(), "cancel_scheduled", now(), person_id, scheduled_id=row.id)
    flash("Scheduled message cancelled.", "info")
    return _back(person_id)
