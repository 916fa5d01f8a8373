"""Resource sites in the supervisor console (/admin/sites): the blueprint; `forms` (the site
and import forms) beside `routes`, as microblog's blueprints are laid out."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("admin_sites", __name__, url_prefix="/admin/sites")

from web.admin.sites import routes  # noqa: E402,F401  (registers the views on bp)
