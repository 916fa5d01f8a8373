"""Staff accounts and program settings (/admin/staff, /admin/settings): the blueprint; `forms`
beside `routes`, as microblog's blueprints are laid out."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("admin_staff", __name__, url_prefix="/admin")

from web.admin.staff import routes  # noqa: E402,F401  (registers the views on bp)
