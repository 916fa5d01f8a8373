"""Bearer tokens (web/api_tokens.py) with scopes and a rate limit per token; every refusal of a
known token is audited, and so is every call (`audit_call`)."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import wraps

from flask import current_app, g, request

import logs
from web import api_tokens, audit, ratelimit
from web.api.errors import ApiError
from web.context import db, now

log = logging.getLogger("homeward.api")
DEFAULT_RATE = 120        # requests per token per minute (API_RATE_PER_MINUTE)


@dataclass(frozen=True)
class Caller:
    token_id: int
    name: str
    scopes: frozenset[str] = frozenset()

    def program_wide(self, scope: str) -> bool:
        """Granted explicitly (participants:read:all …); otherwise the token sees only its own."""
        return api_tokens.PROGRAM_WIDE[scope] in self.scopes


def _unauthorized(code: str, message: str) -> ApiError:
    challenge = 'Bearer realm="homeward"' + ("" if code == "missing_token" else ', error="invalid_token"')
    return ApiError(401, code, message, headers={"WWW-Authenticate": challenge})


def _authenticate(scope: str, at: datetime) -> Caller:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise _unauthorized("missing_token", "Send a token: Authorization: Bearer <token>.")
    refusal: ApiError | None = None
    # write=True: on SQLite the rate limit's check and count must not interleave (web/ratelimit.py)
    with db().session(write=True) as s:   # refusals are audited and committed before they are raised
        row = api_tokens.find(s, token.strip())
        if row is None:
            logs.event(log, "api token unknown", logging.WARNING, path=request.path)
            refusal = _unauthorized("invalid_token", "That token is not valid.")
        elif row.revoked_at is not None:
            audit.record(s, None, "api_denied", at, token_id=row.id, token=row.name, why="revoked",
                         path=request.path[:120])
            refusal = _unauthorized("revoked_token", "That token was revoked. Ask an admin for a new one.")
        elif scope not in row.scope_set:
            audit.record(s, None, "api_denied", at, token_id=row.id, token=row.name, why="scope", scope=scope,
                         path=request.path[:120])
            refusal = ApiError(403, "insufficient_scope", f"This token does not have the {scope} scope.")
        else:
            per_minute = int(current_app.config.get("API_RATE_PER_MINUTE", DEFAULT_RATE))
            wait = ratelimit.hit(s, f"api:token:{row.id}", ratelimit.Limit(per_minute, timedelta(minutes=1)), at)
            if wait:
                refusal = ApiError(429, "rate_limited", f"More than {per_minute} requests a minute. "
                                                        f"Wait {wait} seconds.", headers={"Retry-After": str(wait)})
            else:
                row.last_used_at = at
                caller = Caller(row.id, row.name, row.scope_set)
    if refusal is not None:
        raise refusal
    return caller


def scoped(scope: str):
    def decorator(view):
        @wraps(view)
        def wrapped(**kwargs):
            at = now()
            g.api_caller = _authenticate(scope, at)
            return view(g.api_caller, at, **kwargs)
        return wrapped
    return decorator


def audit_call(s, caller: Caller, action: str, at: datetime, participant_id: int | None = None, **detail) -> None:
    audit.record(s, None, action, at, participant_id, token_id=caller.token_id, token=caller.name, **detail)
