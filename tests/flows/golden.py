"""Golden conversations: a mini-runtime that plays a conversation script against a flow.

A script (tests/flows/<flow>.<lang>.yaml) lists what the person does and exactly what
Homeward does back, in order, so a supervisor can read a whole conversation in one place.
This module plays scripts against the pure core with a fake locator (tests/fakes.py): a text
goes through `core.conversation.decide`, as every inbound message does, so STOP, safety and
keyword precedence are part of every script; a start or a timer goes through the engine. It
keeps what the runtime keeps (fields and language in the context, opted out, the timer armed
by ScheduleTimeout) but stores nothing; effects are written as core/describe.py describes them.

Re-record after changing a flow, then read the diff before committing:
    .venv/bin/python -m tests.flows.golden tests/flows/checkin.en.yaml [...]
"""
from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path

import yaml

from core import conversation, engine
from core import effects as fx
from core.describe import script_line
from core.flows.registry import Registry, load_registry
from core.flows.schema import parse_duration
from core.services import Context
from tests.fakes import FakeServices

ROOT = Path(__file__).resolve().parents[2]
FLOWS = ROOT / "bot" / "content" / "flows"
DEFAULT_NOW = "2025-03-03T14:00:00+00:00"


class Flow(dict):
    """A mapping written on one line in scripts ({first_name: Ana})."""


def describe(effect, now: datetime):
    """One effect as a script line (core/describe.py), mappings written on one line."""
    return _inline(script_line(effect, now))


def _inline(line):
    if isinstance(line, dict) and len(line) == 1:
        (key, value), = line.items()
        return {key: _flow(value)}
    return line


def _flow(value):
    return Flow({k: _flow(v) for k, v in value.items()}) if isinstance(value, dict) else value


class Player:
    """Plays one conversation: holds the state, the clock, the context and the timer."""

    def __init__(self, registry: Registry, flow: str, lang: str, context: dict, now: datetime):
        ctx = dict(context or {})
        fields = dict(ctx.pop("fields", {}) or {})
        self.services = FakeServices(Context(lang=lang, fields=fields, **ctx))
        self.registry, self.flow, self.now = registry, flow, now
        self.state: dict | None = None
        self.timer: datetime | None = None
        self.opted_out = False

    def _apply(self, outcome) -> list:
        out = engine.follow(outcome, self.registry.get, self.now, self.services)
        self.services.context = engine.with_effects(self.services, out.effects).context
        for e in out.effects:
            if isinstance(e, fx.ScheduleTimeout):
                self.timer = e.at
            elif isinstance(e, (fx.CancelTimeout, fx.EndConversation)):
                self.timer = None
            elif isinstance(e, (fx.OptOut, fx.OptIn)):
                self.opted_out = isinstance(e, fx.OptOut)
        self.state = out.state
        if self.state is None:
            self.timer = None      # nothing left to wake (STOP, MENU, the end)
        return [describe(e, self.now) for e in out.effects]

    def _text(self, body: str) -> list:
        """The person texts `body`: the runtime's whole decision (keywords, safety, flows)."""
        current = self.registry.get(self.state["flow"]) if self.state else None
        person = conversation.Person(opted_out=self.opted_out, lang=self.services.context.lang)
        return self._apply(conversation.decide(body, 0, person, self.state, self.now, self.services,
                                               flows=conversation.Flows(self.registry, current)))

    def play(self, step: dict) -> list:
        if "after" in step:
            self.now += parse_duration(str(step["after"]))
        if "start" in step:
            params = step["start"] or {}
            return self._apply(engine.start(self.registry.get(self.flow), self.now, self.services, params))
        if "route" in step:
            assert self.registry.route(str(step["route"])), f"'{step['route']}' starts no flow"
            return self._text(str(step["route"]))
        if "send" in step:
            return self._text(str(step["send"]))
        if "wait" in step:
            self.now += parse_duration(str(step["wait"]))
            if self.timer is None or self.now < self.timer:
                return []
            self.now = max(self.now, self.timer)
            definition = self.registry.get(self.state["flow"])
            self.timer = None
            return self._apply(engine.timeout(definition, self.state, self.now, self.services))
        raise ValueError(f"a step is start, route, send or wait: {step}")


def load_script(path: Path) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def play_script(script: dict, registry: Registry):
    """Yield (conversation name, step index, step, actual lines) for every step."""
    for conv in script["conversations"]:
        player = Player(registry, script["flow"], script.get("lang", "en"),
                        {**(script.get("context") or {}), **(conv.get("context") or {})},
                        datetime.fromisoformat(str(script.get("start_time", DEFAULT_NOW))))
        for i, step in enumerate(conv["steps"]):
            yield conv["name"], i, step, player.play(step)


class _Dumper(yaml.SafeDumper):
    pass


_Dumper.add_representer(type(None), lambda d, v: d.represent_scalar("tag:yaml.org,2002:null", ""))
_Dumper.add_representer(Flow, lambda d, v: d.represent_mapping("tag:yaml.org,2002:map", v, flow_style=True))


def record(path: Path, registry: Registry) -> None:
    """Rewrite the `expect:` of every step in a script from what the flow does now."""
    text = path.read_text(encoding="utf-8")
    header = "".join(line for line in text.splitlines(keepends=True)[:40]
                     if line.startswith("#")) if text.startswith("#") else ""
    script = load_script(path)
    for conv_name, i, step, actual in play_script(script, registry):
        conv = next(c for c in script["conversations"] if c["name"] == conv_name)
        conv["steps"][i] = {**{k: v for k, v in step.items() if k != "expect"}, "expect": actual}
    body = yaml.dump(script, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=1000)
    path.write_text(header + body, encoding="utf-8")


if __name__ == "__main__":
    reg = load_registry(FLOWS)
    for arg in sys.argv[1:]:
        record(Path(arg), reg)
        print("recorded", arg)
