"""Errors are always JSON, `{"error": {"code", "message"}}`, with the status that says what went
wrong: every method on every path under /api/v1 is answered by this blueprint itself (`route`),
so Flask's HTML error pages never appear here."""
from __future__ import annotations

import logging

from flask import Response, jsonify, request
from werkzeug.exceptions import HTTPException

import logs
from web.api import bp

log = logging.getLogger("homeward.api")
ANY_METHOD = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE"]


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, fields: dict | None = None,
                 headers: dict | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.fields, self.headers = status, code, message, fields, headers


def error_response(status: int, code: str, message: str, fields: dict | None = None,
                   headers: dict | None = None) -> Response:
    body = {"code": code, "message": message}
    if fields:
        body["fields"] = fields
    resp = jsonify(error=body)
    resp.status_code = status
    for name, value in (headers or {}).items():
        resp.headers[name] = value
    return resp


@bp.errorhandler(ApiError)
def _api_error(exc: ApiError):
    return error_response(exc.status, exc.code, exc.message, exc.fields, exc.headers)


@bp.errorhandler(HTTPException)
def _http_error(exc: HTTPException):
    return error_response(exc.code or 500, (exc.name or "error").lower().replace(" ", "_"),
                          exc.description or exc.name or "Error")


@bp.app_errorhandler(404)
@bp.app_errorhandler(405)
def _routing_error(exc: HTTPException):
    """Paths no rule can match (a newline in the path) and unusual methods fail in routing, before
    any blueprint is chosen: under /api/ they are answered in JSON too; elsewhere, as before."""
    if not request.path.startswith(bp.url_prefix + "/") and request.path != bp.url_prefix:
        return exc
    if exc.code == 405:
        return error_response(405, "method_not_allowed", f"{request.method} is not allowed here.",
                              headers={"Allow": ", ".join(getattr(exc, "valid_methods", None) or ())})
    return nowhere()


@bp.errorhandler(Exception)
def _unexpected(exc: Exception):
    logs.event(log, "api error", logging.ERROR, path=request.path, exc_info=True)
    return error_response(500, "internal", "Something went wrong on our side; it has been logged. "
                                           "Try again, and tell the program if it keeps happening.")


@bp.after_request
def _headers(response):
    response.headers["Cache-Control"] = "no-store"
    return response


def route(rule: str, endpoint: str, query: tuple[str, ...] = (), **handlers):
    """Register `rule` for every method: the named ones go to their handler, OPTIONS lists them,
    the rest get a JSON 405 with Allow (Flask's own 405 would be an HTML page). A query parameter
    not in `query` is refused (400), so a misspelt filter never silently returns everything."""
    allowed = sorted(set(handlers) | {"OPTIONS"} | ({"HEAD"} if "GET" in handlers else set()))

    def view(**kwargs):
        method = "GET" if request.method == "HEAD" else request.method
        if method == "OPTIONS":
            return Response(status=204, headers={"Allow": ", ".join(allowed)})
        handler = handlers.get(method)
        if handler is None:
            return error_response(405, "method_not_allowed", f"{request.method} is not allowed here.",
                                  headers={"Allow": ", ".join(allowed)})
        unknown = sorted(set(request.args) - set(query))
        if unknown:
            name = unknown[0][:40]
            return error_response(400, "invalid_parameter", f"Unknown query parameter {name!r}.",
                                  {name or "?": "is not a parameter here."})
        return handler(**kwargs)

    bp.add_url_rule(rule, endpoint, view, methods=ANY_METHOD, provide_automatic_options=False)


def nowhere(**_):
    return error_response(404, "not_found", "There is no such API endpoint. See /api/v1/openapi.json.")
