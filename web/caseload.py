"""My people: where each one is in the weeks after release, when we last spoke, what is next;
and handing a whole caseload to another peer for a shift change or leave.

Peers see and hand off their own caseload; supervisors can look at and move anyone's, and see
the people nobody has (every peer was full when they enrolled).
"""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for

from bot import participants, tickets
from db.models import User
from web import audit, present, queries
from web.auth import role_required
from web.context import db, is_supervisor, me, now
from web.params import db_int

bp = Blueprint("caseload", __name__)


@bp.get("/caseload")
@role_required("peer")
def mine():
    peer_id = request.args.get("peer", type=db_int) or me()
    if peer_id != me() and not is_supervisor():
        abort(403)
    at = now()
    with db().session() as s:
        peer = s.get(User, peer_id)
        if peer is None:
            abort(404)
        rows = queries.caseload(s, peer_id)
        staff = queries.staff_who_carry_a_caseload(s)
        unassigned = participants.unassigned(s) if is_supervisor() else []
        audit.record(s, me(), "view_caseload", at, None, peer_id=peer_id, people=len(rows),
                     unassigned=[p.id for p in unassigned])
        page = render_template("caseload.html", rows=rows, peer=peer, staff=staff, now=at,
                               day=present.day_since_release, local_time=present.local_time,
                               supervisor=is_supervisor(), unassigned=unassigned)
    return page


@bp.post("/caseload/handoff")
@role_required("peer")
def handoff():
    from_id = request.form.get("from_peer", type=db_int) or me()
    to_id = request.form.get("to_peer", type=db_int)
    if from_id != me() and not is_supervisor():
        abort(403)
    at = now()
    with db().session() as s:
        target = s.get(User, to_id) if to_id else None
        if target is None or not target.active or target.role not in ("peer", "supervisor") or to_id == from_id:
            flash("Choose another active peer to hand the caseload to.", "error")
            return redirect(url_for("caseload.mine", peer=from_id))
        include = request.form.get("tickets", "1") == "1"
        moved = tickets.hand_off(s, from_id, to_id, include_tickets=include)
        for person_id in moved:
            audit.record(s, me(), "handoff", at, person_id, from_peer=from_id, to_peer=to_id)
        audit.record(s, me(), "handoff_caseload", at, None, from_peer=from_id, to_peer=to_id,
                     people=len(moved), tickets=include)
        name = target.name
    flash(f"Handed {len(moved)} {'person' if len(moved) == 1 else 'people'} to {name}.", "info")
    return redirect(url_for("caseload.mine", peer=from_id))
