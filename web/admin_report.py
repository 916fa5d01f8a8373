"""The program report (/admin/report): how the program is doing, for a date range.

The numbers come from web/report_core.py (pure); this shell loads plain rows for the period and
draws each table as a chart with pygal, server-side, inline SVG with no script and nothing from
another site. Every table downloads as CSV. De-identified: only counts, rates and times; no
names, numbers or texts reach the page or the files. CSV downloads are audited.
"""
from __future__ import annotations

import csv
import io
import math
import re
from datetime import date, timedelta
from zoneinfo import ZoneInfo

import pygal
from flask import Blueprint, Response, abort, current_app, render_template, request
from markupsafe import Markup
from pygal.style import Style
from sqlalchemy import or_, select

from bot.tickets import OUTCOMES
from db.models import Escalation, Event, Message, Participant
from web import audit, params, program_settings
from core import report as core
from web.auth import role_required
from web.context import db, me, now
from web.headers import csp_nonce

bp = Blueprint("admin_report", __name__, url_prefix="/admin/report")
DEFAULT_DAYS = 30
MAX_DAYS = 3 * 366
EVENT_NAMES = ("risk_check", "locator", "checkin", "screening", "safety", "timed_out", "expired")
STYLE = Style(background="#ffffff", plot_background="#ffffff", foreground="#1d2330", foreground_strong="#1d2330",
              foreground_subtle="#5b6475", font_family="system-ui, sans-serif", label_font_size=12,
              major_label_font_size=12, legend_font_size=12, title_font_size=15, value_font_size=11,
              colors=("#1f5fbf", "#b86e00", "#3b6e3b", "#b3261e", "#6b4fa3", "#0f7b83", "#56607a"))
PRIORITY_COLORS = ("#b3261e", "#b86e00", "#3b6e3b")          # urgent, high, normal: as in the inbox
TIER_COLORS = ("#3b6e3b", "#b86e00", "#b3261e", "#56607a")    # low, moderate, high, unknown


@bp.after_request
def _no_store(response):
    response.headers["Cache-Control"] = "no-store"
    return response


# -- the period and the rows -----------------------------------------------------------------------

def period_from(args) -> tuple[core.Period, list[str]]:
    tz = current_app.config.get("PROGRAM_TIMEZONE", "America/New_York")
    today = now().astimezone(ZoneInfo(tz)).date()
    problems = []

    def day(name: str, default: date) -> date:
        raw = (args.get(name) or "").strip()
        if not raw:
            return default
        try:
            return params.day(raw)
        except ValueError:
            problems.append(f"“{raw}” is not a date we can report on; showing {default.isoformat()} instead.")
            return default

    end = day("end", today)
    start = day("start", end - timedelta(days=DEFAULT_DAYS - 1))
    if start > end:
        start, end = end, start
    if (end - start).days >= MAX_DAYS:
        start = end - timedelta(days=MAX_DAYS - 1)
        problems.append(f"A report covers at most {MAX_DAYS} days; it starts on {start.isoformat()}.")
    return core.Period(start, end, tz), problems


def load_rows(s, period: core.Period):
    """Plain rows for the period (messages a day either side, so replies and next check-ins at
    its edges count)."""
    persons = [core.PersonRow(pid, status, release, tz or period.tz, consent, opted, created,
                              core.naloxone_answer((fields or {}).get("naloxone_on_hand")))
               for pid, status, release, tz, consent, opted, created, fields in s.execute(
                   select(Participant.id, Participant.status, Participant.release_date, Participant.timezone,
                          Participant.consent_at, Participant.opted_out_at, Participant.created_at,
                          Participant.fields).where(Participant.status != "merged"))]
    lo, hi = period.start_utc - timedelta(days=1), period.end_utc + timedelta(days=1)
    messages = [core.MessageRow(pid, direction, kind, at) for pid, direction, kind, at in s.execute(
        select(Message.participant_id, Message.direction, Message.kind, Message.created_at).where(
            Message.created_at >= lo, Message.created_at < hi,
            or_(Message.direction == "in", Message.kind.in_(core.NUDGE_KINDS)),
            Message.status.not_in(("failed", "undelivered"))))]
    events = [core.EventRow(name, data or {}, at, pid) for name, data, at, pid in s.execute(
        select(Event.name, Event.data, Event.created_at, Event.participant_id).where(
            Event.name.in_(EVENT_NAMES), Event.created_at >= period.start_utc, Event.created_at < period.end_utc))]
    tickets = [core.TicketRow(*row) for row in s.execute(
        select(Escalation.reason, Escalation.priority, Escalation.created_at, Escalation.sla_due_at,
               Escalation.first_response_at, Escalation.resolved_at, Escalation.outcome).where(
            or_(Escalation.created_at.between(period.start_utc, period.end_utc),
                Escalation.resolved_at.between(period.start_utc, period.end_utc))))]
    return persons, messages, events, tickets


def build_report(period: core.Period) -> core.Report:
    with db().session() as s:
        rows = load_rows(s, period)
        targets = program_settings.sla_minutes(s)
    return core.build(period, *rows, targets=targets, outcome_labels=OUTCOMES, now=now())


# -- charts -----------------------------------------------------------------------------------------

def _label(value) -> str:
    """Chart labels are data (reasons, needs): keep them short and free of markup characters."""
    return re.sub(r"[<>&\"'`]", "", str(value)).replace("_", " ")[:40]


def _chart(kind, title: str, colors=None, top: float | None = None, **config):
    """A pygal chart in the page's look. `top`: the largest count shown, for whole-number axes."""
    style = Style(**{**STYLE.to_dict(), **({"colors": colors} if colors else {})})
    options = {"show_legend": True, "legend_at_bottom": True, "truncate_legend": 40, **config}
    if top:     # (pygal cannot place fixed labels on a chart without data)
        step = max(1, math.ceil(top / 8))
        options["y_labels"] = list(range(0, int(top) + step + 1, step))
    return kind(js=[], disable_xml_declaration=True, style=style, width=800, height=340,
                title=re.sub(r"[<>&]", "", title), no_data_text="No data in this period", **options)


def svg(chart) -> Markup:
    """The chart as inline SVG, without pygal's config script (no JavaScript runs on this page),
    its comments and its tooltip's style attribute; its stylesheet carries the CSP nonce."""
    out = chart.render(is_unicode=True)
    out = re.sub(r"<script\b[^>]*>.*?</script>|<!--.*?-->| style=\"[^\"]*\"", "", out, flags=re.S)
    out = out.replace("<style", f'<style nonce="{csp_nonce()}"')
    return Markup(out)


def charts(report: core.Report) -> dict[str, Markup]:
    t = report.tables
    out = {}

    c = _chart(pygal.Bar, "Check-ins answered, % by day since release", range=(0, 100), show_legend=False)
    rows = t["checkins"].rows
    c.x_labels = [str(r[0]) for r in rows]
    c.add("response rate %", [r[3] for r in rows])
    out["checkins"] = svg(c)

    rows, cols = t["risk"].rows, t["risk"].columns[1:]
    c = _chart(pygal.StackedBar, "Risk checks by tier, per week", TIER_COLORS,
               top=max((sum(r[1:]) for r in rows), default=0))
    c.x_labels = [r[0] for r in rows]
    for i, tier in enumerate(cols, start=1):
        c.add(tier, [r[i] or None for r in rows])
    out["risk"] = svg(c)

    rows = t["escalations"].rows
    c = _chart(pygal.StackedBar, "Tickets by reason and priority", PRIORITY_COLORS,
               top=max((r[-1] for r in rows), default=0))
    c.x_labels = [_label(r[0]) for r in rows]
    for i, p in enumerate(core.PRIORITIES, start=1):
        c.add(p, [r[i] or None for r in rows])
    out["escalations"] = svg(c)

    rows = [r for r in t["response"].rows if r[0] != "all"]
    c = _chart(pygal.Bar, "Minutes to first peer response: median, p90 and target")
    c.x_labels = [r[0] for r in rows]
    c.add("median", [r[4] for r in rows])
    c.add("90th percentile", [r[5] for r in rows])
    c.add("target", [r[1] for r in rows])
    out["response"] = svg(c)

    rows, cols = t["locator"].rows, t["locator"].columns[1:-1]
    c = _chart(pygal.StackedBar, "Where-to-get-it questions by need", top=max((r[-1] for r in rows), default=0))
    c.x_labels = [_label(r[0]) for r in rows]
    for i, status in enumerate(cols, start=1):
        c.add(_label(status), [r[i] or None for r in rows])
    out["locator"] = svg(c)

    c = _chart(pygal.Pie, "Naloxone on hand (of those asked)", ("#3b6e3b", "#b3261e"), inner_radius=0.45)
    for answer, n, _ in t["naloxone"].rows[:2]:
        c.add(answer, n or None)
    out["naloxone"] = svg(c)

    rows = [r for r in t["outcomes"].rows if r[1]]
    c = _chart(pygal.HorizontalBar, "Recorded outcomes", show_legend=False, top=max((r[1] for r in rows), default=0))
    c.x_labels = [_label(r[0]) for r in rows]
    c.add("tickets", [r[1] for r in rows])
    out["outcomes"] = svg(c)
    return out


# -- pages ------------------------------------------------------------------------------------------

@bp.get("")
@role_required("supervisor")
def index():
    period, problems = period_from(request.args)
    report = build_report(period)
    people = {r[0]: r for r in report.tables["people"].rows}
    return render_template("admin/report.html", report=report, period=period, problems=problems,
                           charts=charts(report), people=people,
                           order=("people", "checkins", "risk", "escalations", "response", "locator",
                                  "naloxone", "outcomes", "events"))


def _cell(value):
    """No formulas: a text cell a spreadsheet would run (=, +, -, @) is written as text."""
    if value is None:
        return ""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


@bp.get("/<name>.csv")
@role_required("supervisor")
def download(name: str):
    period, _ = period_from(request.args)
    report = build_report(period)
    table = report.tables.get(name)
    if table is None:
        abort(404)
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(table.columns)
    for row in table.rows:
        writer.writerow([_cell(v) for v in row])
    with db().session() as s:
        audit.record(s, me(), "report_export", now(), None, table=name, start=period.start.isoformat(),
                     end=period.end.isoformat())
    filename = f"homeward-{name}-{period.start.isoformat()}-to-{period.end.isoformat()}.csv"
    return Response(buf.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})
