"""The supervisor console's front page (/admin) and its tabs.

A package, one module (or one package with `forms` beside `routes`, as microblog's blueprints)
per tab, each its own blueprint: `flows`, `nudges`, `sites/`, `staff/` (staff and settings),
`report`, plus the canned replies and the audit log from the inbox work (web/canned.py,
web/audit.py). Endpoint names keep their blueprint's name (`admin_sites.index` …). All are for
supervisors and admins only.
"""
from __future__ import annotations

from flask import Blueprint, current_app, render_template, request
from flask_login import current_user

from web.auth import role_required

bp = Blueprint("admin", __name__, url_prefix="/admin")

# (label, endpoint, role, what it is for): the tabs and the front page, in this order. A page
# shows only when its blueprint is registered and the signed-in role may open it.
PAGES = (
    ("Flows", "admin_flows.index", "supervisor",
     "Change what Homeward says: edit, check, try and publish conversations."),
    ("Nudges", "admin_nudges.edit", "supervisor", "The check-in schedule after release and its texts, with a preview."),
    ("Sites", "admin_sites.index", "supervisor",
     "The program's naloxone points, syringe services and machines: add, edit, hide, import a CSV."),
    ("Staff", "admin_staff.staff", "supervisor", "Accounts, roles, shifts and how many open tickets each peer takes."),
    ("Settings", "admin_staff.settings", "supervisor",
     "Response targets, sending limits, program name, contact line, coverage hours."),
    ("Canned replies", "canned.index", "supervisor", "Short vetted texts peers drop into a reply."),
    ("Report", "admin_report.index", "supervisor", "How the program is doing, as charts and tables, de-identified."),
    ("Audit log", "audit.log", "supervisor", "Who saw or changed what, and when."),
    ("API tokens", "api_tokens.index", "admin", "Tokens for systems that use the integration API."),
)


@bp.after_request
def _no_store(response):
    response.headers["Cache-Control"] = "no-store"
    return response


def _visible():
    return [(label, ep, text) for label, ep, role, text in PAGES
            if ep in current_app.view_functions and current_user.is_authenticated and current_user.has_role(role)]


@bp.app_context_processor
def _tabs():
    def admin_tabs():
        endpoint = request.endpoint or ""
        if endpoint.startswith("admin_staff."):     # two tabs share a blueprint
            endpoint = "admin_staff.settings" if "settings" in endpoint else "admin_staff.staff"
        return [(label, ep, ep.split(".")[0] == endpoint.split(".")[0]
                 and (not ep.startswith("admin_staff.") or ep == endpoint))
                for label, ep, _ in _visible()]
    return {"admin_tabs": admin_tabs}


@bp.get("")
@role_required("supervisor")
def index():
    from bot.site_store import sites_status
    with current_app.extensions["homeward.db"].session() as s:
        sites = sites_status(s)
    return render_template("admin/index.html", pages=_visible(), sites=sites)
