"""What a flow file may say (schema 1), turned into frozen values the engine can trust.

This module says what a flow may contain (the keys of each node type, the answer types, the
schema versions) and holds the values the engine runs on. reader.py turns YAML into these
values, reporting each problem at its line; checker.py checks meaning across nodes and flows.
Definitions carry `schema:`; a number this code does not know is refused, so an old engine
never half-runs a newer flow.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field as _field
from datetime import timedelta
from functools import cached_property
from typing import Any, Mapping

from .words import tokens

SCHEMA_VERSIONS = (1,)
LANGS = ("en", "es")
NODE_TYPES = ("say", "ask", "branch", "set", "escalate", "locate", "record", "flow", "end")
EXPECTS = ("choice", "yesno", "number", "zip", "place", "date", "time", "name", "text")
PRIORITIES = ("normal", "high", "urgent")
DEFAULT_EXPIRES = timedelta(hours=24)

_COMMON = {"type", "comment", "long_turn"}
_KEYS = {
    "say": {"text", "next"},
    "ask": {"text", "expect", "choices", "min", "max", "save", "field", "optional", "reask",
            "give_up", "fallback", "timeout", "next"},
    "branch": {"cases", "else"},
    "set": {"save", "fields", "add", "language", "next"},
    "escalate": {"reason", "priority", "note", "next"},
    "locate": {"need", "place", "give_up", "fallback", "timeout", "next"},
    "record": {"event", "data", "next"},
    "flow": {"flow", "params"},
    "end": {"text", "outcome"},
}
_REQUIRED = {"say": ("text",), "ask": ("text", "expect"), "branch": ("cases",),
             "escalate": ("reason",), "locate": ("need",), "record": ("event",), "flow": ("flow",)}
_FLOW_KEYS = {"schema", "name", "title", "description", "keywords", "keyword_rest", "menu",
              "start", "expires_after", "timeout", "params", "nodes"}
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_NODE_ID = re.compile(r"^[A-Za-z0-9_-]+$")
_DURATION = re.compile(r"^\s*(?:(\d+)\s*d)?\s*(?:(\d+)\s*h)?\s*(?:(\d+)\s*m)?\s*$")


@dataclass(frozen=True)
class Problem:
    path: str
    line: int
    severity: str  # "error" | "warning"
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.severity}: {self.message}"


@dataclass(frozen=True)
class Text:
    """One participant-facing text in every language, with the line of each translation."""
    by_lang: Mapping[str, str]
    line: int = 0
    lines: Mapping[str, int] = _field(default_factory=dict)

    def get(self, lang: str) -> str:
        return self.by_lang.get(lang) or self.by_lang.get("en") or next(iter(self.by_lang.values()), "")


@dataclass(frozen=True)
class Choice:
    value: Any
    words: Mapping[str, tuple[str, ...]] = _field(default_factory=dict)  # lang (or "any") -> synonyms
    next: str | None = None
    add: Mapping[str, float] = _field(default_factory=dict)
    line: int = 0

    @cached_property
    def phrases(self) -> tuple[tuple[str, ...], ...]:
        """Its number and each of its words as normalised tokens (empty ones dropped): what an
        answer is matched against, worked out once per loaded definition, not for every answer."""
        said = [str(self.value)] + [w for ws in self.words.values() for w in ws]
        return tuple(t for t in (tuple(tokens(w)) for w in said) if t)


@dataclass(frozen=True)
class Timeout:
    after: timedelta
    remind: Text | None = None
    then: str | None = None
    line: int = 0


@dataclass(frozen=True)
class Case:
    when: str
    tree: tuple
    next: str | None
    line: int = 0


@dataclass(frozen=True)
class Node:
    id: str
    type: str
    line: int = 0
    key_lines: Mapping[str, int] = _field(default_factory=dict)
    texts: tuple[Text, ...] = ()
    next: str | None = None
    # ask
    expect: str | None = None
    choices: tuple[Choice, ...] = ()
    min: float | None = None
    max: float | None = None
    save: str | None = None
    field: str | None = None
    optional: bool = False
    reask: tuple[Text, ...] = ()
    give_up: Text | None = None
    fallback: str | None = None
    timeout: Timeout | None = None
    # branch
    cases: tuple[Case, ...] = ()
    otherwise: str | None = None
    # set
    values: Mapping[str, Any] = _field(default_factory=dict)
    fields: Mapping[str, Any] = _field(default_factory=dict)
    add: Mapping[str, float] = _field(default_factory=dict)
    language: str | None = None
    # escalate
    reason: str | None = None
    priority: str = "normal"
    note: str = ""
    # locate
    need: str | None = None
    place: str | None = None
    # flow
    flow: str | None = None
    params: Mapping[str, Any] = _field(default_factory=dict)
    # end
    outcome: str = "completed"
    # any node: the author means the turn it is in to run over two texts (flows check allows it)
    long_turn: bool = False
    # record
    event: str | None = None
    data: Mapping[str, Any] = _field(default_factory=dict)

    def line_of(self, key: str) -> int:
        return self.key_lines.get(key, self.line)

    def links(self) -> list[tuple[str, str, int]]:
        """Every (what, target node, line) this node can lead to."""
        out = [(k, getattr(self, a), self.line_of(k)) for k, a in
               (("next", "next"), ("fallback", "fallback"), ("else", "otherwise"))
               if getattr(self, a)]
        out += [("choice next", c.next, c.line) for c in self.choices if c.next]
        out += [("case next", c.next, c.line) for c in self.cases if c.next]
        if self.timeout and self.timeout.then:
            out.append(("timeout then", self.timeout.then, self.timeout.line))
        return out

    @property
    def waits(self) -> bool:
        return self.type in ("ask", "locate")


@dataclass(frozen=True)
class Definition:
    name: str
    start: str
    nodes: Mapping[str, Node]
    schema: int = 1
    title: str = ""
    keywords: Mapping[str, tuple[str, ...]] = _field(default_factory=dict)
    keyword_rest: str | None = None
    menu: int | None = None
    menu_label: Text | None = None
    expires_after: timedelta = DEFAULT_EXPIRES
    timeout: Timeout | None = None
    params: tuple[str, ...] = ()
    version: int = 0
    source: str = "<flow>"
    line: int = 1
    key_lines: Mapping[str, int] = _field(default_factory=dict)

    def line_of(self, key: str) -> int:
        return self.key_lines.get(key, self.line)

    def texts(self):
        """Every participant-facing Text with where it sits, for the checker."""
        if self.menu_label:
            yield "menu label", None, self.menu_label
        if self.timeout and self.timeout.remind:
            yield "timeout remind", None, self.timeout.remind
        for node in self.nodes.values():
            for t in node.texts:
                yield "text", node, t
            for t in node.reask:
                yield "reask", node, t
            if node.give_up:
                yield "give_up", node, node.give_up
            if node.timeout and node.timeout.remind:
                yield "timeout remind", node, node.timeout.remind


def parse_duration(value: Any) -> timedelta | None:
    """'4h', '30m', '2d', '1h30m' -> timedelta; None when unreadable or zero."""
    if not isinstance(value, str):
        return None
    m = _DURATION.match(value)
    if not m or not any(m.groups()):
        return None
    d, h, mins = (int(g or 0) for g in m.groups())
    span = timedelta(days=d, hours=h, minutes=mins)
    return span if span > timedelta(0) else None
