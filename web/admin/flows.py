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
import hashlib
import re

import yaml
from flask import Blueprint, abort, current_app, flash, jsonify, redirect, render_template, request, url_for
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from bot.escalations import on_shift
from core.flows import editing, layout
from core.flows.checker import STIGMA_FILE
from core.flows.registry import FlowError
from db.models import Conversation, FlowVersion, User
from web import audit, flow_sim, help_docs, program_settings
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
    if name in ("help", "new"):
        flash(f"'{name}' is taken by the console itself; pick another name.", "error")
        return redirect(url_for(".index"))
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
    definition, checked = _store().validate(s, name, source)
    if problems is None:
        problems = checked
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
        sim=sim, sim_token=_serializer().dumps(sim), flow_map=flow_map(definition), live_on_duty=live_on_duty(s),
        rev=revision(_working(s, name)[0] or source)), status


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
            fresh = flow_sim.new_sim(request.form.get("sim_lang", "en"), bool(request.form.get("sim_new")),
                                     request.form.get("sim_duty", "live"))
            return _editor(s, name, source, sim=fresh, base=base)
        working, draft = _working(s, name)
        conflict = _conflict(s, name, working, draft) if working is not None and "rev" in request.form else None
        if conflict and action in ("check", "publish"):
            flash(conflict, "error")
            return _editor(s, name, source, sim=sim, base=base, status=409)
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


def live_on_duty(s) -> bool:
    """Whether a peer is on shift now, as the runtime decides it (bot/runtime.py)."""
    tz = current_app.config.get("PROGRAM_TIMEZONE", "America/New_York")
    peers = s.scalars(select(User).where(User.active.is_(True), User.role == "peer"))
    return any(on_shift(u, now(), tz) for u in peers)


def _simulate(s, action: str, sim: dict, registry) -> dict:
    kwargs = {"program": program_settings.program_name(s), "coverage": program_settings.coverage_hours(s),
              "peer_on_duty": live_on_duty(s),
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
    if request.form.get("confirm") != "yes":
        _keep_draft(s, name, source, base)
        definition, _ = _store().validate(s, name, source)
        return render_template("admin/flow_publish.html", name=name, source=source, base=base, latest=latest,
                               version=latest + 1, rev=revision(_working(s, name)[0] or source),
                               changes=text_changes(_store().definition(s, name, latest) if latest else None,
                                                    definition),
                               running=in_progress(s, name, latest) if latest else 0)
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
                 warnings=sum(1 for p in problems if p.severity == "warning"),
                 before=f"v{latest} live" if latest else "not published", after=f"v{version} live",
                 texts_changed=len(text_changes(_store().definition(s, name, latest) if latest else None,
                                                _store().validate(s, name, source)[0])))
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


def _rollback_target(s, name: str, target: int | None) -> tuple[str, int]:
    """The old version's source and the live version's number; 404 when either is missing."""
    source = _source(s, name, target) if target else None
    latest = _store().latest_versions(s).get(name) or 0
    if source is None or not latest:
        abort(404)
    return source, latest


@bp.post("/<name>/rollback")
@role_required("supervisor")
def rollback(name: str):
    target = request.form.get("version", type=db_int)
    with db().session() as s:
        source, latest = _rollback_target(s, name, target)
        if target == latest:
            flash(f"Version {target} is already the live one.", "info")
            return redirect(url_for(".edit", name=name))
        if request.form.get("confirm") != "yes":
            return redirect(url_for(".rollback_confirm", name=name, version=target))
        running = in_progress(s, name, latest)
        try:
            with s.begin_nested():
                new_version = _store().publish(s, name, source, me())
        except FlowError as exc:
            flash(f"Version {target} cannot go live again as it is: the other flows changed since. "
                  "Its problems are marked below; fix them here and publish.", "error")
            return _editor(s, name, source, problems=exc.problems, status=422)
        audit.record(s, me(), "flow_rollback", now(), None, flow=name, restored=target, version=new_version,
                     previous=latest, before=f"v{latest} live", after=f"v{target}'s text live as v{new_version}",
                     in_progress_on_old=running)
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



# -- the map and the forms -------------------------------------------------------------------------

def _working(s, name: str) -> tuple[str | None, dict | None]:
    """The text being edited (the draft, else the live version) and the draft."""
    latest = _store().latest_versions(s).get(name)
    key = _draft_key(name)
    draft = program_settings.get(s, key) if key else None
    return (draft or {}).get("source") or (_source(s, name, latest) if latest else None), draft


def revision(source: str) -> str:
    """A short fingerprint of the text a form was opened on: the optimistic version check."""
    return hashlib.sha256(source.encode("utf-8")).hexdigest()[:16]


def flow_map(definition):
    return layout.layout(definition) if definition is not None else None


def _posted_texts(key: str, count: int) -> list[dict]:
    return [{lang: request.form.get(f"{key}-{i}-{lang}", "").replace("\r\n", "\n").strip()
             for lang in ("en", "es") if f"{key}-{i}-{lang}" in request.form} for i in range(count)]


def _posted_edit(form: dict) -> dict:
    edit: dict = {"text": _posted_texts("text", len(form["text"])),
                  "reask": _posted_texts("reask", len(form["reask"]))}
    choices = []
    for i, c in enumerate(form["choices"]):
        langs = list(c["words"])
        choices.append({lang: editing.split_words(request.form.get(f"choice-{i}-{lang}", ", ".join(c["words"][lang])))
                        for lang in langs})
    edit["choices"] = choices
    if request.form.get("new_value", "").strip():
        edit["new_choice"] = {"value": request.form["new_value"], "next": request.form.get("new_next") or None,
                              "words": {lang: editing.split_words(request.form.get(f"new_words_{lang}", ""))
                                        for lang in ("en", "es")}}
    if form["type"] == "escalate":
        edit["priority"] = request.form.get("priority", form["priority"])
        edit["note"] = request.form.get("note", form["note"]).strip()
    if form["timeout_allowed"] and "timeout_after" in request.form:
        edit["timeout"] = {"after": request.form.get("timeout_after", ""),
                           "remind": {lang: request.form.get(f"timeout_{lang}", "").strip() for lang in ("en", "es")}}
    return edit


def _save_form_edit(s, name: str, old: str, new: str, draft: dict | None):
    """Keep `new` as the draft (checked); a broken one is kept too, its errors shown."""
    if new == old:
        flash("Nothing changed.", "info")
        return redirect(url_for(".edit", name=name))
    base = (draft or {}).get("base") or _store().latest_versions(s).get(name) or 0
    _keep_draft(s, name, new, base)
    _, problems = _store().validate(s, name, new)
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        flash(f"Saved as a draft, but it cannot be published yet: {len(errors)} "
              f"error{'s' if len(errors) != 1 else ''} to fix (marked below).", "error")
        return _editor(s, name, new, problems=problems, base=base, status=422)
    flash("Saved as a draft and checked: no errors. Try it in the simulator, then publish.", "info")
    return redirect(url_for(".edit", name=name))


def _conflict(s, name: str, current: str, draft: dict | None) -> str | None:
    posted = request.form.get("rev", "")
    if posted == revision(current):
        return None
    who = s.get(User, draft["user_id"]).name if draft and draft.get("user_id") and s.get(User, draft["user_id"]) else "someone"
    return (f"Not saved: {who} changed this flow while you were editing it. Your changes are shown below "
            "but were not saved; reload the form to see theirs, then make your change again.")


@bp.route("/<name>/node/<node_id>", methods=["GET", "POST"])
@role_required("supervisor")
def node_form(name: str, node_id: str):
    with db().session() as s:
        _store().registry(s)
        source, draft = _working(s, name)
        if source is None:
            abort(404)
        try:
            form = editing.node_form(source, node_id)
        except editing.EditError as exc:
            flash(str(exc), "error")
            return redirect(url_for(".edit", name=name))
        status, message = 200, None
        if request.method == "POST":
            message = _conflict(s, name, source, draft)
            if message is None:
                try:
                    new = editing.apply_node(source, node_id, _posted_edit(form))
                except editing.EditError as exc:
                    message, status = str(exc), 422
                else:
                    return _save_form_edit(s, name, source, new, draft)
            else:
                status = 409
            flash(message, "error")
        return render_template("admin/flow_node.html", name=name, form=form, rev=revision(source),
                               posted=request.form if request.method == "POST" else None,
                               draft=draft), status


@bp.route("/<name>/keywords", methods=["GET", "POST"])
@role_required("supervisor")
def keywords_form(name: str):
    with db().session() as s:
        _store().registry(s)
        source, draft = _working(s, name)
        if source is None:
            abort(404)
        try:
            words = editing.flow_keywords(source)
        except editing.EditError as exc:
            flash(str(exc), "error")
            return redirect(url_for(".edit", name=name))
        status = 200
        if request.method == "POST":
            message = _conflict(s, name, source, draft)
            if message is None:
                new = editing.apply_keywords(source, {lang: editing.split_words(request.form.get(f"keywords_{lang}", ""))
                                                      for lang in ("en", "es")})
                return _save_form_edit(s, name, source, new, draft)
            flash(message, "error")
            status = 409
        return render_template("admin/flow_keywords.html", name=name, words=words, rev=revision(source),
                               posted=request.form if request.method == "POST" else None), status


@bp.get("/stigma.json")
@role_required("supervisor")
def stigma():
    """The person-first lexicon the checker uses, for flagging words as they are typed."""
    data = yaml.safe_load(STIGMA_FILE.read_text(encoding="utf-8")) or {}
    return jsonify({lang: [{"words": e["words"], "instead": e.get("instead", ""),
                            "severity": e.get("severity", "error")} for e in entries]
                    for lang, entries in data.items()})


# -- what changes for participants: the texts, and who is mid-conversation -----------------------

def text_changes(old, new) -> list[dict]:
    """Each participant-facing text that differs between two definitions, both languages."""
    def texts(d):
        out, seen = {}, {}
        for what, node, text in (d.texts() if d is not None else ()):
            key = (node.id if node else "(flow)", what)
            seen[key] = seen.get(key, 0) + 1
            out[key + (seen[key],)] = text.by_lang
        return out
    a, b = texts(old), texts(new)
    rows = []
    for key in list(a) + [k for k in b if k not in a]:
        if a.get(key) != b.get(key):
            rows.append({"node": key[0], "what": key[1] + (f" {key[2]}" if key[2] > 1 else ""),
                         "langs": [(lang, (a.get(key) or {}).get(lang, ""), (b.get(key) or {}).get(lang, ""))
                                   for lang in ("en", "es")
                                   if (a.get(key) or {}).get(lang, "") != (b.get(key) or {}).get(lang, "")]})
    return rows


def in_progress(s, name: str, version: int) -> int:
    return s.scalar(select(func.count()).select_from(Conversation).where(
        Conversation.flow == name, Conversation.flow_version == version,
        Conversation.status == "active")) or 0


@bp.get("/<name>/rollback")
@role_required("supervisor")
def rollback_confirm(name: str):
    target = request.args.get("version", type=db_int)
    with db().session() as s:
        source, latest = _rollback_target(s, name, target)
        live = _store().definition(s, name, latest)
        older, _ = _store().validate(s, name, source)
        changes = text_changes(live, older)
        running = in_progress(s, name, latest)
    return render_template("admin/flow_rollback.html", name=name, target=target, latest=latest,
                           changes=changes, running=running)


@bp.get("/help")
@role_required("supervisor")
def help_page():
    """docs/flows.md, inside the console."""
    title, html = help_docs.guide("flows")
    return render_template("admin/help.html", title=title, html=html, back=url_for(".index"))
