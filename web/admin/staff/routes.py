"""Staff accounts and program settings (/admin/staff, /admin/settings), for supervisors.

Accounts: create (a password is generated and shown once, never stored in the clear or put in
a cookie), deactivate (their open tickets go back to the queue, their sessions end at the next
request), roles, shifts and capacity (what auto-assignment reads, bot/escalations.py). Only an
admin may make or change an admin, and nobody can deactivate or demote themselves, so a program
cannot lock itself out. Settings are the `settings` rows named in web/program_settings.py.
Every change is audited.
"""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_login import current_user
from sqlalchemy import func, select, update
from werkzeug.security import generate_password_hash

from bot.escalations import DEFAULT_SLA_MINUTES
from core.sms import count_segments
from db.models import Escalation, User
from web import audit, passwords, program_settings
from web.auth import ROLE_LEVEL, end_all_sessions, role_required
from web.context import db, me, now
from web.admin.staff import bp
from web.admin.staff.forms import DAYS, PasswordForm, ROLES, SettingsForm, StaffForm, format_day, shift_summary


@bp.after_request
def _no_store(response):
    response.headers["Cache-Control"] = "no-store"
    return response


# -- staff ---------------------------------------------------------------------------------------

def _may_manage(role: str) -> bool:
    """A supervisor manages peers and supervisors; only an admin manages admins."""
    return ROLE_LEVEL.get(role, 0) <= ROLE_LEVEL.get(current_user.role, 0)


def _staff_page(form: StaffForm, status: int = 200, password: tuple[str, str] | None = None):
    with db().session() as s:
        load = dict(s.execute(select(Escalation.assignee_id, func.count()).where(
            Escalation.status == "open", Escalation.assignee_id.is_not(None)).group_by(Escalation.assignee_id)).all())
        users = list(s.scalars(select(User).order_by(User.active.desc(), User.name)))
    return render_template("admin/staff.html", users=users, load=load, form=form, summary=shift_summary,
                           password=password, roles=[r for r in ROLES if _may_manage(r[0])]), status


@bp.get("/staff")
@role_required("supervisor")
def staff():
    return _staff_page(StaffForm())


@bp.post("/staff")
@role_required("supervisor")
def create():
    form = StaffForm()
    if not form.validate_on_submit():
        return _staff_page(form, 422)
    if not _may_manage(form.role.data):
        abort(403)
    email = form.email.data.strip().lower()
    password = passwords.generate()
    with db().session() as s:
        if s.scalar(select(User.id).where(func.lower(User.email) == email)):
            form.email.errors.append("There is already an account with this email.")
            return _staff_page(form, 422)
        user = User(email=email, name=form.name.data.strip(), role=form.role.data, active=True,
                    capacity=form.capacity.data if form.capacity.data is not None else 25,
                    shift=form.shift(), phone=form.phone.data, password_hash=generate_password_hash(password), created_at=now())
        s.add(user)
        s.flush()
        audit.record(s, me(), "staff_create", now(), None, staff_id=user.id, role=user.role)
    return _staff_page(StaffForm(formdata=None), password=(email, password))


def _edit_page(user: User, form: StaffForm, status: int = 200, password: str | None = None):
    return render_template("admin/staff_edit.html", user=user, form=form, password=password, days=DAYS,
                           roles=[r for r in ROLES if _may_manage(r[0])], pw_form=PasswordForm(),
                           myself=user.id == me()), status


def _editable(s, user_id: int) -> User:
    user = s.get(User, user_id)
    if user is None:
        abort(404)
    if not _may_manage(user.role):
        abort(403)
    return user


@bp.get("/staff/<int:user_id>")
@role_required("supervisor")
def edit(user_id: int):
    with db().session() as s:
        user = _editable(s, user_id)
        form = StaffForm(obj=user)
        for d in DAYS:
            getattr(form, d).data = format_day((user.shift or {}).get(d))
        return _edit_page(user, form)


@bp.post("/staff/<int:user_id>")
@role_required("supervisor")
def update_user(user_id: int):
    form = StaffForm()
    at = now()
    with db().session() as s:
        user = _editable(s, user_id)
        form.email.data = user.email           # the email is the sign-in name: not changed here
        if not form.validate_on_submit():
            return _edit_page(user, form, 422)
        if not _may_manage(form.role.data):
            abort(403)
        if user.id == me() and (form.role.data != user.role or not form.active.data):
            flash("You cannot change your own role or deactivate yourself; ask another supervisor.", "error")
            return _edit_page(user, form, 422)
        before = {"name": user.name, "role": user.role, "capacity": user.capacity, "active": user.active,
                  "shift": user.shift, "phone": user.phone}
        user.name, user.role = form.name.data.strip(), form.role.data
        user.capacity = form.capacity.data if form.capacity.data is not None else user.capacity
        user.active, user.shift, user.phone = bool(form.active.data), form.shift(), form.phone.data
        changed = sorted(k for k, v in before.items() if getattr(user, k) != v)
        released = 0
        if before["active"] and not user.active:
            released = s.execute(update(Escalation).where(Escalation.assignee_id == user.id,
                                                          Escalation.status == "open")
                                 .values(assignee_id=None)).rowcount
            audit.record(s, me(), "staff_deactivate", at, None, staff_id=user.id, tickets_released=released)
        elif not before["active"] and user.active:
            audit.record(s, me(), "staff_reactivate", at, None, staff_id=user.id)
        if changed:
            audit.record(s, me(), "staff_edit", at, None, staff_id=user.id, changed=changed,
                         **({"role": f"{before['role']}->{user.role}"} if "role" in changed else {}))
        name = user.name
    if released:
        flash(f"{name} is deactivated; their {released} open ticket{'s' if released != 1 else ''} "
              "went back to the queue.", "info")
    else:
        flash(f"Saved {name}." if changed else "Nothing changed.", "info")
    return redirect(url_for(".staff"))


@bp.post("/staff/<int:user_id>/password")
@role_required("supervisor")
def reset_password(user_id: int):
    form = PasswordForm()
    if not form.validate_on_submit():
        abort(400)
    password = passwords.generate()
    with db().session() as s:
        user = _editable(s, user_id)
        user.password_hash = generate_password_hash(password)
        user.failed_logins, user.locked_until = 0, None
        end_all_sessions(s, user.id)                  # the old password's sessions end too
        s.refresh(user)
        audit.record(s, me(), "staff_password_reset", now(), None, staff_id=user.id)
        form = StaffForm(obj=user)
        for d in DAYS:
            getattr(form, d).data = format_day((user.shift or {}).get(d))
        return _edit_page(user, form, password=password)


# -- settings ------------------------------------------------------------------------------------

def _current_settings(s) -> dict:
    sla = program_settings.sla_minutes(s)
    contact, coverage = program_settings.contact_line(s), program_settings.coverage_hours(s)
    return {"program_name": program_settings.program_name(s),
            "contact_en": contact["en"], "contact_es": contact["es"],
            "coverage_en": coverage["en"], "coverage_es": coverage["es"],
            "sla_urgent": sla["urgent"], "sla_high": sla["high"], "sla_normal": sla["normal"],
            "sender_rate": program_settings.sender_rate(s), "sender_daily_cap": program_settings.sender_daily_cap(s)}


def _settings_page(form: SettingsForm, status: int = 200):
    counts = {k: count_segments(getattr(form, k).data or "").describe() for k in ("contact_en", "contact_es")}
    return render_template("admin/settings.html", form=form, counts=counts, defaults=DEFAULT_SLA_MINUTES), status


@bp.get("/settings")
@role_required("supervisor")
def settings():
    with db().session() as s:
        return _settings_page(SettingsForm(data=_current_settings(s)))


@bp.post("/settings")
@role_required("supervisor")
def save_settings():
    form = SettingsForm()
    if not form.validate_on_submit():
        flash("Not saved: please fix the marked fields.", "error")
        return _settings_page(form, 422)
    values = {
        "program_name": form.program_name.data.strip(),
        "contact_line": {"en": (form.contact_en.data or "").strip(), "es": (form.contact_es.data or "").strip()},
        "coverage_hours": {"en": form.coverage_en.data.strip(), "es": form.coverage_es.data.strip()},
        "sla_minutes": {"urgent": form.sla_urgent.data, "high": form.sla_high.data, "normal": form.sla_normal.data},
        "sender_rate_per_second": float(form.sender_rate.data),
        "sender_daily_cap": form.sender_daily_cap.data,
    }
    with db().session() as s:
        before = _current_settings(s)
        old = {"program_name": before["program_name"],
               "contact_line": {"en": before["contact_en"], "es": before["contact_es"]},
               "coverage_hours": {"en": before["coverage_en"], "es": before["coverage_es"]},
               "sla_minutes": {k: before[f"sla_{k}"] for k in ("urgent", "high", "normal")},
               "sender_rate_per_second": before["sender_rate"], "sender_daily_cap": before["sender_daily_cap"]}
        changed = sorted(k for k, v in values.items() if old[k] != v)
        for key in changed:
            program_settings.put(s, key, values[key])
        if changed:
            audit.record(s, me(), "settings_change", now(), None, changed=changed,
                         **{k: values[k] for k in changed if k in ("sla_minutes", "sender_rate_per_second",
                                                                   "sender_daily_cap")},
                         before={k: old[k] for k in changed}, after={k: values[k] for k in changed})
    flash("Saved: " + ", ".join(k.replace("_", " ") for k in changed) + "." if changed else "Nothing changed.", "info")
    return redirect(url_for(".settings"))
