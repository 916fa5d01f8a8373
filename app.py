"""Homeward's entry point: `create_app()` wires configuration, the database, the runtime,
blueprints and CLI commands. No logic lives here."""
from __future__ import annotations

import contextlib
import logging
import threading
import uuid
import weakref
from datetime import timedelta

from flask import Flask, g, request
from werkzeug.middleware.proxy_fix import ProxyFix

import config as config_module
import logs
from core import messages, places, safety, textmodel, understand
from bot.channels.sender import sender_from_config
from bot.flow_store import FlowStore
from bot.model_store import FileStore
from core.flows import answers
from core.flows.registry import load_registry
from bot.runtime import Program, Runtime
from bot.site_store import Locator
from db.session import Database
from web import headers, params, sessions
from scheduler.nudge_settings import LiveSchedule
from core.policy import load_schedule


class HomewardFlask(Flask):
    """Flask, whose `ensure_sync` (called for every hook and view of every request, Flask's
    documented place to change how functions are run) remembers the plain functions it was
    given instead of asking `inspect.iscoroutinefunction` each time; anything else goes to
    Flask's, as before."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._plain_functions: weakref.WeakSet = weakref.WeakSet()

    def ensure_sync(self, func):
        if func in self._plain_functions:
            return func
        wrapped = super().ensure_sync(func)
        if wrapped is func:
            with contextlib.suppress(TypeError):     # not weakly referable: asked each time
                self._plain_functions.add(func)
        return wrapped


def create_app(config: dict | None = None) -> Flask:
    app = HomewardFlask(__name__, static_folder="web/static", template_folder="web/templates")
    app.session_interface = sessions.CookieSessionInterface()   # no cookie: no serializer built
    app.config.update(config_module.from_env())
    if config:
        app.config.update(config)
    logs.setup(app.config["LOG_LEVEL"])
    if app.config["PROXY_HOPS"]:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=app.config["PROXY_HOPS"],
                                x_proto=app.config["PROXY_HOPS"], x_host=app.config["PROXY_HOPS"])
    app.config.update(SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax",
                      PERMANENT_SESSION_LIFETIME=timedelta(hours=app.config.get("SESSION_MAX_HOURS", 12)))

    db = Database(app.config["DATABASE_URL"])
    program = Program(name=app.config["PROGRAM_NAME"], timezone=app.config["PROGRAM_TIMEZONE"])
    app.extensions["homeward.db"] = db
    # Refuse to start with an invalid flow, schedule, intent, answer or safety file: every
    # problem is raised with its file and line (_refuse_content prints them cleanly at a terminal).
    if app.config.get("MODEL_CACHE_DIR"):
        textmodel.use_store(FileStore(app.config["MODEL_CACHE_DIR"]))
    with _refuse_content():
        load_registry(app.config["FLOWS_DIR"], check=True)
        # The understanding model (intents, entities, Q&A answers): trained once per process
        # here, never in a webhook; then the safety model, which learns from the same examples.
        understand.default_model()
        safety.warm()
    flow_store = FlowStore(app.config["FLOWS_DIR"])
    app.extensions["homeward.flows"] = flow_store
    # The schedule in force: a supervisor's edit (/admin/nudges) or the shipped file, re-read
    # when it changes. A broken shipped file stops the start here, like a broken flow.
    with _refuse_content():
        load_schedule()
    schedule = LiveSchedule(db)
    app.extensions["homeward.schedule"] = schedule
    app.extensions["homeward.locator"] = Locator(db)
    app.extensions["homeward.runtime"] = Runtime(db, program, flow_store, app.extensions["homeward.locator"],
                                                 schedule=schedule)
    app.extensions["homeward.sender"] = sender_from_config(app.config)

    # Word lists and texts every message needs: parsed once here, before the first request.
    messages.catalogue()
    answers.warm()          # dateparser's en/es data (~0.3 s once), not in a texter's first answer
    if not app.config.get("TESTING"):
        # The ZIP/city index and the published flows take a second or two: not on a texter's time.
        threading.Thread(target=_warm, args=(db, flow_store), name="warm", daemon=True).start()
    _request_ids(app)
    params.register(app)     # before the blueprints: every <int:…> id is bounded
    headers.register(app)
    _blueprints(app)
    _cli(app)
    return app


@contextlib.contextmanager
def _refuse_content():
    """Broken content stops the start. Under the `flask` command (a click context exists) the
    problems are shown as Flask's own "Error:" lines, file:line: message, not as a traceback; a
    server or a test gets the exception itself."""
    from core.flows.registry import FlowError
    from core.intents import IntentError
    from core.policy import ScheduleError
    try:
        yield
    except (FlowError, IntentError, ScheduleError, ValueError) as exc:
        import click
        if click.get_current_context(silent=True) is None:
            raise
        from flask.cli import NoAppException
        raise NoAppException("Homeward will not start until these are fixed:\n" + str(exc)) from None


def _warm(db: Database, flow_store: FlowStore) -> None:
    """Build the offline ZIP/city index (~1-2 s) and parse the published flows now, in the
    background, rather than inside the first texters' webhooks. A database that is not ready yet
    (say, before `db upgrade`) just leaves the flows to be read on first use."""
    places.warm()
    try:
        with db.session() as s:
            if flow_store.latest_versions(s):
                flow_store.registry(s)
    except Exception as exc:   # noqa: BLE001 - warming is an optimisation, never a failure
        logs.event(logging.getLogger("homeward.app"), "flows not warmed", logging.DEBUG, error=type(exc).__name__)


def _request_ids(app: Flask) -> None:
    @app.before_request
    def _start():
        rid = request.headers.get("X-Request-Id", "")[:64] or uuid.uuid4().hex
        g.request_id = rid
        logs.request_id.set(rid)

    @app.after_request
    def _finish(response):
        response.headers["X-Request-Id"] = g.get("request_id", "-")
        return response


def _blueprints(app: Flask) -> None:
    from bot.channels import twilio_webhook
    from bot.channels.sender import SandboxSender
    from web import account
    from web import (admin, api, api_tokens, audit, auth, canned, caseload, chat, health, inbox, people,
                     roster, sandbox, scheduled)
    from web.admin import flows, nudges, report, sites, staff as staff_pages
    auth.login_manager.init_app(app)
    auth.csrf.init_app(app)
    auth.csrf.exempt(twilio_webhook.bp)  # Twilio signs its requests; it cannot send our token
    auth.csrf.exempt(api.bp)             # bearer tokens, no cookies: nothing for a forged form to ride on
    public = (health, twilio_webhook, api, chat)                      # /healthz, /twilio/*, /api/v1, /chat
    staff = (auth, account, inbox, people, roster, caseload, canned, audit, scheduled)
    console = (admin, flows, nudges, sites, staff_pages, report, api_tokens)  # /admin
    for part in public + staff + console:
        app.register_blueprint(part.bp)
    if sandbox.enabled(app.config, isinstance(app.extensions["homeward.sender"], SandboxSender)):
        app.register_blueprint(sandbox.bp)   # no Twilio (or SANDBOX_ENABLED): staff text the bot from the browser


def _cli(app: Flask) -> None:
    from cli import chat, db_commands, demo, flows, participants, sites, users, worker
    app.cli.add_command(db_commands.db_group)
    app.cli.add_command(users.users_group)
    app.cli.add_command(demo.demo_group)
    app.cli.add_command(worker.worker_command)
    app.cli.add_command(flows.flows_group)
    app.cli.add_command(chat.chat_command)
    app.cli.add_command(participants.participants_group)
    app.cli.add_command(participants.nudges_group)
    from cli import tokens
    app.cli.add_command(tokens.tokens_group)
    app.cli.add_command(sites.sites_group)
