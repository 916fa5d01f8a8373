"""The integration API under /api/v1, for jails, probation offices and reentry programs.

A package, as microblog's `app/api/`: `errors` (JSON errors; every method on every path is
answered here), `auth` (bearer tokens, scopes, rate limits, the audit of each call),
`participants` and `escalations` (the use cases); the route table is below. Every call is
audited (writes with what changed, reads with what was seen, refusals of known tokens too).
"""
from __future__ import annotations

from flask import Blueprint, jsonify

bp = Blueprint("api", __name__, url_prefix="/api/v1")

from web import api_spec  # noqa: E402  (the parts below register on bp)
from web.api import participants as people  # noqa: E402
from web.api.errors import ANY_METHOD, nowhere, route  # noqa: E402
from web.api.escalations import escalations  # noqa: E402


def openapi():
    return jsonify(api_spec.SPEC)


route("/openapi.json", "openapi", GET=openapi)
route("/participants", "enroll", POST=people.enroll)
route("/participants/<int:participant_id>", "participant", GET=people.show, PATCH=people.change)
route("/participants/<int:participant_id>/pause", "pause", POST=people.pause)
route("/participants/<int:participant_id>/resume", "resume", POST=people.resume)
route("/participants/<int:participant_id>/stop", "stop", POST=people.stop)
route("/escalations", "escalations", GET=escalations,
      query=("status", "priority", "reason", "since", "limit", "cursor"))
for _rule, _name in (("/", "root"), ("/<path:rest>", "nowhere")):
    bp.add_url_rule(_rule, _name, nowhere, methods=ANY_METHOD, provide_automatic_options=False)
