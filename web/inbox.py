"""The queue at /inbox: open tickets, most urgent first, then by SLA due time.

The page is complete without JavaScript (a noscript refresh and a link); with it, a few lines
poll /inbox/rows for the same server-rendered rows every few seconds, so there is one template
and one escaping rule for both. Claims are conditional (see bot/tickets.py).
"""
from __future__ import annotations


from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf.csrf import CSRFError

from bot import tickets
from db.models import Escalation
from web import audit, present, queries
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
    return {"nav_links": nav_links}


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


def _args() -> tuple[str, int]:
    view = request.args.get("view", "all")
    return (view if view in queries.VIEWS else "all"), max(request.args.get("page", 1, type=db_int) or 1, 1)


def _page_data(view: str, page: int) -> dict:
    with db().session() as s:
        rows = queries.queue_page(s, view, me(), page)
        counts = queries.queue_counts(s, me())
    return {"rows": rows, "counts": counts, "view": view, "page": page, "now": now(),
            "pages": max(1, -(-counts[view] // queries.PER_PAGE)), "sla_text": present.sla_text}


@bp.get("/inbox")
@role_required("peer")
def queue():
    view, page = _args()
    poll = current_app.config.get("INBOX_POLL_SECONDS", 10)
    return render_template("queue.html", poll=poll, **_page_data(view, page))


@bp.get("/inbox/rows")
@role_required("peer")
def rows():
    """The queue body alone, for the page's polling script."""
    view, page = _args()
    return render_template("_queue_rows.html", **_page_data(view, page))


def _back():
    return redirect(safe_next(request.form.get("next", "")) or url_for("inbox.queue"))


@bp.post("/inbox/<int:ticket_id>/claim")
@role_required("peer")
def claim(ticket_id: int):
    expected = request.form.get("expected", "")
    expected = expected if expected.isdigit() and len(expected) < 10 else ""
    try:
        with db().session() as s:
            tickets.claim(s, ticket_id, me(), int(expected) if expected.isdigit() else None)
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
