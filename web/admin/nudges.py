"""The nudge schedule and texts in the browser (/admin/nudges), for supervisors.

The page edits the same YAML as bot/content/nudges.yaml, checked by the same loader: its error
is shown at its line and an edit that does not load is never saved. Saved edits live in the
`settings` table (`nudges_yaml`, see scheduler/nudge_settings.py), never in the code's file. Each text
shows what it costs in SMS segments with long names filled in, and a preview lays out the plan
for a release date in a chosen time zone, exactly as scheduler/policy.py would plan it.
"""
from __future__ import annotations

import difflib
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for

from bot import enrollment
from core.sms import count_segments
from core import policy
from scheduler import nudge_settings
from web import audit, help_docs, params, program_settings
from web.auth import role_required
from web.context import db, me, now

def _summary(schedule: policy.Schedule) -> str:
    """One line an auditor can compare: which days, until when, at what time, quiet hours."""
    return (f"days {', '.join(map(str, schedule.days))}; ends day {schedule.window_end_day}; "
            f"check-in {schedule.checkin_time:%H:%M}; quiet {schedule.quiet.start:%H:%M}-{schedule.quiet.end:%H:%M}")


bp = Blueprint("admin_nudges", __name__, url_prefix="/admin/nudges")
PREVIEW_LIMIT = 60


@bp.after_request
def _no_store(response):
    response.headers["Cache-Control"] = "no-store"
    return response


def _zone(name: str | None) -> str:
    try:
        ZoneInfo(name or "")
        return name
    except (ZoneInfoNotFoundError, ValueError):
        return current_app.config.get("PROGRAM_TIMEZONE", "America/New_York")


def _preview_args(source) -> dict:
    tz = _zone(source.get("tz"))
    try:
        release = params.day(source.get("release", ""))
    except ValueError:
        release = now().astimezone(ZoneInfo(tz)).date()
    checkin = source.get("checkin_time", "").strip()
    try:
        checkin_at = time.fromisoformat(checkin) if checkin else None
    except ValueError:
        checkin_at, checkin = None, ""
    return {"release": release, "tz": tz, "checkin_time": checkin, "checkin_at": checkin_at,
            "lang": source.get("lang") if source.get("lang") in ("en", "es") else "en",
            "first_name": source.get("first_name", "Ana")[:40], "peer_name": source.get("peer_name", "")[:40],
            "open": source.get("open") == "1", "enrolled": source.get("enrolled", "before")}


def preview(schedule: policy.Schedule, args: dict, at: datetime, program: str) -> list[dict]:
    """The plan for one made-up person. `enrolled` "before": enrolled ahead of release, so the
    whole plan shows; "now": enrolled at `at`, as someone signing up today would get it."""
    zone = ZoneInfo(args["tz"])
    if args["enrolled"] == "now":
        enrolled = at
    else:
        enrolled = datetime.combine(args["release"] - timedelta(days=1), time(0, 0), tzinfo=zone)
    planned = policy.plan(args["release"], schedule, args["tz"], args["checkin_at"], "preview", enrolled, enrolled)
    rows = []
    for p in planned[:PREVIEW_LIMIT]:
        text = policy.render(schedule, p.template_key, args["lang"], args["first_name"] or None,
                             args["peer_name"] or None, program, discreet=not args["open"])
        rows.append({"local": p.due_at.astimezone(zone), "day": p.day, "kind": p.kind, "text": text,
                     "segments": count_segments(text).describe(), "key": p.template_key})
    return rows


def _page(text: str, edited: bool, *, args: dict, status: int = 200, base: str | None = None):
    schedule, findings = nudge_settings.check(text)
    costs = nudge_settings.text_costs(schedule, text) if schedule else []
    with db().session() as s:
        program = program_settings.program_name(s)
    rows = preview(schedule, args, now(), program) if schedule else []
    by_line: dict[int, list] = {}
    for f in findings:
        by_line.setdefault(f.line, []).append(f)
    lines = text.split("\n")
    if len(lines) > 1 and lines[-1] == "":
        lines.pop()
    return render_template(
        "admin/nudges.html", text=text, edited=edited, schedule=schedule, findings=findings, by_line=by_line,
        errors=[f for f in findings if f.severity == "error"], costs=costs, rows=rows, args=args,
        line_count=max(len(lines), 1), base=base or nudge_settings.fingerprint(text),
        zones=sorted(z for z in enrollment.timezones() if z.startswith(("America/", "Pacific/Honolulu", "UTC")))
    ), status


@bp.get("")
@role_required("supervisor")
def edit():
    with db().session() as s:
        text, edited = nudge_settings.current_text(s)
    return _page(text, edited, args=_preview_args(request.args))


@bp.post("")
@role_required("supervisor")
def act():
    action = request.form.get("action", "check")
    text = request.form.get("text", "").replace("\r\n", "\n").replace("\r", "\n")
    args = _preview_args(request.form)
    with db().session() as s:
        current, edited = nudge_settings.current_text(s)
        if action == "restore":
            if nudge_settings.stored_text(s) is not None:
                program_settings.delete(s, nudge_settings.SETTING)
                audit.record(s, me(), "nudges_restore", now(), None)
            flash("The shipped schedule and texts are in force again.", "info")
            return redirect(url_for(".edit"))
        if action != "save":
            return _page(text, edited, args=args, base=request.form.get("base"))
        schedule, findings = nudge_settings.check(text)
        if schedule is None:
            flash(f"Not saved: {len(findings)} mistake{'s' if len(findings) != 1 else ''} to fix first, "
                  "each marked below at its line.", "error")
            return _page(text, edited, args=args, status=422, base=request.form.get("base"))
        if request.form.get("base") != nudge_settings.fingerprint(current):
            flash("Not saved: someone else saved the schedule while you were editing. Your text is below; "
                  "reload the page in another tab to compare, then save again to replace theirs.", "warning")
            return _page(text, edited, args=args, status=409, base=nudge_settings.fingerprint(current))
        if text == nudge_settings.shipped_text():
            program_settings.delete(s, nudge_settings.SETTING)
        else:
            program_settings.put(s, nudge_settings.SETTING, text)
        was = nudge_settings.check(current)[0]
        audit.record(s, me(), "nudges_save", now(), None, days=len(schedule.days),
                     window_end_day=schedule.window_end_day,
                     before=_summary(was) if was else "unreadable", after=_summary(schedule),
                     lines_changed=sum(1 for ln in difflib.ndiff(current.splitlines(), text.splitlines())
                                       if ln[:1] in "+-"))
    flash("Saved. Texts not yet sent use the new words; a changed schedule applies to plans made from now on.",
          "info")
    return redirect(url_for(".edit", **{k: v for k, v in request.form.items() if k in (
        "release", "tz", "checkin_time", "lang", "open", "enrolled")}))


@bp.get("/help")
@role_required("supervisor")
def help_page():
    """A short guide to the nudge schedule (docs/nudges.md), inside the console."""
    title, html = help_docs.guide("nudges")
    return render_template("admin/help.html", title=title, html=html, back=url_for(".edit"))
