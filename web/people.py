"""One person's page: the card, the whole thread, the reply box, notes and resolving.

The URL carries the person's id, never a number. Every view is audited, because seeing this
page is seeing someone's health information.
"""
from __future__ import annotations

from types import SimpleNamespace

from flask import Blueprint, abort, current_app, flash, jsonify, redirect, render_template, request, url_for
from sqlalchemy import select

from bot import tickets
from core.sms import count_segments
from db.models import CannedReply, Contact, Message, Note, Participant, User
from web import audit, canned, outbound, presence, present, queries, scheduled, words
from core import reply_policy
from web.auth import role_required
from web.context import db, me, now, quiet, schedule
from web.params import db_int

bp = Blueprint("people", __name__)
THREAD_LIMIT = 200


FINAL_STATUSES = {"delivered", "undelivered", "failed", "read", "received", "processed"}


def _events(s, person, after_id: int = 0) -> list[tuple[str, object]]:
    """Events worth a line in the thread, in words. The newest locator question is named with
    the place the person last asked about (the event itself records only the need)."""
    rows = queries.events(s, person.id, after_id)
    place = words.place_label((person.fields or {}).get("last_place"))
    last_locator = max((e.id for e in rows if e.name == "locator"), default=None)
    out = []
    for e in rows:
        text = words.event(e.name, e.data, place if e.id == last_locator else None)
        if text:
            out.append(("event", SimpleNamespace(id=e.id, text=text, created_at=e.created_at)))
    return out


def _ordered(items: list) -> list:
    order = {"message": 0, "event": 1, "note": 2}
    return sorted(items, key=lambda pair: (pair[1].created_at, order[pair[0]], pair[1].id))


def canned_for(s, person, peer_name: str) -> list[tuple[str, str, str]]:
    """(key, title, text filled in for this person) in their language; the shipped set until
    the program has its own."""
    rows = [(str(c.id), c) for c in s.scalars(select(CannedReply).order_by(CannedReply.title))]
    rows = rows or [(f"starter-{i}", c) for i, c in enumerate(canned.starter(), 1)]
    return [(key, c.title, canned.fill(c.body_es if person.language == "es" else c.body_en, person.first_name,
                                       peer_name)) for key, c in rows]


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
        presence.touch(s, me(), person.id, False, at)
        items, truncated = queries.thread(s, person.id, None if request.args.get("all") else THREAD_LIMIT)
        items = _ordered(items + _events(s, person))
        contacts = list(s.scalars(select(Contact).where(Contact.participant_id == person.id).order_by(Contact.id)))
        ticket = tickets.open_ticket(s, person.id)
        contact = outbound.reply_contact(s, person.id, contact_id)
        check = reply_policy.check("x", person.opted_out, outbound.contact_state(contact), person.timezone,
                                   person.last_inbound_at, at, quiet())
        authors = dict(s.execute(select(User.id, User.name)).all())
        canned_list = canned_for(s, person, authors.get(me(), ""))
        later = scheduled.upcoming(s, person.id)
        if not draft and request.args.get("canned"):   # the "Use" button without JavaScript
            draft = next((text for key, _, text in canned_list if key == request.args["canned"]), "")
        watching = presence.others(s, person.id, me(), at)
        history = queries.ticket_history(s, person.id)
        facts = words.person_facts(person.fields, person.risk_tier)
        last = {"message": max((i.id for k, i in items if k == "message"), default=0),
                "note": max((i.id for k, i in items if k == "note"), default=0),
                "event": max((i.id for k, i in items if k == "event"), default=0)}
        page = render_template(
            "person.html", person=person, items=items, truncated=truncated, contacts=contacts, ticket=ticket,
            reply_contact=contact, check=check, quiet_note=reply_policy.quiet_note(person.timezone, quiet()),
            canned=canned_list, draft=draft, segments=count_segments(draft.replace("\r\n", "\n")),
            outcomes=tickets.OUTCOMES, now=at, authors=authors, quiet_confirm=quiet_confirm, sla_text=present.sla_text,
            day=present.day_since_release(person.release_date, person.timezone, at),
            local_time=present.local_time, later=later, watching=watching, history=history, facts=facts,
            words=words, last=last, duration=present.duration)
    return page, status


@bp.post("/people/<int:person_id>/live")
@role_required("peer")
def live(person_id: int):
    """The open page's poll: what is new in the thread since it was drawn, the delivery status
    of texts still on their way, and who else is here. Also marks this peer as viewing (or
    replying, while the reply box has text), which is what the others see."""
    body = request.get_json(silent=True) or {}
    after = {k: _int(body.get(k)) for k in ("message", "note", "event")}
    watch = [i for i in (_int(x) for x in (body.get("watch") or [])[:100]) if i]
    at = now()
    with db().autocommit() as conn:   # the usual answer, "nothing new", on a bare connection
        news = queries.live_news(conn, person_id, after)
        if news is None:
            abort(404)
        presence.touch(conn, me(), person_id, bool(body.get("replying")), at)
        others = presence.others(conn, person_id, me(), at)
    html, statuses, items, person = "", {}, [], None
    if news.message or news.note or news.event or watch:
        with db().session() as s:
            if news.message or news.note or news.event:
                person = s.get(Participant, person_id)
                msgs = list(s.scalars(select(Message).where(Message.participant_id == person_id,
                                                            Message.id > after["message"]).order_by(Message.id)
                                      .limit(100))) if news.message else []
                notes = list(s.scalars(select(Note).where(Note.participant_id == person_id,
                                                          Note.id > after["note"]).order_by(Note.id)
                                       .limit(100))) if news.note else []
                items = _ordered([("message", m) for m in msgs] + [("note", n) for n in notes]
                                 + (_events(s, person, after["event"]) if news.event else []))
            authors = dict(s.execute(select(User.id, User.name)).all()) if items or watch else {}
            for m in s.scalars(select(Message).where(Message.participant_id == person_id,
                                                     Message.id.in_(watch))) if watch else ():
                statuses[m.id] = {"status": m.status, "html": render_template("_status.html", item=m)}
            html = render_template("_thread_items.html", items=items, person=person, authors=authors,
                                   local_time=present.local_time) if items else ""
    return jsonify(html=html, statuses=statuses, others=others,
                   last={k: max([after[k]] + [i.id for kind, i in items if kind == k]) for k in after},
                   ticket={"id": news.ticket_id, "assignee": news.assignee} if news.ticket_id else None)


def _int(value) -> int:
    try:
        return max(int(value), 0)
    except (TypeError, ValueError):
        return 0


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
                                 body, request.form.get("quiet_ok") == "1", now(), quiet(), schedule)
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
