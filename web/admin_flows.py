"""Flows in the browser, for supervisors: edit, check, try, publish, roll back, compare.

The checker is the one `flask flows check` and publishing use (bot/flow_store.py `validate`):
its messages are shown against their lines, and a flow with an error cannot be published.
Publishing adds a numbered version; conversations already running finish on the version they
started (the runtime pins it). Rolling back publishes an older version's text as a new version:
history is never rewritten. The text being edited is kept as a draft (`flow_draft:<name>`) until
it is published or discarded. Every publish and roll-back is audited.

The simulator texts the draft through `core.conversation.decide` (web/flow_sim.py): nothing is
sent or stored; its state travels in the page, signed.
"""
from __future__ import annotations

import difflib
import re

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from core.flows.registry import FlowError
from db.models import FlowVersion, User
from web import audit, flow_sim, program_settings
from web.auth import role_required
from web.context import db, me, now
from web.params import db_int

bp = Blueprint("admin_flows", __name__, url_prefix="/admin/flows")
NEW_NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
DRAFT = "flow_draft:"
STARTER = """schema: 1
name: {name}
title: {title}
keywords:
  en: [{upper}]
  es: [{upper}]
nodes:
  hello:
    type: end
    text:
      en: "Hi from {{program}}."
      es: "Hola de parte de {{program}}."
"""


@bp.after_request
def _no_store(response):
    response.headers["Cache-Control"] = "no-store"
    return response


def _store():
    return current_app.extensions["homeward.flows"]


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.secret_key, salt="homeward.flow-simulator")


def _versions(s, name: str) -> list[dict]:
    rows = s.execute(select(FlowVersion.version, FlowVersion.published_at, FlowVersion.active, User.name)
                     .outerjoin(User, User.id == FlowVersion.published_by_id)
                     .where(FlowVersion.name == name).order_by(FlowVersion.version.desc())).all()
    return [{"version": v, "at": at, "active": active, "by": by or "system"} for v, at, active, by in rows]


def _source(s, name: str, version: int) -> str | None:
    return s.scalar(select(FlowVersion.source).where(FlowVersion.name == name, FlowVersion.version == version))


def _draft_key(name: str) -> str | None:
    key = DRAFT + name
    return key if len(key) <= 60 else None


# -- the list ------------------------------------------------------------------------------------

@bp.get("")
@role_required("supervisor")
def index():
    with db().session() as s:
        registry = _store().registry(s)          # a fresh database gets the shipped flows first
        rows = s.execute(select(FlowVersion.name, func.max(FlowVersion.version), func.count(),
                                func.max(FlowVersion.published_at))
                         .group_by(FlowVersion.name).order_by(FlowVersion.name)).all()
        titles = {n: d.title for n, d in registry.flows.items()}
        drafts = {k.removeprefix(DRAFT): v for k, v in program_settings.with_prefix(s, DRAFT).items()}
        staff = dict(s.execute(select(User.id, User.name)).all())
    flows = [{"name": n, "title": titles.get(n, ""), "latest": v, "count": c, "at": at,
              "draft": drafts.get(n), "draft_by": staff.get((drafts.get(n) or {}).get("user_id"))}
             for n, v, c, at in rows]
    flows += [{"name": n, "title": "", "latest": None, "count": 0, "at": None, "draft": d,
               "draft_by": staff.get(d.get("user_id"))}
              for n, d in sorted(drafts.items()) if n not in {f["name"] for f in flows}]
    return render_template("admin/flows.html", flows=flows)


@bp.post("/new")
@role_required("supervisor")
def new():
    name = request.form.get("name", "").strip().lower()
    if not NEW_NAME.match(name):
        flash("A flow's name is lowercase letters, digits and _, starting with a letter (40 at most).", "error")
        return redirect(url_for(".index"))
    with db().session() as s:
        if s.scalar(select(FlowVersion.id).where(FlowVersion.name == name).limit(1)):
            flash(f"There is already a flow called {name}.", "warning")
            return redirect(url_for(".edit", name=name))
        program_settings.put(s, DRAFT + name, {
            "source": STARTER.format(name=name, title=name.replace("_", " ").capitalize(), upper=name.upper()),
            "user_id": me(), "at": now().isoformat(), "base": 0})
    return redirect(url_for(".edit", name=name))


# -- the editor ----------------------------------------------------------------------------------

def _editor(s, name: str, source: str, *, sim: dict | None = None, status: int = 200, problems=None,
            base: int | None = None):
    """The editor page for `source`, checked (unless its problems are given)."""
    versions = _versions(s, name)
    latest = versions[0]["version"] if versions else 0
    if problems is None:
        _, problems = _store().validate(s, name, source)
    key = _draft_key(name)
    draft = program_settings.get(s, key) if key else None
    draft_by = s.get(User, draft.get("user_id")) if draft and draft.get("user_id") else None
    latest_source = _source(s, name, latest) if latest else ""
    problems = sorted(problems, key=lambda p: (p.line, p.severity != "error"))
    by_line: dict[int, list] = {}
    for p in problems:
        by_line.setdefault(p.line, []).append(p)
    sim = sim or flow_sim.new_sim()
    lines = source.split("\n")
    if len(lines) > 1 and lines[-1] == "":
        lines.pop()
    return render_template(
        "admin/flow_edit.html", name=name, source=source, problems=problems, by_line=by_line,
        errors=[p for p in problems if p.severity == "error"], versions=versions, latest=latest,
        base=latest if base is None else base, draft=draft, draft_by=draft_by.name if draft_by else None,
        changed=source != latest_source, line_count=max(len(lines), 1),
        sim=sim, sim_token=_serializer().dumps(sim)), status


@bp.get("/<name>")
@role_required("supervisor")
def edit(name: str):
    with db().session() as s:
        _store().registry(s)
        latest = _store().latest_versions(s).get(name)
        key = _draft_key(name)
        draft = program_settings.get(s, key) if key else None
        source = (draft or {}).get("source") or (_source(s, name, latest) if latest else None)
        if source is None:
            abort(404)
        return _editor(s, name, source, base=(draft or {}).get("base"))


def _posted_source() -> str:
    return request.form.get("source", "").replace("\r\n", "\n").replace("\r", "\n")


def _sim_from_form() -> dict:
    try:
        sim = _serializer().loads(request.form.get("sim", ""))
    except BadSignature:
        return flow_sim.new_sim()
    return sim if flow_sim.well_formed(sim) else flow_sim.new_sim()


@bp.post("/<name>")
@role_required("supervisor")
def act(name: str):
    """Every button of the editor posts here with the text as it is in the box: check (and keep
    it as the draft), publish, discard the draft, or one move of the simulator."""
    action = request.form.get("action", "check")
    source = _posted_source()
    base = request.form.get("base", type=db_int)
    sim = _sim_from_form()
    if action == "discard":
        return _discard(name)
    with db().session() as s:
        if not NEW_NAME.match(name) and not _versions(s, name):
            abort(404)
        if action == "reset":
            fresh = flow_sim.new_sim(request.form.get("sim_lang", "en"), bool(request.form.get("sim_new")))
            return _editor(s, name, source, sim=fresh, base=base)
        definition, problems = _store().validate(s, name, source)
        errors = [p for p in problems if p.severity == "error"]
        if action == "publish":
            return _publish(s, name, source, problems, errors, base, sim)
        _keep_draft(s, name, source, base)
        if action in ("send", "wait"):
            if errors or definition is None:
                flash("Fix the errors first: the simulator runs only a flow that could be published.", "error")
                return _editor(s, name, source, sim=sim, problems=problems, base=base, status=422)
            published = [_store().definition(s, n, v) for n, v in _store().latest_versions(s).items()]
            sim = _simulate(s, action, sim, flow_sim.registry_with(definition, published))
        return _editor(s, name, source, sim=sim, problems=problems, base=base, status=422 if errors else 200)


def _keep_draft(s, name: str, source: str, base: int | None) -> dict | None:
    """The text in the box is the draft, unless it is exactly the latest published version."""
    key = _draft_key(name)
    if key is None:
        return None
    latest = _store().latest_versions(s).get(name)
    if latest and _source(s, name, latest) == source:
        program_settings.delete(s, key)
        return None
    draft = {"source": source, "user_id": me(), "at": now().isoformat(), "base": base or latest or 0}
    program_settings.put(s, key, draft)
    return draft


def _simulate(s, action: str, sim: dict, registry) -> dict:
    kwargs = {"program": program_settings.program_name(s), "coverage": program_settings.coverage_hours(s),
              "locator": current_app.extensions.get("homeward.locator"),
              "tz": current_app.config.get("PROGRAM_TIMEZONE", "America/New_York")}
    try:
        if action == "wait":
            return flow_sim.wait(sim, registry, now(), **kwargs)
        return flow_sim.send(sim, request.form.get("message", "")[:1600], registry, now(), **kwargs)
    except (KeyError, TypeError, ValueError, AttributeError):
        # A simulated conversation from an older draft whose nodes no longer fit: start over.
        flash("The simulated conversation no longer fits this draft, so it started over.", "warning")
        return flow_sim.new_sim(sim.get("lang", "en"))


def _publish(s, name: str, source: str, problems, errors, base: int | None, sim: dict):
    latest = _store().latest_versions(s).get(name) or 0
    if errors:
        flash(f"Not published: {len(errors)} error{'s' if len(errors) != 1 else ''} to fix first (marked below).",
              "error")
        _keep_draft(s, name, source, base)
        return _editor(s, name, source, sim=sim, problems=problems, base=base, status=422)
    if base is not None and base != latest:
        flash(f"Not published: version {latest} was published while you were editing (you started from "
              f"version {base}). Compare them, then publish again to replace it.", "warning")
        _keep_draft(s, name, source, latest)
        return _editor(s, name, source, sim=sim, problems=problems, base=latest, status=409)
    if latest and _source(s, name, latest) == source:
        flash(f"Nothing to publish: this is exactly version {latest}.", "info")
        return redirect(url_for(".edit", name=name))
    try:
        with s.begin_nested():
            version = _store().publish(s, name, source, me())
    except FlowError as exc:     # the other flows changed between the check and now
        flash("Not published: the checker found errors.", "error")
        return _editor(s, name, source, sim=sim, problems=exc.problems, base=base, status=422)
    except IntegrityError:
        flash("Someone published this flow at the same moment. Reload and try again.", "warning")
        return _editor(s, name, source, sim=sim, problems=problems, base=base, status=409)
    key = _draft_key(name)
    if key:
        program_settings.delete(s, key)
    audit.record(s, me(), "flow_publish", now(), None, flow=name, version=version, previous=latest or None,
                 warnings=sum(1 for p in problems if p.severity == "warning"))
    flash(f"Published {name} version {version}. New conversations use it from now on; conversations "
          "already running finish on the version they started.", "info")
    return redirect(url_for(".edit", name=name))


def _discard(name: str):
    key = _draft_key(name)
    with db().session() as s:
        if key:
            program_settings.delete(s, key)
        has_versions = s.scalar(select(FlowVersion.id).where(FlowVersion.name == name).limit(1))
    flash("Draft discarded.", "info")
    return redirect(url_for(".edit", name=name) if has_versions else url_for(".index"))


# -- versions, roll-back, differences -------------------------------------------------------------

@bp.get("/<name>/v/<int:version>")
@role_required("supervisor")
def version(name: str, version: int):
    with db().session() as s:
        source = _source(s, name, version)
        if source is None:
            abort(404)
        versions = _versions(s, name)
    return render_template("admin/flow_version.html", name=name, version=version, source=source,
                           versions=versions, latest=versions[0]["version"])


@bp.post("/<name>/rollback")
@role_required("supervisor")
def rollback(name: str):
    target = request.form.get("version", type=db_int)
    with db().session() as s:
        source = _source(s, name, target) if target else None
        if source is None:
            abort(404)
        latest = _store().latest_versions(s).get(name) or 0
        if target == latest:
            flash(f"Version {target} is already the live one.", "info")
            return redirect(url_for(".edit", name=name))
        try:
            with s.begin_nested():
                new_version = _store().publish(s, name, source, me())
        except FlowError as exc:
            flash(f"Version {target} cannot go live again as it is: the other flows changed since. "
                  "Its problems are marked below; fix them here and publish.", "error")
            return _editor(s, name, source, problems=exc.problems, status=422)
        audit.record(s, me(), "flow_rollback", now(), None, flow=name, restored=target, version=new_version,
                     previous=latest)
    flash(f"Rolled back: version {target}'s text is live again as version {new_version}. "
          "Conversations already running finish on the version they started.", "info")
    return redirect(url_for(".edit", name=name))


def diff_rows(a: str, b: str, context: int = 3) -> list[tuple[str, str]]:
    """(kind, line) for a unified diff: kind is hunk, add, del or same. The template escapes."""
    rows = []
    for line in list(difflib.unified_diff(a.splitlines(), b.splitlines(), lineterm="", n=context))[2:]:
        kind = {"@": "hunk", "+": "add", "-": "del"}.get(line[:1], "same")
        rows.append((kind, line))
    return rows


@bp.get("/<name>/diff")
@role_required("supervisor")
def diff(name: str):
    with db().session() as s:
        versions = _versions(s, name)
        if not versions:
            abort(404)
        latest = versions[0]["version"]
        b_arg = request.args.get("b", str(latest))
        a_arg = request.args.get("a", str(max(latest - 1, 1)))
        texts = {}
        for arg in (a_arg, b_arg):
            if arg == "draft":
                key = _draft_key(name)
                draft = program_settings.get(s, key) if key else None
                texts[arg] = (draft or {}).get("source")
            elif arg.isdigit() and len(arg) < 10:
                texts[arg] = _source(s, name, int(arg))
            if texts.get(arg) is None:
                abort(404)
    rows = diff_rows(texts[a_arg], texts[b_arg])
    return render_template("admin/flow_diff.html", name=name, a=a_arg, b=b_arg, rows=rows, versions=versions,
                           added=sum(k == "add" for k, _ in rows), removed=sum(k == "del" for k, _ in rows))

