"""The flow engine: a conversation moves through a flow definition, one message at a time.

Pure and deterministic (goflow-style): `start`, `step` and `timeout` take the definition, the
conversation state (a JSON-serialisable dict), the input and `now`, and return
Outcome(new_state, effects). Nothing is sent, stored or scheduled here; the runtime applies
the effects in one transaction. The engine runs nodes until it must wait for the person
(an `ask`, or a `locate` that needs a place) or the flow ends (state None).

Waiting and time:
- every wait with a timeout (the node's, else the flow's) emits ScheduleTimeout; a new
  ScheduleTimeout replaces the conversation's pending one. When the conversation ends while a
  timeout is pending, CancelTimeout comes just before EndConversation.
- timeout() reminds once, then ends with outcome "timed_out" (or goes to the timeout's `then`).
  A timeout that fires early (stale, replaced) changes nothing.
- a conversation expires `expires_after` from its start: step() then ends it with outcome
  "expired" and no reply, and the runtime handles the message as if no conversation ran
  (check expired() first to do that in one pass).

Starting another flow: a `flow` node ends this conversation and emits StartFlow(name, params);
the runtime starts that flow's published version. follow() does it for pure callers.
"""
from __future__ import annotations

import copy
import dataclasses
from datetime import datetime
from typing import Any, Callable, Mapping
from zoneinfo import ZoneInfo

from core.effects import (CancelTimeout, EndConversation, Escalate, Outcome, RecordEvent, Reply,
                         ScheduleTimeout, SetField, SetLanguage, StartFlow)
from core.flows import answers, defaults
from core.flows.conditions import evaluate
from core.flows.schema import LANGS, PRIORITIES, Definition, Node, Text
from core.flows.templates import render, render_value

MAX_STEPS = 100          # nodes run for one input before the engine assumes a loop
LOCATOR_WAIT = ("need_place", "ambiguous")


def start(definition: Definition, now: datetime, services, params: Mapping | None = None) -> Outcome:
    """Begin `definition` for a person; returns the first texts and the state to store."""
    lang = services.context.lang if services.context.lang in LANGS else "en"
    state = {
        "flow": definition.name,
        "version": definition.version,
        "node": definition.start,
        "lang": lang,
        "answers": dict(params or {}),
        "scores": {name: 0 for name in score_names(definition)},
        "waiting": None,        # "answer" | "place" while the conversation waits
        "reasks": 0,            # re-asks used at the current node
        "reminded": False,      # the current wait's reminder was sent
        "timeout_at": None,     # ISO time of the pending timeout, if any
        "started_at": now.isoformat(),
        "expires_at": (now + definition.expires_after).isoformat(),
    }
    run = _Run(definition, state, services, now)
    run.go(definition.start)
    return run.outcome()


def step(definition: Definition, state: dict, message: str, now: datetime, services) -> Outcome:
    """Feed one message from the person into a waiting conversation."""
    if expired(state, now):
        return _expire(state)
    run = _Run(definition, copy.deepcopy(state), services, now)
    node = definition.nodes.get(state.get("node"))
    if node is None or not state.get("waiting"):
        run.finish("error")
    elif node.type == "locate":
        run.place_answer(node, message)
    else:
        run.answer(node, message)
    return run.outcome()


def offers(definition: Definition | None, state: dict | None, message: str) -> bool:
    """The waiting question lists `message` as one of its choices ("talk" when it offers
    "2 to talk with a peer"): that answer is the person's reply, not a trigger word."""
    node = definition.nodes.get(state.get("node")) if definition and state and state.get("waiting") else None
    return bool(node and node.type == "ask" and node.choices and answers.offered(message, node.choices))


def timeout(definition: Definition, state: dict | None, now: datetime, services) -> Outcome:
    """The conversation's ScheduleTimeout fired: remind once, then end (outcome timed_out)."""
    if not state or not state.get("waiting") or not state.get("timeout_at"):
        return Outcome(state, ())
    if now < datetime.fromisoformat(state["timeout_at"]):
        return Outcome(state, ())            # an older timeout, since replaced
    if expired(state, now):
        return _expire({**state, "timeout_at": None})
    run = _Run(definition, copy.deepcopy(state), services, now)
    run.pending = False
    node = definition.nodes.get(state["node"])
    cfg = (node.timeout if node else None) or definition.timeout
    if node and cfg and not state.get("reminded"):
        run.say((cfg.remind or (node.texts[-1] if node.texts else defaults.REMIND_PLACE),))
        run.schedule(cfg)
        run.state["reminded"] = True
    else:
        run.emit(RecordEvent("timed_out", {"flow": definition.name, "node": state["node"]}))
        if cfg and cfg.then:
            run.go(cfg.then)
        else:
            run.finish("timed_out")
    return run.outcome()


def repeat(definition: Definition, state: dict | None, services) -> Outcome:
    """The waiting question again, in state["lang"]: for the runtime after ESPAÑOL/ENGLISH
    switches the language mid-conversation. No timers change."""
    node = definition.nodes.get(state.get("node")) if state and state.get("waiting") else None
    if node is None:
        return Outcome(state, ())
    run = _Run(definition, copy.deepcopy(state), services, datetime.fromisoformat(state["started_at"]))
    run.say((node.texts[-1] if node.texts else defaults.REMIND_PLACE,))
    return Outcome(state, tuple(run.effects))


def expired(state: dict | None, now: datetime) -> bool:
    return bool(state and state.get("expires_at")
                and now >= datetime.fromisoformat(state["expires_at"]))


def follow(outcome: Outcome, definitions: Callable[[str], Definition | None], now: datetime,
           services) -> Outcome:
    """Resolve StartFlow effects the way the runtime does: start each named flow (with the
    language and fields the earlier effects set) and append its effects."""
    effects = list(outcome.effects)
    state = outcome.state
    for _ in range(5):
        handoff = effects[-1] if effects and isinstance(effects[-1], StartFlow) else None
        if handoff is None:
            break
        definition = definitions(handoff.flow)
        if definition is None:
            break
        nxt = start(definition, now, with_effects(services, effects), handoff.params)
        effects += nxt.effects
        state = nxt.state
    return Outcome(state, tuple(effects))


def with_effects(services, effects) -> Any:
    """A Services view whose context reflects SetField/SetLanguage effects not yet stored."""
    ctx = services.context
    fields = dict(ctx.fields)
    lang = ctx.lang
    for e in effects:
        if isinstance(e, SetField):
            fields[e.name] = e.value
        elif isinstance(e, SetLanguage):
            lang = e.language
    return _Overlay(dataclasses.replace(ctx, fields=fields, lang=lang), services)


class _Overlay:
    def __init__(self, context, inner):
        self.context, self._inner = context, inner

    def locate(self, *args, **kwargs):
        return self._inner.locate(*args, **kwargs)


def score_names(definition: Definition) -> list[str]:
    names: dict[str, None] = {}
    for node in definition.nodes.values():
        for c in node.choices:
            names.update(dict.fromkeys(c.add))
        names.update(dict.fromkeys(node.add))
    return list(names)


def _expire(state: dict) -> Outcome:
    effects = [CancelTimeout()] if state.get("timeout_at") else []
    effects += [RecordEvent("expired", {"flow": state.get("flow"), "node": state.get("node")}),
                EndConversation("expired")]
    return Outcome(None, tuple(effects))


class _Run:
    """One call's worth of work: the state being changed and the effects collected."""

    def __init__(self, definition: Definition, state: dict, services, now: datetime):
        self.d, self.state, self.services, self.now = definition, state, services, now
        self.effects: list = []
        self.pending = bool(state.get("timeout_at"))
        self.ended = False
        self.extra: dict[str, Any] = {}

    # -- helpers -------------------------------------------------------------------------
    def outcome(self) -> Outcome:
        return Outcome(None if self.ended else self.state, tuple(self.effects))

    def emit(self, effect) -> None:
        self.effects.append(effect)

    @property
    def lang(self) -> str:
        return self.state.get("lang") or "en"

    def lookup(self, name: str) -> Any:
        if name in self.extra:
            return self.extra[name]
        if name in self.state["answers"]:
            return self.state["answers"][name]
        if name in self.state["scores"]:
            return self.state["scores"][name]
        ctx = self.services.context
        if name in ctx.fields:
            return ctx.fields[name]
        builtins = {"program": ctx.program_name, "peer_name": ctx.peer_name,
                    "coverage": (ctx.coverage or {}).get(self.lang) or (ctx.coverage or {}).get("en"),
                    "peer_on_duty": ctx.peer_on_duty, "lang": self.lang, "channel": ctx.channel}
        return builtins.get(name)

    def say(self, texts: tuple[Text, ...]) -> None:
        for t in texts:
            self.emit(Reply(render(t.get(self.lang), self.lookup)))

    def remember(self, name: str, value: Any, as_field: bool) -> None:
        self.state["answers"][name] = value
        if as_field:
            self.emit(SetField(name, value))

    def schedule(self, cfg) -> None:
        at = self.now + cfg.after
        self.emit(ScheduleTimeout(at))
        self.state["timeout_at"] = at.isoformat()
        self.pending = True

    def wait(self, node: Node, kind: str, fresh: bool = True) -> None:
        self.state.update(node=node.id, waiting=kind, reminded=False)
        if fresh:
            self.state["reasks"] = 0
        cfg = node.timeout or self.d.timeout
        if cfg:
            self.schedule(cfg)
        elif self.pending:
            self.emit(CancelTimeout())
            self.state["timeout_at"], self.pending = None, False

    def finish(self, outcome: str) -> None:
        if self.pending:
            self.emit(CancelTimeout())
        self.emit(EndConversation(outcome))
        self.ended = True

    def today(self):
        if self.now.tzinfo is None:
            return self.now.date()
        try:
            return self.now.astimezone(ZoneInfo(self.services.context.timezone)).date()
        except Exception:  # an unknown zone name: the UTC date is close enough
            return self.now.date()

    # -- running nodes -----------------------------------------------------------------
    def go(self, node_id: str | None) -> None:
        for _ in range(MAX_STEPS):
            node = self.d.nodes.get(node_id) if node_id else None
            if node is None:
                self.emit(RecordEvent("flow_error", {"flow": self.d.name, "node": node_id}))
                return self.finish("error")
            kind = node.type
            if kind == "say":
                self.say(node.texts)
            elif kind == "ask":
                self.say(node.texts)
                return self.wait(node, "answer")
            elif kind == "branch":
                node_id = next((c.next for c in node.cases if evaluate(c.tree, self.lookup)), node.otherwise)
                continue
            elif kind == "set":
                self.apply_set(node)
            elif kind == "escalate":
                prio = render(node.priority, self.lookup)
                self.emit(Escalate(render(node.reason, self.lookup) or "peer_request",
                                   prio if prio in PRIORITIES else "normal",
                                   render(node.note, self.lookup)))
            elif kind == "record":
                self.emit(RecordEvent(node.event, {k: render_value(v, self.lookup) for k, v in node.data.items()}))
            elif kind == "locate":
                place = render(node.place, self.lookup).strip() if node.place else ""
                result = self.locate(node, place or None)
                self.say_plain(result.texts)
                if result.status in LOCATOR_WAIT:
                    return self.wait(node, "place")
                self.located(node, result)
            elif kind == "flow":
                params = {k: render_value(v, self.lookup) for k, v in node.params.items()}
                self.finish("completed")
                self.emit(StartFlow(node.flow, params))
                return
            elif kind == "end":
                self.say(node.texts)
                return self.finish(node.outcome)
            node_id = node.next
        self.emit(RecordEvent("flow_error", {"flow": self.d.name, "node": node_id, "loop": True}))
        self.finish("error")

    def apply_set(self, node: Node) -> None:
        for k, v in node.values.items():
            self.remember(k, render_value(v, self.lookup), as_field=False)
        for k, v in node.fields.items():
            self.remember(k, render_value(v, self.lookup), as_field=True)
        for k, v in node.add.items():
            self.state["scores"][k] = self.state["scores"].get(k, 0) + v
        if node.language:
            lang = str(render_value(node.language, self.lookup) or "").lower()
            if lang in LANGS:
                self.state["lang"] = lang
                self.emit(SetLanguage(lang))

    def answer(self, node: Node, message: str) -> None:
        got = answers.read(node, message, self.lang, self.today())
        if got.status == "ok":
            self.remember(node.save, got.value, as_field=False)
            if node.expect == "date":
                self.state["answers"][node.save + "_said"] = answers.date_in_words(got.value, self.lang)
                if got.value > self.today().isoformat():   # "i get out friday": a day to come
                    self.state["answers"][node.save + "_ahead"] = True
            if node.field:
                self.remember(node.field, got.value, as_field=True)
            for k, v in (got.choice.add if got.choice else {}).items():
                self.state["scores"][k] = self.state["scores"].get(k, 0) + v
            return self.go((got.choice.next if got.choice and got.choice.next else None) or node.next)
        if got.status == "skip":
            return self.go(node.next or node.fallback)
        if got.status == "ahead":
            self.say((defaults.AHEAD,))
            return self.go(node.next or node.fallback)
        hints = node.reask or defaults.HINTS[node.expect]
        if self.state["reasks"] < len(hints):
            self.extra = {"count": len(node.choices), "min": node.min, "max": node.max}
            self.say((hints[self.state["reasks"]],))
            self.extra = {}
            self.state["reasks"] += 1
            return self.wait(node, "answer", fresh=False)
        self.give_up(node, defaults.GIVE_UP)

    def give_up(self, node: Node, default: Text) -> None:
        self.say((node.give_up or default,))
        self.emit(RecordEvent("answer_not_understood", {"flow": self.d.name, "node": node.id}))
        self.go(node.fallback or node.next)

    # -- the locator ---------------------------------------------------------------------
    def locate(self, node: Node, place_text: str | None):
        last = self.state["answers"].get("last_place") or self.services.context.fields.get("last_place")
        return self.services.locate(node.need, place_text, self.lang, last)

    def say_plain(self, texts) -> None:
        for text in texts:
            self.emit(Reply(text))

    def located(self, node: Node, result) -> None:
        if result.place:
            zone = home_timezone(dict(result.place), self.services.context.fields, self.services.context.timezone)
            self.remember("last_place", dict(result.place), as_field=True)
            if zone:
                self.emit(SetField("timezone", zone))
        self.emit(RecordEvent("locator", {"need": node.need, "status": result.status, "sites": result.sites}))

    def place_answer(self, node: Node, message: str) -> None:
        if answers.is_skip(message) or answers.yes_no(message) is False:  # "no", "skip": move on
            return self.go(node.fallback or node.next)
        result = self.locate(node, message.strip() or None)
        if result.status in LOCATOR_WAIT:
            if self.state["reasks"] >= 2:
                return self.give_up(node, defaults.LOCATE_GIVE_UP)
            self.say_plain(result.texts)
            self.state["reasks"] += 1
            return self.wait(node, "place", fresh=False)
        self.say_plain(result.texts)
        self.located(node, result)
        self.go(node.next)


def home_timezone(place: dict, fields, current: str) -> str | None:
    """The first place a person names is where they live ("narcan 60623" from Chicago): their
    check-ins and quiet hours then follow its clock, not the program's (09:07 in New York is
    08:07, quiet hours, in Chicago). None when a place was named before, or the clock is the same."""
    zone = place.get("timezone")
    return zone if zone and not fields.get("last_place") and zone != current else None
