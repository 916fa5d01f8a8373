"""Staff sign-in: Flask-Login sessions, hashed passwords, throttled attempts, roles.

After five failed attempts an account is locked for fifteen minutes, and each address is held
to a few attempts a minute, so a password cannot be guessed online. Sign-ins, failures and
sign-outs go to the audit trail. `csrf` guards every form in the app (Twilio's webhook is exempt:
it is signature-verified instead).
"""
from __future__ import annotations

import hashlib
from datetime import datetime, timedelta, timezone
from functools import wraps

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import LoginManager, UserMixin, current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import delete, func, select, text, update
from werkzeug.security import check_password_hash
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired

from db.models import AuditEvent, RateHit, User
from web import params, ratelimit

bp = Blueprint("auth", __name__, template_folder="templates")  # web/templates, for every page
login_manager = LoginManager()
csrf = CSRFProtect()
login_manager.login_view = "auth.login"
login_manager.login_message = "Please sign in to see that page."

MAX_FAILURES, LOCK_MINUTES = 5, 15
FAILED_PER_ADDRESS = ratelimit.Limit.per_minute(10)
ROLE_LEVEL = {"peer": 1, "supervisor": 2, "admin": 3}


class StaffUser(UserMixin):
    """What a request knows about the signed-in account (detached from any DB session)."""

    def __init__(self, user: User):
        self.id, self.email, self.name, self.role = user.id, user.email, user.name, user.role

    def has_role(self, role: str) -> bool:
        return ROLE_LEVEL.get(self.role, 0) >= ROLE_LEVEL[role]


@login_manager.user_loader
def load_user(user_id: str):
    db = current_app.extensions["homeward.db"]
    with db.session() as s:
        user = s.get(User, int(user_id))
        return StaffUser(user) if user is not None and user.active else None


def role_required(role: str):
    """Peers see the inbox; supervisors and admins also see /admin."""
    def decorator(view):
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if not current_user.has_role(role):
                abort(403)
            return view(*args, **kwargs)
        return wrapped
    return decorator


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired()])
    password = PasswordField("Password", validators=[DataRequired()])


def _address_key() -> str:
    return "login:ip:" + ratelimit.client_key(current_app.config["SECRET_KEY"], request.remote_addr)


def _count_attempt(db, key: str, now: datetime) -> bool:
    """Count this attempt before any password is checked; False when the address is over its
    limit. Counting first, one attempt at a time per address (PostgreSQL: an advisory lock on the
    key; SQLite: its writer lock, held only for this short transaction, never during the slow
    password hash), means attempts sent in parallel cannot all slip under the limit."""
    with db.session(write=True) as s:
        if not db.is_sqlite:
            lock_id = int(hashlib.sha256(key.encode()).hexdigest()[:15], 16)
            s.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": lock_id})
        return ratelimit.hit(s, key, FAILED_PER_ADDRESS, now) is None


def _forgive_attempt(s, key: str) -> None:
    """A success does not count, so a busy shared office is never locked out by its own staff."""
    newest = s.scalar(select(func.max(RateHit.id)).where(RateHit.key == key))
    if newest is not None:
        s.execute(delete(RateHit).where(RateHit.id == newest))


def _account_failed(s, user: User, now: datetime) -> None:
    """One more failure on the account, counted in the database (parallel attempts each count),
    locking it for a while at MAX_FAILURES."""
    n = s.execute(update(User).where(User.id == user.id).values(failed_logins=User.failed_logins + 1)
                  .returning(User.failed_logins).execution_options(synchronize_session=False)).scalar()
    if n >= MAX_FAILURES:
        s.execute(update(User).where(User.id == user.id)
                  .values(locked_until=now + timedelta(minutes=LOCK_MINUTES), failed_logins=0)
                  .execution_options(synchronize_session=False))


def _safe_next(target: str | None) -> str:
    return params.safe_next(target) or url_for("inbox.queue")


@bp.route("/login", methods=["GET", "POST"])
def login():
    form = LoginForm()
    if form.validate_on_submit():
        db = current_app.extensions["homeward.db"]
        now, key = datetime.now(timezone.utc), _address_key()
        if not _count_attempt(db, key, now):
            flash("Too many attempts from here. Wait a minute and try again.", "error")
            return render_template("login.html", form=form), 429
        with db.session() as s:
            user = s.scalar(select(User).where(User.email == form.email.data.strip().lower()))
            if user is not None and user.locked_until and user.locked_until > now:
                flash("This account is locked for a few minutes after too many failed attempts.", "error")
                return render_template("login.html", form=form), 429
            if user is None or not user.active or not check_password_hash(user.password_hash, form.password.data):
                if user is not None:
                    s.add(AuditEvent(user_id=user.id, action="login_failed", detail={}, created_at=now))
                    _account_failed(s, user, now)
                flash("That email and password don't match an active account.", "error")
                return render_template("login.html", form=form), 401
            user.failed_logins, user.locked_until = 0, None
            s.add(AuditEvent(user_id=user.id, action="login", detail={}, created_at=now))
            _forgive_attempt(s, key)
            staff = StaffUser(user)
        login_user(staff)
        return redirect(_safe_next(request.args.get("next")))
    return render_template("login.html", form=form)


@bp.post("/logout")
@login_required
def logout():
    with current_app.extensions["homeward.db"].session() as s:
        s.add(AuditEvent(user_id=int(current_user.id), action="logout", detail={},
                         created_at=datetime.now(timezone.utc)))
    logout_user()
    flash("Signed out.", "info")
    return redirect(url_for("auth.login"))
