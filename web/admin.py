"""The supervisor console's front page (/admin) and its tabs.

Each part lives in its own blueprint: flows (web/admin_flows.py), nudges (web/admin_nudges.py),
staff and settings (web/admin_staff.py), the report (web/admin_report.py), plus the canned
replies and the audit log from the inbox work. All are for supervisors and admins only.
"""
from __future__ import annotations

from flask import Blueprint, current_app, render_template, request

from web.auth import role_required

bp = Blueprint("admin", __name__, url_prefix="/admin")

# (label, endpoint, what it is for): the tabs and the front page, in this order.
PAGES = (
    ("Flows", "admin_flows.index", "Change what Homeward says: edit, check, try and publish conversations."),
    ("Nudges", "admin_nudges.edit", "The check-in schedule after release and its texts, with a preview."),
    ("Staff", "admin_staff.staff", "Accounts, roles, shifts and how many open tickets each peer takes."),
    ("Settings", "admin_staff.settings", "Response targets, sending limits, program name, contact line, coverage hours."),
    ("Canned replies", "canned.index", "Short vetted texts peers drop into a reply."),
    ("Report", "admin_report.index", "How the program is doing, as charts and tables, de-identified."),
    ("Audit log", "audit.log", "Who saw or changed what, and when."),
)


@bp.app_context_processor
def _tabs():
    def admin_tabs():
        here = (request.endpoint or "").split(".")[0]
        return [(label, ep, ep.split(".")[0] == here and (here != "admin_staff" or ep == request.endpoint))
                for label, ep, _ in PAGES if ep in current_app.view_functions]
    return {"admin_tabs": admin_tabs}


@bp.get("")
@role_required("supervisor")
def index():
    pages = [(label, ep, text) for label, ep, text in PAGES if ep in current_app.view_functions]
    return render_template("admin/index.html", pages=pages)
