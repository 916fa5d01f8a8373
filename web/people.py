"""One person's page: the card, the whole thread, the reply box, notes and resolving.

The URL carries the person's id, never a number. Every view is audited, because seeing this
page is seeing someone's health information.
"""
from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from sqlalchemy import select

from bot import tickets
from core.sms import count_segments
from db.models import CannedReply, Contact, Note, Participant, User
from web import audit, outbound, present, queries, scheduled
from core import reply_policy
from web.auth import role_required
from web.context import db, me, now, quiet
from web.params import db_int

bp = Blueprint("people", __name__)
THREAD_LIMIT = 200


def render_person(person_id: int, draft: str = "", status: int = 200, quiet_confirm: bool = False,
                  contact_id: int | None = None):
    at = now()
    with db().session() as s:
        person = s.get(Participant, person_id)
        if person is None:
            abort(404)
        if person.status == "merged" and person.merged_into_id:
            flash(f"Record #{person.id} was merged into this one.", "info")
            return redirect(url_for("people.show", person_id=person.merged_into_id))
        audit.record(s, me(), "view_person", at, person.id)
        items, truncated = queries.thread(s, person.id, None if request.args.get("all") else THREAD_LIMIT)
        contacts = list(s.scalars(select(Contact).where(Contact.participant_id == person.id).order_by(Contact.id)))
        ticket = tickets.open_ticket(s, person.id)
        contact = outbound.reply_contact(s, person.id, contact_id)
        check = reply_policy.check("x", person.opted_out, outbound.contact_state(contact), person.timezone,
                                   person.last_inbound_at, at, quiet())
        canned = list(s.scalars(select(CannedReply).order_by(CannedReply.title)))
        later = scheduled.upcoming(s, person.id)
        authors = dict(s.execute(select(User.id, User.name)).all())
        if not draft and request.args.get("canned", type=db_int):
            chosen = s.get(CannedReply, request.args.get("canned", type=db_int))
            draft = (chosen.body_es if person.language == "es" else chosen.body_en) if chosen else ""
        page = render_template(
            "person.html", person=person, items=items, truncated=truncated, contacts=contacts, ticket=ticket,
            reply_contact=contact, check=check, quiet_note=reply_policy.quiet_note(person.timezone, quiet()),
            canned=canned, draft=draft, segments=count_segments(draft.replace("\r\n", "\n")),
            outcomes=tickets.OUTCOMES, now=at, authors=authors, quiet_confirm=quiet_confirm, sla_text=present.sla_text,
            day=present.day_since_release(person.release_date, person.timezone, at),
            local_time=present.local_time, later=later)
    return page, status


@bp.get("/people/<int:person_id>")
@role_required("peer")
def show(person_id: int):
    return render_person(person_id)


@bp.post("/people/<int:person_id>/reply")
@role_required("peer")
def reply(person_id: int):
    with db().session() as s:
        if s.get(Participant, person_id) is None:
            abort(404)
    body = request.form.get("body", "")
    contact_id = request.form.get("contact_id", type=db_int)
    result = outbound.send_reply(db(), current_app.extensions["homeward.sender"], person_id, contact_id, me(),
                                 body, request.form.get("quiet_ok") == "1", now(), quiet())
    if result.ok:
        flash(result.text, "info")
        return redirect(url_for("people.show", person_id=person_id) + "#reply")
    flash(result.text, "error" if not result.needs_quiet_confirm else "warning")
    if result.message_id:  # written and attempted: the thread shows it as failed
        return redirect(url_for("people.show", person_id=person_id) + "#reply")
    return render_person(person_id, draft=body, status=409 if not result.needs_quiet_confirm else 200,
                         quiet_confirm=result.needs_quiet_confirm, contact_id=contact_id)


@bp.post("/people/<int:person_id>/note")
@role_required("peer")
def note(person_id: int):
    body = request.form.get("body", "").replace("\r\n", "\n").strip()
    if not body:
        flash("A note needs some text.", "error")
        return redirect(url_for("people.show", person_id=person_id))
    at = now()
    with db().session() as s:
        if s.get(Participant, person_id) is None:
            abort(404)
        ticket = tickets.open_ticket(s, person_id)
        note = Note(participant_id=person_id, escalation_id=ticket.id if ticket else None, author_id=me(),
                    body=body[:5000], created_at=at)
        s.add(note)
        s.flush()
        audit.record(s, me(), "note", at, person_id, note_id=note.id)
    flash("Note saved (staff only, never sent).", "info")
    return redirect(url_for("people.show", person_id=person_id) + "#notes")


@bp.post("/people/<int:person_id>/resolve")
@role_required("peer")
def resolve(person_id: int):
    outcome = request.form.get("outcome", "")
    if outcome not in tickets.OUTCOMES:
        flash("Choose an outcome.", "error")
        return redirect(url_for("people.show", person_id=person_id) + "#resolve")
    at = now()
    try:
        with db().session() as s:
            ticket = tickets.resolve(s, request.form.get("ticket_id", type=db_int) or 0, me(), outcome,
                                     request.form.get("note", "").replace("\r\n", "\n")[:5000], at)
            if ticket.participant_id != person_id:
                abort(400)
            audit.record(s, me(), "resolve", at, person_id, ticket_id=ticket.id, outcome=outcome)
    except tickets.TicketConflict as exc:
        flash(str(exc), "warning")
        return redirect(url_for("people.show", person_id=person_id))
    flash(f"Resolved: {tickets.OUTCOMES[outcome]}.", "info")
    return redirect(url_for("inbox.queue"))
