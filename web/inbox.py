"""The queue at /inbox: open tickets, most urgent first, then by SLA due time; filters, search,
snooze; and /inbox/updates, the small JSON every staff page polls for urgent alerts.

The page is complete without JavaScript (a noscript refresh and a link); with it, a few lines
poll /inbox/rows for the same server-rendered rows every few seconds, so there is one template
and one escaping rule for both. Claims are conditional (see bot/tickets.py).
"""
from __future__ import annotations


from flask import Blueprint, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf.csrf import CSRFError

from bot import escalations, tickets
from bot.escalations import PRIORITY_RANK
from db.models import Escalation, User
from web import audit, present, queries, words
from web.auth import role_required
from web.context import db, is_supervisor, me, now
from web.params import db_int, safe_next

bp = Blueprint("inbox", __name__)

NAV = (("Caseload", "caseload.mine", "peer"), ("People", "roster.index", "peer"),
       ("Enroll", "roster.new", "peer"), ("Sandbox phone", "sandbox.phone", "peer"),
       ("Canned replies", "canned.index", "supervisor"),
       ("Audit log", "audit.log", "supervisor"),
       ("My numbers", "admin_report.mine", "peer"),
       ("Console", "admin.index", "supervisor"), ("Report", "admin_report.index", "supervisor"))


@bp.app_context_processor
def _nav():
    def nav_links():
        if not current_user.is_authenticated:
            return []
        return [(label, ep) for label, ep, role in NAV
                if current_user.has_role(role) and ep in current_app.view_functions]
    def alert_sound_on() -> bool:
        """As read with the signed-in account for this request (web/auth.py)."""
        return bool(getattr(current_user, "alert_sound", False))
    return {"nav_links": nav_links, "alert_sound_on": alert_sound_on}


for _name in ("duration", "masked", "release_label"):
    bp.add_app_template_filter(getattr(present, _name), _name)


STAFF_BLUEPRINTS = {"inbox", "people", "roster", "caseload", "canned", "audit"}


@bp.after_app_request
def _no_store(response):
    """Health information must not linger in a shared computer's browser cache."""
    if request.blueprint in STAFF_BLUEPRINTS:
        response.headers["Cache-Control"] = "no-store"
    return response


@bp.app_errorhandler(403)
def _forbidden(_):
    return render_template("error.html", title="Not for your role",
                           text="This page is for supervisors. If you need something from it, "
                                "ask your supervisor."), 403


@bp.app_errorhandler(CSRFError)
def _csrf(_):
    return render_template("error.html", title="That form expired",
                           text="The page was open too long or came from somewhere else. Go back, reload it "
                                "and try again."), 400


def _args() -> tuple[str, int, queries.Filters]:
    view = request.args.get("view", "all")
    f = queries.Filters(reason=request.args.get("reason", "") if request.args.get("reason", "") in words.REASONS else "",
                        priority=request.args.get("priority", "") if request.args.get("priority", "") in PRIORITY_RANK
                        else "",
                        language=request.args.get("language", "") if request.args.get("language", "") in words.LANGUAGES
                        else "")
    return (view if view in queries.VIEWS else "all"), max(request.args.get("page", 1, type=db_int) or 1, 1), f


def program_tz() -> str:
    return current_app.config["PROGRAM_TIMEZONE"]


def _page_data(view: str, page: int, filters: queries.Filters) -> dict:
    at = now()
    with db().autocommit() as conn:   # reads only: no ORM session, no BEGIN/COMMIT
        off = escalations.off_shift_ids(conn, at, program_tz())
        rows = queries.queue_page(conn, view, me(), page, now=at, filters=filters, off_shift=off)
        counts = queries.queue_counts(conn, me(), now=at, filters=filters, off_shift=off)
        later = queries.snoozed(conn, at)
    return {"rows": present.queue_cells(rows, at), "counts": counts, "view": view, "page": page, "now": at,
            "filters": filters, "off_shift": set(off), "snoozed": later, "words": words,
            "local_time": present.local_time, "program_tz": program_tz(),
            "pages": max(1, -(-counts[view] // queries.PER_PAGE))}


@bp.get("/inbox")
@role_required("peer")
def queue():
    view, page, filters = _args()
    poll = current_app.config.get("INBOX_POLL_SECONDS", 10)
    search = " ".join(request.args.get("q", "").split())[:80]
    found = None
    if search:
        with db().session() as s:
            found = queries.find_people(s, search)
            audit.record(s, me(), "search_people", now(), None, results=len(found))
    return render_template("queue.html", poll=poll, search=search, found=found, **_page_data(view, page, filters))


@bp.get("/inbox/rows")
@role_required("peer")
def rows():
    """The queue body alone, for the page's polling script."""
    view, page, filters = _args()
    return render_template("_queue_rows.html", **_page_data(view, page, filters))


@bp.get("/inbox/updates")
@role_required("peer")
def updates():
    """What every staff page polls: urgent tickets nobody has answered (for the banner, the tab
    title, the sound and the notification) and, for supervisors on shift, urgent tickets past
    their SLA with nobody on them. Reasons only, never what anyone wrote."""
    at = now()
    with db().autocommit() as conn:
        count, urgent = queries.urgent_waiting(conn, at)
    overdue = []
    if is_supervisor():
        with db().session() as s:
            if any(u.id == me() for u in escalations.supervisors_on_shift(s, at, program_tz())):
                overdue = escalations.overdue_unclaimed(s, at, escalations.off_shift_ids(s, at, program_tz()))
    sound = bool(getattr(current_user, "alert_sound", False))
    item = lambda a: {"id": a.id, "reason": words.reason(a.reason),  # noqa: E731
                      "url": url_for("people.show", person_id=a.participant_id)}
    return jsonify(urgent=count, tickets=[item(a) for a in urgent], overdue=[item(a) for a in overdue],
                   sound=sound, poll=current_app.config.get("INBOX_POLL_SECONDS", 10))


@bp.post("/inbox/preferences")
@role_required("peer")
def preferences():
    with db().session() as s:
        user = s.get(User, me())
        user.alert_sound = request.form.get("alert_sound") == "1"
        on = user.alert_sound
    flash("The alert sound is on." if on else "The alert sound is off. The banner and the tab title still show "
          "urgent tickets.", "info")
    return _back()


def _back():
    return redirect(safe_next(request.form.get("next", "")) or url_for("inbox.queue"))


@bp.post("/inbox/<int:ticket_id>/claim")
@role_required("peer")
def claim(ticket_id: int):
    expected = request.form.get("expected", "")
    expected = expected if expected.isdigit() and len(expected) < 10 else ""
    try:
        with db().session() as s:
            tickets.claim(s, ticket_id, me(), int(expected) if expected.isdigit() else None, now())
            person_id = s.get(Escalation, ticket_id).participant_id
            audit.record(s, me(), "claim", now(), person_id, ticket_id=ticket_id,
                         took_over_from=int(expected) if expected.isdigit() else None)
        flash("Claimed. It is yours now.", "info")
    except tickets.TicketConflict as exc:
        flash(str(exc), "warning")
    return _back()


@bp.post("/inbox/<int:ticket_id>/release")
@role_required("peer")
def release(ticket_id: int):
    try:
        with db().session() as s:
            tickets.release(s, ticket_id, me(), is_supervisor())
            person_id = s.get(Escalation, ticket_id).participant_id
            audit.record(s, me(), "release", now(), person_id, ticket_id=ticket_id)
        flash("Released back to the queue.", "info")
    except tickets.TicketConflict as exc:
        flash(str(exc), "warning")
    return _back()


@bp.post("/inbox/<int:ticket_id>/snooze")
@role_required("peer")
def snooze(ticket_id: int):
    """"Follow up at 3pm": the time is read in the program's time zone, today or, once it has
    passed, tomorrow; "in 1 h" style presets are offsets from now."""
    at = now()
    try:
        until = present.snooze_time(request.form.get("at", ""), request.form.get("preset", ""), at, program_tz())
    except ValueError as exc:
        flash(str(exc), "error")
        return _back()
    try:
        with db().session() as s:
            ticket = tickets.snooze(s, ticket_id, until, at)
            audit.record(s, me(), "snooze", at, ticket.participant_id, ticket_id=ticket_id,
                         until=until.isoformat())
    except tickets.TicketConflict as exc:
        flash(str(exc), "warning")
        return _back()
    flash(f"Snoozed until {present.local_time(until, program_tz())}. It comes back then, or sooner if they write.",
          "info")
    return redirect(url_for("inbox.queue"))


@bp.post("/inbox/<int:ticket_id>/wake")
@role_required("peer")
def wake(ticket_id: int):
    with db().session() as s:
        ticket = s.get(Escalation, ticket_id)
        if ticket is not None and ticket.status == "open":
            ticket.snoozed_until = None
            audit.record(s, me(), "wake", now(), ticket.participant_id, ticket_id=ticket_id)
    flash("Back in the queue.", "info")
    return _back()
