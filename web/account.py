"""A staff member's own account: changing their password. The change ends every other session
of the account (a laptop left signed in, a copied cookie); this one goes on."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_login import login_required
from flask_wtf import FlaskForm
from werkzeug.security import check_password_hash, generate_password_hash
from wtforms import PasswordField
from wtforms.validators import DataRequired, EqualTo

from db.models import User
from web import audit, passwords
from web.auth import end_all_sessions, start_session
from web.context import db, me, now

bp = Blueprint("account", __name__, url_prefix="/account")


class OwnPasswordForm(FlaskForm):
    current = PasswordField("Current password", validators=[DataRequired()])
    new = PasswordField("New password", validators=[DataRequired()])
    again = PasswordField("New password again", validators=[DataRequired(), EqualTo("new", "The two new passwords differ.")])


@bp.route("/password", methods=["GET", "POST"])
@login_required
def password():
    form = OwnPasswordForm()
    if not form.validate_on_submit():
        return render_template("account_password.html", form=form), 422 if form.is_submitted() else 200
    with db().session() as s:
        user = s.get(User, me())
        if not check_password_hash(user.password_hash, form.current.data):
            form.current.errors.append("That is not your current password.")
            return render_template("account_password.html", form=form), 422
        problem = passwords.problem(form.new.data, user.email, user.name)
        if problem:
            form.new.errors.append(problem)
            return render_template("account_password.html", form=form), 422
        user.password_hash = generate_password_hash(form.new.data)
        user.session_version = end_all_sessions(s, user.id)
        audit.record(s, me(), "password_changed", now(), None)
        s.flush()
        s.expunge(user)
    start_session(user, now())                 # this session, on the new version
    flash("Password changed. You are signed out everywhere else.", "info")
    return redirect(url_for("inbox.queue"))
