"""Resource sites in the supervisor console (/admin/sites): the program's own places.

Supervisors add and edit program-local sites (the agency's naloxone points, syringe services,
vending machines), hide and show any site, and import a CSV (the `local` layout or a column
map, as `flask sites import` does). Program-local means a source_key starting "program:" (made
here) or "local:" (a program CSV). The public directories (otp:, treatment:, health_centers:)
are whole national lists replaced by their next import, so here they are read-only except for
hiding one that has closed.

Every save recomputes the grid cell (core.locator.cell_of) the locator's query reads; blank
coordinates come from the ZIP code's centre (core.places), and the time zone ("open now") from
the ZIP, else from the coordinates. Every change is audited.
"""
from __future__ import annotations

import csv
import re
import tempfile
import uuid
from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from sqlalchemy import and_, func, or_, select
from werkzeug.utils import secure_filename

from core import locator, places
from bot.site_store import import_file, record, sites_status
from core.sites_import import PRESETS
from core.sms import count_segments
from db.models import Site
from web import audit
from web.auth import role_required
from web.context import db, me, now
from web.params import db_int
from web.admin.sites import bp
from web.admin.sites.forms import ActiveForm, DAYS, ImportForm, KIND_CHOICES, SiteForm, site_form_data

PER_PAGE = 50
LOCAL_PREFIXES = ("program:", "local:")
MAX_UPLOAD = 5 * 1024 * 1024


@bp.after_request
def _no_store(response):
    response.headers["Cache-Control"] = "no-store"
    return response


def is_local(source_key: str) -> bool:
    return source_key.startswith(LOCAL_PREFIXES)



def _today() -> date:
    return now().astimezone(ZoneInfo(current_app.config["PROGRAM_TIMEZONE"])).date()


def _get(s, site_id: int) -> Site:
    site = s.get(Site, site_id)
    if site is None:
        abort(404)
    return site


def preview(rec: locator.SiteRecord) -> list[dict]:
    """How the site's line reads in a reply, in English and Spanish (1.0 mi as the example
    distance), and what a reply leaves out (the line carries name, street, distance, phone and
    open now or today's hours)."""
    out = []
    for lang, label in (("en", "English"), ("es", "Spanish")):
        text = locator.format_site(rec, 1.0, lang, now())
        seg = count_segments(text)
        dropped = []
        if rec.phone and not locator.phone_text(rec.phone):
            dropped.append("phone (not a US number)")
        if rec.notes:
            dropped.append("notes")
        out.append({"lang": label, "text": text, "segments": seg.segments, "encoding": seg.encoding,
                    "units": seg.units, "dropped": dropped})
    return out


def _record_from(values: dict) -> locator.SiteRecord:
    return locator.SiteRecord(None, values["name"], tuple(values["kinds"].split()), values["address"],
                              values["city"], values["state"], values["zip"], values["lat"], values["lon"],
                              values["phone"], values["hours"], values["timezone"], values["notes"],
                              "program", values["verified_on"])


def _form_page(form: SiteForm, site: Site | None, status: int = 200, shown=None):
    if shown is None and site is not None:
        shown = preview(record(site))
    return render_template("admin/site_edit.html", form=form, site=site, days=DAYS, preview=shown,
                           active_form=ActiveForm(), local=site is None or is_local(site.source_key),
                           kind_labels=KIND_CHOICES, hours_text=locator.hours_text,
                           located=form.located), status


def _search(stmt, q: str):
    q = " ".join(q.split())
    if re.fullmatch(r"\d{3,5}", q):
        return stmt.where(Site.zip.startswith(q))
    like = q.lower()
    anywhere = or_(func.lower(Site.name).contains(like, autoescape=True),
                   func.lower(Site.city).contains(like, autoescape=True))
    m = re.fullmatch(r"(.+?),?\s+([A-Za-z]{2})", q)
    if m and m[2].upper() in places.STATES:          # "Dayton, OH"
        anywhere = or_(anywhere, and_(func.lower(Site.city) == m[1].strip(" ,").lower(),
                                      Site.state == m[2].upper()))
    return stmt.where(anywhere)


# -- pages -----------------------------------------------------------------------------------------

@bp.get("")
@role_required("supervisor")
def index():
    q = request.args.get("q", "").strip()[:100]
    show = request.args.get("show", "local")
    show = show if show in ("local", "all", "hidden") else "local"
    page = max(request.args.get("page", 1, type=db_int) or 1, 1)
    local = or_(*[Site.source_key.startswith(p) for p in LOCAL_PREFIXES])
    stmt = select(Site)
    if show == "local":
        stmt = stmt.where(local)
    elif show == "hidden":
        stmt = stmt.where(Site.active.is_(False))
    if q:
        stmt = _search(stmt, q)
    with db().session() as s:
        total = s.scalar(select(func.count()).select_from(stmt.subquery()))
        pages = max(1, -(-total // PER_PAGE))
        page = min(page, pages)
        sites = list(s.scalars(stmt.order_by(Site.name, Site.id).limit(PER_PAGE).offset((page - 1) * PER_PAGE)))
        counts = {"local": s.scalar(select(func.count()).select_from(Site).where(local)),
                  "all": s.scalar(select(func.count()).select_from(Site)),
                  "hidden": s.scalar(select(func.count()).select_from(Site).where(Site.active.is_(False)))}
        status = sites_status(s)
    return render_template("admin/sites.html", sites=sites, q=q, show=show, page=page, pages=pages, total=total,
                           counts=counts, is_local=is_local, labels=KIND_CHOICES, status=status)


@bp.route("/new", methods=["GET", "POST"])
@role_required("supervisor")
def new():
    if request.method == "GET":
        return _form_page(SiteForm(data={"verified_on": _today()}), None)
    form = SiteForm()
    form.today = _today()
    if not form.validate_on_submit():
        return _form_page(form, None, 422)
    values = form.values()
    if request.form.get("action") == "preview":
        return _form_page(form, None, shown=preview(_record_from(values)))
    at = now()
    with db().session() as s:
        site = Site(source_key=f"program:{uuid.uuid4().hex}", source=PRESETS["local"].source, active=True,
                    updated_at=at, **values)
        s.add(site)
        s.flush()
        audit.record(s, me(), "site_create", at, None, site_id=site.id, kinds=values["kinds"],
                     located="zip" if form.located[3] else "coordinates")
        site_id, name = site.id, site.name
    flash(f"Added {name}. It is in texts from now on.", "info")
    return redirect(url_for(".show", site_id=site_id))


@bp.get("/<int:site_id>")
@role_required("supervisor")
def show(site_id: int):
    with db().session() as s:
        site = _get(s, site_id)
        return _form_page(SiteForm(data=site_form_data(site)), site)


@bp.post("/<int:site_id>")
@role_required("supervisor")
def update(site_id: int):
    form = SiteForm()
    form.today = _today()
    at = now()
    with db().session() as s:
        site = _get(s, site_id)
        if not is_local(site.source_key):
            abort(403)                  # a public directory row: its next import would undo an edit
        if not form.validate_on_submit():
            return _form_page(form, site, 422)
        values = form.values()
        if request.form.get("action") == "preview":
            return _form_page(form, site, shown=preview(_record_from(values)))
        changed = sorted(k for k, v in values.items() if getattr(site, k) != v and not k.startswith("cell_"))
        for k, v in values.items():
            setattr(site, k, v)
        if changed:
            site.updated_at = at
            audit.record(s, me(), "site_edit", at, None, site_id=site.id, changed=changed)
        name = site.name
    flash(f"Saved {name}." if changed else "Nothing changed.", "info")
    return redirect(url_for(".show", site_id=site_id))


@bp.post("/<int:site_id>/active")
@role_required("supervisor")
def set_active(site_id: int):
    form = ActiveForm()
    if not form.validate_on_submit():
        abort(400)
    want, at = form.active.data == "1", now()
    with db().session() as s:
        site = _get(s, site_id)
        if site.active != want:
            site.active, site.hidden_by_staff, site.updated_at = want, not want, at
            audit.record(s, me(), "site_reactivate" if want else "site_deactivate", at, None, site_id=site.id,
                         source=site.source_key.split(":")[0])
        name = site.name
    flash(f"{name} is shown in texts again." if want else
          f"{name} is hidden: texts no longer list it. Nothing was deleted.", "info")
    return redirect(url_for(".show", site_id=site_id))


@bp.route("/import", methods=["GET", "POST"])
@role_required("supervisor")
def import_csv():
    form = ImportForm()
    form.today = _today()
    if request.method == "GET":
        return render_template("admin/sites_import.html", form=form, report=None)
    if not form.validate_on_submit():
        return render_template("admin/sites_import.html", form=form, report=None), 422
    upload = form.file.data
    data = upload.read(MAX_UPLOAD + 1)
    if len(data) > MAX_UPLOAD:
        form.file.errors.append(f"The file is larger than {MAX_UPLOAD // (1024 * 1024)} MB: split it.")
        return render_template("admin/sites_import.html", form=form, report=None), 422
    label = secure_filename(upload.filename or "") or "upload.csv"
    preset, at = form.preset(), now()
    with tempfile.TemporaryDirectory(prefix="homeward-sites-") as tmp:
        path = Path(tmp) / "upload.csv"
        path.write_bytes(data)
        try:
            with db().session() as s:
                report = import_file(s, path, preset, form.verified_on.data, at, label=label)
                rejected = sum(1 for line in report.lines if ": rejected: " in line)
                audit.record(s, me(), "sites_import", at, None, file=label[:80], layout=form.layout.data,
                             added=report.added, updated=report.updated, rejected=rejected)
        except (ValueError, csv.Error) as exc:    # a header without the layout's columns: nothing written
            form.file.errors.append(f"{label}: {exc}. Nothing was imported.")
            return render_template("admin/sites_import.html", form=form, report=None), 422
    return render_template("admin/sites_import.html", form=ImportForm(formdata=None), report=report,
                           rejected=rejected, label=label)
