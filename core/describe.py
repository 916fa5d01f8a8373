"""Effects described for people: one describer per effect type, shared by every display.

The flow editor's simulator (web/flow_sim.py), the terminal chat (cli/chat.py) and the golden
conversations (tests/flows/golden.py) all show effects; they read them here, so a new effect
type is described once and no display skips one silently. bot/apply.py is the one interpreter
that acts on effects; this module only says what each one means.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable
from zoneinfo import ZoneInfo

from core import effects as fx


@dataclass(frozen=True)
class Trace:
    """One effect in words. `kind` is a short tag (the terminal prints `kind: detail`);
    `sentence` is the plain sentence a supervisor reads in the simulator."""
    kind: str
    detail: str
    sentence: str


@dataclass(frozen=True)
class _Describer:
    trace: Callable[[object, str], Trace | None]      # (effect, tz) -> Trace; None for a Reply
    script: Callable[[object, datetime], object]        # (effect, now) -> a golden script line


def local_time(at: datetime, tz: str) -> str:
    return at.astimezone(ZoneInfo(tz)).strftime("%a %H:%M %Z")


def span(delta: timedelta) -> str:
    """A duration as a script writes it: 4h, 1d2h, 30m (days only from two days on)."""
    minutes = int(delta.total_seconds() // 60)
    d, rem = divmod(minutes, 1440) if minutes >= 2880 else (0, minutes)
    h, m = divmod(rem, 60)
    return "".join(f"{n}{u}" for n, u in ((d, "d"), (h, "h"), (m, "m")) if n) or "0m"


def _pairs(data: dict | None) -> str:
    return ", ".join(f"{k}={v}" for k, v in (data or {}).items())


def _escalate(e: fx.Escalate, tz: str) -> Trace:
    detail = f"{e.reason} ({e.priority})" + (f": {e.note}" if e.note else "")
    return Trace("escalation", detail, f"ticket for a peer: {detail}")


def _event(e: fx.RecordEvent, tz: str) -> Trace:
    detail = e.name + (f": {_pairs(e.data)}" if e.data else "")
    return Trace("event", detail, f"report event {detail}")


def _escalate_line(e: fx.Escalate, now: datetime):
    d = {"reason": e.reason, "priority": e.priority}
    if e.note:
        d["note"] = e.note
    return {"escalate": d}


DESCRIBERS: dict[type, _Describer] = {
    fx.Reply: _Describer(lambda e, tz: None, lambda e, now: {"say": e.text}),
    fx.Escalate: _Describer(_escalate, _escalate_line),
    fx.SetField: _Describer(
        lambda e, tz: Trace("field", f"{e.name} = {e.value!r}", f"field {e.name} = {e.value!r}"),
        lambda e, now: {"set": {e.name: e.value}}),
    fx.SetLanguage: _Describer(
        lambda e, tz: Trace("language", e.language, f"language set to {e.language}"),
        lambda e, now: {"language": e.language}),
    fx.ScheduleTimeout: _Describer(
        lambda e, tz: Trace("timer", local_time(e.at, tz), f"reminder timer set for {local_time(e.at, tz)}"),
        lambda e, now: {"timeout_in": span(e.at - now)}),
    fx.CancelTimeout: _Describer(
        lambda e, tz: Trace("timer", "cancelled", "reminder timer cancelled"),
        lambda e, now: "cancel_timeout"),
    fx.EndConversation: _Describer(
        lambda e, tz: Trace("ended", e.outcome, f"conversation ended: {e.outcome}"),
        lambda e, now: {"end": e.outcome}),
    fx.RecordEvent: _Describer(_event, lambda e, now: {"record": {e.name: dict(e.data or {})}}),
    fx.OptOut: _Describer(
        lambda e, tz: Trace("opted out", e.keyword, "opted out: nothing more is sent until START"),
        lambda e, now: {"opt_out": e.keyword}),
    fx.OptIn: _Describer(
        lambda e, tz: Trace("opted in", e.keyword, "opted back in"),
        lambda e, now: {"opt_in": e.keyword}),
    fx.StartFlow: _Describer(
        lambda e, tz: Trace("flow", e.flow + (f" {_pairs(e.params)}" if e.params else ""), f"starts flow {e.flow}"),
        lambda e, now: {"start_flow": {e.flow: dict(e.params)} if e.params else e.flow}),
}


def _describer(effect) -> _Describer:
    try:
        return DESCRIBERS[type(effect)]
    except KeyError:
        raise ValueError(f"no describer for effect {type(effect).__name__}; add one to core/describe.py") from None


def trace(effect, tz: str = "UTC") -> Trace | None:
    """The effect in words (None for a Reply: displays show a reply as the bot's text)."""
    return _describer(effect).trace(effect, tz)


def script_line(effect, now: datetime):
    """The effect as a line of a golden conversation script (plain dicts, strings)."""
    return _describer(effect).script(effect, now)
