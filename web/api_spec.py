"""The integration API's OpenAPI 3.1 description, written by hand, served at /api/v1/openapi.json.

The request-body schemas here are also what web/api/ checks bodies against (`problems()`
below), so the description and the behaviour cannot drift apart; the test suite fuzzes the API
against this document with schemathesis.
"""
from __future__ import annotations

import re
from datetime import date

from core import channels

SCOPES = ("participants:read", "participants:write", "escalations:read",   # the token's own participants
          "participants:read:all", "participants:write:all", "escalations:read:all")   # program-wide, explicit
E164 = r"^\+[1-9][0-9]{7,14}$"
DATE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
HHMM = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"
EXTERNAL_ID = r"^[!-~]([ -~]{0,118}[!-~])?$"      # printable ASCII, no space at either end
TZ_NAME = r"^[A-Za-z][A-Za-z0-9_+\-]*(/[A-Za-z0-9_+\-]+)*$"
EMAIL = r"^[^@\s\u0000]+@[^@\s\u0000]+$"
NO_NUL = r"^[^\u0000]*$"                           # PostgreSQL text cannot hold NUL


def _nullable(schema: dict) -> dict:
    return {**schema, "type": [schema["type"], "null"]}


_first_name = {"type": "string", "minLength": 1, "maxLength": 80, "pattern": NO_NUL,
               "description": "The name a peer will use."}
_language = {"type": "string", "enum": ["en", "es"], "description": "Language of every text."}
_timezone = {"type": "string", "minLength": 1, "maxLength": 64, "pattern": TZ_NAME,
             "description": "IANA time zone name, e.g. America/Chicago (default: the program's)."}
_checkin = {"type": "string", "pattern": HHMM, "description": "Preferred local check-in time, 24-hour HH:MM."}
_release = {"type": "string", "format": "date", "pattern": DATE,
            "description": "Release date, YYYY-MM-DD: past, today or future, within three years of today."}

ENROLLMENT = {
    "type": "object",
    "additionalProperties": False,
    "required": ["external_id", "phone", "release_date", "consent", "consent_channel"],
    "properties": {
        "external_id": {"type": "string", "minLength": 1, "maxLength": 120, "pattern": EXTERNAL_ID,
                        "description": "Your system's id for this person. Enrolling again with the same id "
                                       "returns the same participant (200) instead of a new one (201)."},
        "phone": {"type": "string", "pattern": E164, "description": "Mobile number in E.164, e.g. +13125552671."},
        "channel": {"type": "string", "enum": list(channels.PHONE), "default": channels.SMS.name},
        "release_date": _release,
        "consent": {"type": "boolean", "const": True,
                    "description": "You confirm the person agreed to receive texts from the program."},
        "consent_channel": {"type": "string", "enum": ["in_person", "phone", "written", "sms"],
                            "description": "How the person agreed."},
        "first_name": _nullable(_first_name),
        "language": _language,
        "timezone": _timezone,
        "checkin_time": _nullable(_checkin),
        "peer_email": _nullable({"type": "string", "maxLength": 254, "pattern": EMAIL,
                                 "description": "Email of the peer (staff account) to assign."}),
    },
}

CHANGE = {
    "type": "object",
    "additionalProperties": False,
    "minProperties": 1,
    "properties": {
        "release_date": _release,
        "first_name": _nullable(_first_name),
        "language": _language,
        "timezone": _timezone,
        "checkin_time": _nullable(_checkin),
    },
    "description": "Only the fields given change. A new release date (or time zone, or check-in time) "
                   "replans the nudges that have not been sent.",
}

_dt = {"type": ["string", "null"], "format": "date-time"}
PARTICIPANT = {
    "type": "object",
    "required": ["id", "external_id", "status", "enrolled", "enrolled_at", "release_date", "opted_out",
                 "opted_out_at", "last_inbound_at", "last_contact_at", "next_nudge_at", "language",
                 "timezone", "channels", "merged_into"],
    "properties": {
        "id": {"type": "integer", "description": "Homeward's id: use it in the other participant URLs."},
        "external_id": {"type": ["string", "null"]},
        "status": {"type": "string", "enum": ["prospect", "active", "paused", "completed", "merged"],
                   "description": "active: nudges go out; paused: held; completed: outreach stopped; "
                                  "merged: see merged_into."},
        "enrolled": {"type": "boolean", "description": "Consent recorded and enrolled (active, paused or completed)."},
        "enrolled_at": _dt,
        "release_date": {"type": ["string", "null"], "format": "date"},
        "opted_out": {"type": "boolean", "description": "The person texted STOP; nothing is sent until START."},
        "opted_out_at": _dt,
        "last_inbound_at": {**_dt, "description": "When the person last wrote to us."},
        "last_contact_at": {**_dt, "description": "Last message either way (the person, a peer or a nudge)."},
        "next_nudge_at": {**_dt, "description": "When the next planned nudge is due, if any."},
        "language": {"type": "string"},
        "timezone": {"type": "string"},
        "channels": {"type": "array", "items": {"type": "string", "enum": list(channels.NAMES)}},
        "merged_into": {"type": ["integer", "null"], "description": "Set when this record was merged into another."},
    },
}

ESCALATION = {
    "type": "object",
    "required": ["id", "participant_id", "external_id", "reason", "priority", "status", "assigned", "created_at",
                 "sla_due_at", "first_response_at", "resolved_at", "outcome"],
    "properties": {
        "id": {"type": "integer"},
        "participant_id": {"type": "integer"},
        "external_id": {"type": ["string", "null"]},
        "reason": {"type": "string", "description": "emergency, crisis, asked_for_peer, no_contact, ..."},
        "priority": {"type": "string", "enum": ["urgent", "high", "normal"]},
        "status": {"type": "string", "enum": ["open", "resolved"]},
        "assigned": {"type": "boolean"},
        "created_at": {"type": "string", "format": "date-time"},
        "sla_due_at": {"type": "string", "format": "date-time"},
        "first_response_at": _dt,
        "resolved_at": _dt,
        "outcome": {"type": ["string", "null"]},
    },
}

ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string", "description": "Stable, machine-readable: invalid, not_found, ..."},
                "message": {"type": "string", "description": "For a person to read."},
                "fields": {"type": "object", "additionalProperties": {"type": "string"},
                           "description": "For invalid: what is wrong with each field."},
            },
        },
    },
}


def _err(description: str, headers: dict | None = None) -> dict:
    out = {"description": description,
           "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    if headers:
        out["headers"] = headers
    return out


_RESPONSES = {
    "400": _err("Malformed request: not JSON, or a bad or unknown query parameter."),
    "401": _err("No token, an unknown token or a revoked one.",
                {"WWW-Authenticate": {"schema": {"type": "string"}, "required": True}}),
    "403": _err("The token lacks the scope this operation needs."),
    "404": _err("No such participant."),
    "409": _err("The request conflicts with the record (already enrolled elsewhere, opted out, merged, "
                "or the state does not allow it)."),
    "413": _err("The body is larger than 64 KiB."),
    "415": _err("The body is not application/json."),
    "422": _err("The body is JSON but not valid: see error.fields."),
    "429": _err("Too many requests for this token: wait Retry-After seconds.",
                {"Retry-After": {"schema": {"type": "string", "pattern": "^[0-9]+$"}, "required": True}}),
}


def _responses(ok: dict, *codes: str) -> dict:
    return {**ok, **{c: {"$ref": f"#/components/responses/E{c}"} for c in ("401", "403", "429", *codes)}}


_participant_ok = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Participant"}}}}
_id_param = {"name": "participant_id", "in": "path", "required": True,
             "schema": {"type": "integer", "minimum": 1, "maximum": 2147483647}}


def _action(summary: str, description: str, op_id: str) -> dict:
    return {"post": {"operationId": op_id, "summary": summary, "description": description,
                     "tags": ["participants"], "security": [{"bearer": ["participants:write"]}],
                     "parameters": [_id_param],
                     "responses": _responses({"200": {"description": "The participant now.", **_participant_ok}},
                                             "400", "404", "409")}}


SPEC = {
    "openapi": "3.1.0",
    "info": {
        "title": "Homeward integration API",
        "version": "1.0.0",
        "description": "Enroll people at release from a case-management system, keep their release date "
                       "right, pause or stop outreach, read their status and list escalations. Send "
                       "`Authorization: Bearer <token>`; an admin makes tokens (admin page or "
                       "`flask --app app tokens create`). Every call is audited. A token sees only its "
                       "integration's own participants (enrolled through it, or assigned to it with "
                       "`flask --app app tokens assign`) and their escalations; another participant's id "
                       "answers 404 and another integration's external_id 409. The program-wide scopes "
                       "participants:read:all, participants:write:all and escalations:read:all lift that "
                       "limit, and are granted only explicitly. Errors are "
                       "`{\"error\": {\"code\", \"message\"}}`. No message bodies are ever returned.",
    },
    "paths": {
        "/api/v1/participants": {
            "post": {
                "operationId": "enrollParticipant",
                "summary": "Enroll a participant (idempotent on external_id)",
                "tags": ["participants"],
                "security": [{"bearer": ["participants:write"]}],
                "requestBody": {"required": True,
                                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Enrollment"}}}},
                "responses": _responses({
                    "201": {"description": "Enrolled; nudges planned from the release date.", **_participant_ok},
                    "200": {"description": "Already enrolled with this external_id: the same participant, "
                                           "unchanged (use PATCH to change it).", **_participant_ok},
                }, "400", "409", "413", "415", "422"),
            },
        },
        "/api/v1/participants/{participant_id}": {
            "get": {
                "operationId": "getParticipant",
                "summary": "A participant's status",
                "tags": ["participants"],
                "security": [{"bearer": ["participants:read"]}],
                "parameters": [_id_param],
                "responses": _responses({"200": {"description": "The participant.", **_participant_ok}}, "400", "404"),
            },
            "patch": {
                "operationId": "changeParticipant",
                "summary": "Change a release date (replans nudges) or other details",
                "tags": ["participants"],
                "security": [{"bearer": ["participants:write"]}],
                "parameters": [_id_param],
                "requestBody": {"required": True,
                                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Change"}}}},
                "responses": _responses({"200": {"description": "The participant after the change.", **_participant_ok}},
                                        "400", "404", "409", "413", "415", "422"),
            },
        },
        "/api/v1/participants/{participant_id}/pause": _action(
            "Pause outreach", "Planned nudges are held (kept) until resumed. Pausing a paused participant "
                              "changes nothing.", "pauseParticipant"),
        "/api/v1/participants/{participant_id}/resume": _action(
            "Resume outreach", "Held nudges still ahead are sent on time; ones that fell due while paused "
                               "are skipped, never sent in a burst.", "resumeParticipant"),
        "/api/v1/participants/{participant_id}/stop": _action(
            "Stop outreach", "Cancels every planned message and marks the participant completed. The person "
                             "can still write to the program.", "stopParticipant"),
        "/api/v1/escalations": {
            "get": {
                "operationId": "listEscalations",
                "summary": "Escalations (tickets) of the token's own participants (all of them with "
                           "escalations:read:all), newest first",
                "tags": ["escalations"],
                "security": [{"bearer": ["escalations:read"]}],
                "parameters": [
                    {"name": "status", "in": "query", "schema": {"type": "string", "enum": ["open", "resolved"]}},
                    {"name": "priority", "in": "query", "schema": {"type": "string", "enum": ["urgent", "high", "normal"]}},
                    {"name": "reason", "in": "query",
                     "schema": {"type": "string", "minLength": 1, "maxLength": 40, "pattern": NO_NUL}},
                    {"name": "since", "in": "query", "description": "Only escalations created at or after this time.",
                     "schema": {"type": "string", "format": "date-time"}},
                    {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": 50}},
                    {"name": "cursor", "in": "query", "description": "next_cursor from the previous page.",
                     "schema": {"type": "string", "pattern": "^[0-9]{1,10}$"}},
                ],
                "responses": _responses({"200": {"description": "A page of escalations.", "content": {"application/json": {
                    "schema": {"type": "object", "required": ["data", "next_cursor"], "properties": {
                        "data": {"type": "array", "items": {"$ref": "#/components/schemas/Escalation"}},
                        "next_cursor": {"type": ["string", "null"],
                                        "description": "Pass as cursor for the next page; null on the last."}}}}}}},
                    "400"),
            },
        },
    },
    "components": {
        "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                                       "description": "A token from an admin. Scopes: " + ", ".join(SCOPES) + "."}},
        "schemas": {"Enrollment": ENROLLMENT, "Change": CHANGE, "Participant": PARTICIPANT,
                    "Escalation": ESCALATION, "Error": ERROR},
        "responses": {f"E{code}": body for code, body in _RESPONSES.items()},
    },
}


# -- the request-body schemas as the validator ----------------------------------------------------
_TYPES = {"string": str, "boolean": bool, "object": dict, "null": type(None)}


def _type_ok(value, names) -> bool:
    for name in names if isinstance(names, list) else [names]:
        if name == "integer" and isinstance(value, int) and not isinstance(value, bool):
            return True
        if name in _TYPES and isinstance(value, _TYPES[name]):
            return True
    return False


def _field(name: str, value, schema: dict) -> str | None:
    if not _type_ok(value, schema["type"]):
        kinds = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        return "must be " + " or ".join("a string" if k == "string" else k for k in kinds) + "."
    if value is None:
        return None
    if "const" in schema and value != schema["const"]:
        return f"must be {str(schema['const']).lower()}."
    if "enum" in schema and value not in schema["enum"]:
        return "must be one of: " + ", ".join(schema["enum"]) + "."
    if isinstance(value, str):
        if len(value) < schema.get("minLength", 0):
            return "must not be empty."
        if len(value) > schema.get("maxLength", 10**9):
            return f"must be at most {schema['maxLength']} characters."
        if "pattern" in schema and not re.search(_python_regex(schema["pattern"]), value):
            return _PATTERN_HELP.get(schema["pattern"], "has the wrong form.")
        if schema.get("format") == "date":
            try:
                date.fromisoformat(value)
            except ValueError:
                return "is not a real date (YYYY-MM-DD)."
    return None


_PATTERN_HELP = {E164: "must be an E.164 number such as +13125552671.", DATE: "must be a date, YYYY-MM-DD.",
                 HHMM: "must be 24-hour HH:MM.", EXTERNAL_ID: "must be printable ASCII without spaces at the ends.",
                 TZ_NAME: "must be a time zone name such as America/Chicago.", EMAIL: "must be an email address.",
                 NO_NUL: "must not contain NUL characters."}


def _python_regex(pattern: str) -> str:
    """JSON Schema's `$` is the very end (ECMA-262); Python's also matches before a final newline."""
    return pattern[:-1] + r"\Z" if pattern.endswith("$") else pattern


def problems(schema: dict, body) -> dict[str, str]:
    """{field: what is wrong} for a JSON body against one of the object schemas above ({} if valid)."""
    if not isinstance(body, dict):
        return {"": "The body must be a JSON object."}
    out: dict[str, str] = {}
    if len(body) < schema.get("minProperties", 0):
        out[""] = "Give at least one field to change."
    props = schema["properties"]
    for name in schema.get("required", ()):
        if name not in body:
            out[name] = "is required."
    for name, value in body.items():
        if name not in props:
            out[str(name)[:60]] = "is not a field here."
            continue
        why = _field(name, value, props[name])
        if why:
            out[name] = why
    return out
