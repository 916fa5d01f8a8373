"""What to do with one inbound text: the whole decision, pure.

Order matters and is the safety policy: opt-out keywords (STOP always works), then emergency
and crisis detection (answered even for someone who opted out: they wrote first), then the
other keywords, then the flows. Someone opted out gets nothing else back.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from core import engine, keywords, messages, safety
from core.effects import (CancelTimeout, EndConversation, Escalate, OptIn, OptOut, Outcome,
                         RecordEvent, Reply, SetField, SetLanguage)
from core.services import Services


@dataclass(frozen=True)
class Person:
    opted_out: bool = False
    lang: str = "en"
    new: bool = False           # this is the first thing they ever sent us


MENU_WORDS = {"menu", "opciones", "inicio"}
MORE_WORDS = {"more", "mas"}
WELCOME_FLOW = "welcome"


@dataclass(frozen=True)
class Flows:
    """The flows as this message sees them: the latest published set (for trigger words, the
    menu and new conversations) and the definition the running conversation started on."""
    registry: object            # core.flows.registry.Registry
    current: object = None      # core.flows.schema.Definition of the running conversation


def _say(key: str, lang: str, services: Services, **extra) -> Reply:
    return Reply(messages.text(key, lang, program=services.context.program_name, **extra))


def decide(text: str, num_media: int, person: Person, state: dict | None, now: datetime,
           services: Services, flows: Flows | None = None) -> Outcome:
    body = (text or "").strip()
    lang = person.lang
    kw = keywords.match(body) if body else None

    if kw and kw.kind == "opt_out":
        # Twilio's own STOP handling sends the carrier-compliant confirmation on SMS.
        return Outcome(None, (OptOut(kw.word),))

    verdict = safety.classify(body) if body else None
    if verdict and verdict.kind:
        reply_lang = verdict.lang_hint or lang
        if verdict.kind == "emergency":
            effects = [_say("emergency", reply_lang, services)]
            if messages.has("emergency_2"):
                effects.append(_say("emergency_2", reply_lang, services))
            effects.append(Escalate("emergency", "urgent", f"classifier: {verdict.matched}"))
        else:
            effects = [_say("crisis", reply_lang, services),
                       Escalate("crisis", "urgent", f"classifier: {verdict.matched}")]
        effects.append(RecordEvent("safety", {"kind": verdict.kind}))
        return Outcome(state, tuple(effects))

    if kw and kw.kind == "opt_in" and (person.opted_out or not kw.only_when_opted_out):
        return Outcome(None, (OptIn(kw.word), _say("opted_in", lang, services)))

    if kw and kw.kind == "help":
        return Outcome(state, (_say("help", kw.lang or lang, services),))

    if person.opted_out:
        return Outcome(state, ())

    if kw and kw.kind == "language":
        effects = [SetLanguage(kw.value), _say("language_set", kw.value, services)]
        if state and flows is not None and flows.current is not None:
            state = dict(state, lang=kw.value)
            effects += engine.repeat(flows.current, state, services).effects
        return Outcome(state, tuple(effects))

    if not body:
        return Outcome(state, (_say("media_only" if num_media else "empty", lang, services),))

    if flows is None:
        return Outcome(state, (_say("menu", lang, services),))
    return converse(body, state, flows, now, services, first_contact=person.new)


def converse(body: str, state: dict | None, flows: Flows, now: datetime, services: Services,
             first_contact: bool = False) -> Outcome:
    """Trigger words start their flow from any state; otherwise the message answers the waiting
    question; otherwise a menu number starts a flow; a first text from someone new starts the
    welcome; anything else gets the menu (never an "invalid input")."""
    registry, prefix = flows.registry, ()
    if state is not None and engine.expired(state, now):
        prefix, state = engine.step(flows.current, state, body, now, services).effects, None

    word = keywords.normalise(body).lower().strip(" .!?")
    last_place = services.context.fields.get("last_place") or {}
    if word in MORE_WORDS and "lat" in last_place:   # a waiting question stays open
        result = services.more(services.context.lang, last_place)
        effects = tuple(Reply(t) for t in result.texts)
        if result.place:
            effects += (SetField("last_place", dict(result.place)),)
        return Outcome(state, prefix + effects + (RecordEvent("locator", {"need": last_place.get("need"),
                                                                          "status": "more", "sites": result.sites}),))

    if word in MENU_WORDS:
        if state is not None:
            prefix += (CancelTimeout(), EndConversation("menu"))
        return Outcome(None, prefix + (_say("menu", services.context.lang, services),))

    route = registry.route(body)
    if route is not None:
        if state is not None:
            prefix += (CancelTimeout(), EndConversation("interrupted"))
        if route.lang and route.lang != services.context.lang:
            prefix += (SetLanguage(route.lang),)   # "NALOXONA 60614": answer in Spanish from now on
        return _begin(registry, route.flow, route.params, prefix, now, services)

    if state is not None and flows.current is not None and state.get("waiting"):
        outcome = engine.step(flows.current, state, body, now, services)
        return _with_prefix(prefix, engine.follow(outcome, registry.get, now, services))

    choice = registry.menu_choice(body)
    if choice is not None:
        return _begin(registry, choice, {}, prefix, now, services)
    if first_contact and registry.get(WELCOME_FLOW) is not None:
        return _begin(registry, WELCOME_FLOW, {}, prefix, now, services)
    return Outcome(state, prefix + (_say("menu", services.context.lang, services),))


def _begin(registry, name: str, params: dict, prefix: tuple, now: datetime, services: Services) -> Outcome:
    outcome = engine.start(registry.get(name), now, engine.with_effects(services, prefix), params)
    return _with_prefix(prefix, engine.follow(outcome, registry.get, now, services))


def _with_prefix(prefix: tuple, outcome: Outcome) -> Outcome:
    return Outcome(outcome.state, prefix + tuple(outcome.effects)) if prefix else outcome
