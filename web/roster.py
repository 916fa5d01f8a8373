"""People: find, enroll, edit, pause or resume nudges, and merge two records into one.

Validation is bot/enrollment.py's and every change is bot/participants.py's (which replans the
person's nudges), shared with the CLI, the API and the runtime. Finding someone by phone is a
POST, so a number never lands in a URL, a proxy log or the browser history.
"""
from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for

from bot import enrollment, merging, participants
from bot.channels.addresses import BadAddress, e164
from db.models import Participant
from web import audit, present, queries
from web.auth import role_required
from web.context import db, me, now, schedule
from web.params import db_int

bp = Blueprint("roster", __name__)
STATUSES = ("prospect", "active", "paused", "completed", "merged")


def program_today(at):
    """Today in the program's time zone: a release date "today" means the program's today."""
    from zoneinfo import ZoneInfo
    return at.astimezone(ZoneInfo(current_app.config["PROGRAM_TIMEZONE"])).date()


def suggested_zones() -> list[str]:
    """The form's datalist; any zoneinfo name is accepted."""
    return sorted(z for z in enrollment.timezones() if z.startswith(("America/", "Pacific/Honolulu")))


@bp.get("/people")
@role_required("peer")
def index():
    q, status = request.args.get("q", ""), request.args.get("status", "")
    page = max(request.args.get("page", 1, type=db_int) or 1, 1)
    with db().session() as s:
        rows = queries.search_people(s, q, status if status in STATUSES else None, page)
    return render_template("people.html", rows=rows, q=q, status=status, statuses=STATUSES, page=page,
                           per_page=queries.PER_PAGE, now=now(), day=present.day_since_release)


@bp.post("/people/find")
@role_required("peer")
def find():
    """One search box: a phone number opens that person's page; anything else (a name, #id or
    external id) becomes an ordinary GET search. A number never reaches a URL either way."""
    text = request.form.get("q", "").strip()
    if sum(ch.isdigit() for ch in text) >= 7:
        try:
            number = e164(text)
        except BadAddress:
            flash("That looks like a phone number but isn't a valid one.", "error")
            return redirect(url_for("roster.index"))
        with db().session() as s:
            person_id = queries.person_by_phone(s, number)
        if person_id is None:
            flash("Nobody has that number yet. You can enroll them.", "info")
            return redirect(url_for("roster.new"))
        return redirect(url_for("people.show", person_id=person_id))
    return redirect(url_for("roster.index", q=text or None, status=request.form.get("status") or None))


def _form(template: str, values: dict, errors: dict, status: int = 200, person=None):
    with db().session() as s:
        staff = queries.staff_who_carry_a_caseload(s)
    return render_template(template, v=values, errors=errors, staff=staff, person=person,
                           languages=enrollment.LANGUAGES, consent_channels=enrollment.CONSENT_CHANNELS,
                           zones=suggested_zones()), status


@bp.route("/people/new", methods=["GET", "POST"])
@role_required("peer")
def new():
    if request.method == "GET":
        defaults = {"peer_id": str(me()), "language": "en", "consent_channel": "in_person"}
        return _form("person_form.html", defaults, {})
    at = now()
    clean, errors = enrollment.validate(request.form, program_today(at), new=True,
                                        default_tz=current_app.config["PROGRAM_TIMEZONE"])
    if clean is None:
        return _form("person_form.html", request.form, errors, 422)
    try:
        with db().session() as s:
            done = participants.enroll(s, clean, at, schedule())
            audit.record(s, me(), "enroll", at, done.person.id, via="web", **done.detail)
            person_id = done.person.id
    except enrollment.EnrollmentError as exc:
        return _form("person_form.html", request.form, {exc.field: exc.message}, 409)
    flash(f"Enrolled; {done.planned} check-ins planned." if done.planned else
          "Enrolled. No check-ins are planned (the release date is past the program's window).", "info")
    return redirect(url_for("people.show", person_id=person_id))


def _person_values(p: Participant) -> dict:
    return {"first_name": p.first_name or "", "language": p.language, "timezone": p.timezone,
            "checkin_time": p.checkin_time or "",
            "release_date": p.release_date.isoformat() if p.release_date else "",
            "peer_id": str(p.assigned_peer_id or ""), "external_id": p.external_id or ""}


@bp.route("/people/<int:person_id>/edit", methods=["GET", "POST"])
@role_required("peer")
def edit(person_id: int):
    at = now()
    with db().session() as s:
        person = s.get(Participant, person_id)
        if person is None or person.status == "merged":
            abort(404)
        if request.method == "GET":
            audit.record(s, me(), "view_person", at, person_id, page="edit")
            values = _person_values(person)
    if request.method == "GET":
        return _form("person_form.html", values, {}, person=person)
    clean, errors = enrollment.validate(request.form, program_today(at), new=False, default_tz=person.timezone)
    if clean is None:
        return _form("person_form.html", request.form, errors, 422, person=person)
    try:
        with db().session() as s:
            done = participants.edit(s, s.get(Participant, person_id), clean, at, schedule())
            changes = done.detail["changes"]
            if changes:
                audit.record(s, me(), "edit_person", at, person_id, **done.detail)
    except enrollment.EnrollmentError as exc:
        return _form("person_form.html", request.form, {exc.field: exc.message}, 409, person=person)
    flash("Saved." if changes else "Nothing changed.", "info")
    return redirect(url_for("people.show", person_id=person_id))


@bp.post("/people/<int:person_id>/pause")
@role_required("peer")
def pause(person_id: int):
    return _pause_or_resume(person_id, resume=False)


@bp.post("/people/<int:person_id>/resume")
@role_required("peer")
def resume(person_id: int):
    return _pause_or_resume(person_id, resume=True)


def _pause_or_resume(person_id: int, resume: bool):
    at = now()
    with db().session() as s:
        person = s.get(Participant, person_id)
        if person is None:
            abort(404)
        try:
            done = (participants.resume if resume else participants.pause)(s, person, at, schedule())
        except enrollment.EnrollmentError as exc:
            flash(exc.message, "warning")
            return redirect(url_for("people.show", person_id=person_id))
        audit.record(s, me(), done.action, at, person_id, **done.detail)
    flash(f"Nudges resumed ({done.planned} still ahead)." if resume else f"Nudges paused ({done.planned} held).",
          "info")
    return redirect(url_for("people.show", person_id=person_id))


@bp.post("/people/<int:person_id>/merge")
@role_required("peer")
def merge(person_id: int):
    """Merge another record (given by #id or phone number) into this one."""
    other_ref = request.form.get("other", "").strip()
    if request.form.get("confirm") != "1":
        flash("Tick the box to confirm these are the same person.", "error")
        return redirect(url_for("people.show", person_id=person_id) + "#merge")
    at = now()
    try:
        with db().session(write=True) as s:
            other_id = _resolve_ref(s, other_ref)
            keep, other = s.get(Participant, person_id), s.get(Participant, other_id) if other_id else None
            if keep is None or other is None:
                raise merging.MergeError("No record matches that id or number.")
            done = participants.merge(s, keep, other, at, schedule())
            audit.record(s, me(), "merge", at, keep.id, **done.detail)
            audit.record(s, me(), "merged_into", at, other.id, into_id=keep.id)
    except merging.MergeError as exc:
        flash(str(exc), "error")
        return redirect(url_for("people.show", person_id=person_id) + "#merge")
    flash(f"Merged record #{other_id} into this one.", "info")
    return redirect(url_for("people.show", person_id=person_id))


def _resolve_ref(s, ref: str) -> int | None:
    if ref.lstrip("#").isdigit() and len(ref.lstrip("#")) < 9:
        return int(ref.lstrip("#"))
    try:
        return queries.person_by_phone(s, e164(ref))
    except BadAddress:
        return None
