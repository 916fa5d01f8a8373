"""The flow editor's simulator: text a draft flow as a participant would (pure apart from the
locator it is handed, which only reads).

It runs `core.conversation.decide`, the runtime's own decision (STOP, safety, keywords, trigger
words, the menu, the flows), against a registry in which the draft replaces the published
version of its flow, so the draft behaves exactly as it will live. Nothing is sent and nothing
is stored: the effects are applied to a small dict (`Sim`) that the page carries between
requests, signed, in a hidden field.
"""
from __future__ import annotations

import copy
from datetime import datetime
from typing import Any, Mapping

from core import conversation, describe, engine
from core.effects import OptIn, OptOut, Outcome, ScheduleTimeout, SetField, SetLanguage
from core.flows.registry import Registry
from core.services import BoundServices, Context

MAX_LOG = 80          # transcript lines kept (the oldest drop off)


DUTY = ("live", "on", "off")   # the program's facts now, or as if a peer is on / off duty


def new_sim(lang: str = "en", new: bool = True, duty: str = "live") -> dict:
    """A simulated person who has not texted yet. JSON-able: it travels in the page."""
    return {"state": None, "lang": lang if lang in ("en", "es") else "en", "opted_out": False,
            "fields": {}, "log": [], "clock": None, "new": bool(new), "duty": duty if duty in DUTY else "live"}


def on_duty(sim: dict, live_on_duty: bool) -> bool:
    """Whether the simulated program has a peer on duty: the live fact unless the supervisor chose."""
    return {"on": True, "off": False}.get(sim.get("duty", "live"), live_on_duty)


def registry_with(draft, published: list) -> Registry:
    """The published flows with `draft` in place of its own name's latest version."""
    return Registry([d for d in published if d.name != draft.name] + [draft])


def _clock(sim: dict, now: datetime) -> datetime:
    """Simulated time never runs backwards (a timer that fired moved it ahead)."""
    if sim.get("clock"):
        return max(now, datetime.fromisoformat(sim["clock"]))
    return now


def _services(sim: dict, program: str, coverage: Mapping[str, str] | None, locator, now: datetime,
              tz: str, peer_on_duty: bool = False) -> BoundServices:
    ctx = Context(lang=sim["lang"], fields=dict(sim["fields"]), program_name=program, timezone=tz,
                  peer_on_duty=on_duty(sim, peer_on_duty),
                  **({"coverage": {**Context().coverage, **dict(coverage)}} if coverage else {}))
    return BoundServices(ctx, locator, now)


def send(sim: dict, body: str, registry: Registry, now: datetime, program: str = "Homeward",
         locator=None, coverage: Mapping[str, str] | None = None, tz: str = "America/New_York",
         peer_on_duty: bool = False) -> dict:
    """The simulated person texts `body`; returns the new sim (the input is not changed).
    `tz` is the simulated person's time zone: timers are shown in it. `peer_on_duty` is the live
    fact, used unless the sim says "as if on/off duty"."""
    sim = _copy(sim)
    at = _clock(sim, now)
    services = _services(sim, program, coverage, locator, at, tz, peer_on_duty)
    state = sim["state"]
    current = registry.get(state["flow"]) if state else None
    if state is not None and current is None:
        state = None   # the flow it ran is no longer there
    person = conversation.Person(opted_out=sim["opted_out"], lang=sim["lang"],
                                 new=sim["new"] and not any(e["who"] == "you" for e in sim["log"]))
    outcome = conversation.decide(body, 0, person, state, at, services,
                                  flows=conversation.Flows(registry, current))
    _log(sim, "you", body)
    return _apply(sim, outcome, at, tz)


def wait(sim: dict, registry: Registry, now: datetime, program: str = "Homeward", locator=None,
         coverage: Mapping[str, str] | None = None, tz: str = "America/New_York",
         peer_on_duty: bool = False) -> dict:
    """The person stays silent until the waiting question's timer fires."""
    sim = _copy(sim)
    state = sim["state"]
    current = registry.get(state["flow"]) if state else None
    if not state or not state.get("timeout_at") or current is None:
        _log(sim, "note", "Nothing is waiting on a timer.")
        return sim
    at = max(_clock(sim, now), datetime.fromisoformat(state["timeout_at"]))
    services = _services(sim, program, coverage, locator, at, tz, peer_on_duty)
    _log(sim, "note", f"… silence until {describe.local_time(at, tz)}")
    outcome = engine.follow(engine.timeout(current, state, at, services), registry.get, at, services)
    return _apply(sim, outcome, at, tz)


def _apply(sim: dict, outcome: Outcome, at: datetime, tz: str) -> dict:
    """Keep what the runtime keeps on the simulated person (language, fields, opted out); every
    effect is logged as core/describe.py words it."""
    for effect in outcome.effects:
        if isinstance(effect, SetLanguage):
            sim["lang"] = effect.language
        elif isinstance(effect, SetField):
            sim["fields"][effect.name] = effect.value
        elif isinstance(effect, (OptOut, OptIn)):
            sim["opted_out"] = isinstance(effect, OptOut)
        line = describe.trace(effect, tz)
        if line is None:
            _log(sim, "bot", effect.text)
        elif isinstance(effect, ScheduleTimeout):
            _log(sim, "effect", f"{line.sentence} (use “Stay silent”)")
        else:
            _log(sim, "effect", line.sentence)
    sim["state"] = outcome.state
    sim["clock"] = at.isoformat()
    return sim


def _log(sim: dict, who: str, text: str) -> None:
    sim["log"].append({"who": who, "text": str(text)})
    del sim["log"][:-MAX_LOG]


def _copy(sim: dict) -> dict:
    return copy.deepcopy(sim)


def well_formed(sim: Any) -> bool:
    """A sim read back from the page has the keys new_sim() gives (else start afresh)."""
    return (isinstance(sim, dict) and set(new_sim()) <= set(sim)
            and isinstance(sim["log"], list) and isinstance(sim["fields"], dict)
            and (sim["state"] is None or isinstance(sim["state"], dict)))
