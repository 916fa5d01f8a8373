"""Which flow a message starts: trigger words and menu numbers, read from the flows themselves.

Routing is data a supervisor edits: each flow lists its `keywords` (per language) and may
take a `menu` number. A trigger word counts only as the first word of a message, ignoring
case and accents ("narcan", "Naloxona!"); what follows is passed to the flow as the param
named by `keyword_rest` ("NALOXONE 60614" -> naloxone with place "60614").

The runtime's order (see docs/flows.md): safety and STOP/HELP first; then route() (a trigger
word starts its flow from any state); then, if a conversation waits, the message answers it;
then menu_choice() ("1".."4" of the system menu); anything else gets the menu.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from .loader import load_file
from .schema import Definition, Problem
from .words import normalize


class FlowError(Exception):
    """Flows that must not go live; `.problems` says where and why."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems) or "invalid flows")


@dataclass(frozen=True)
class Route:
    """A message that starts a flow: the flow's name, its params, the word that matched and
    that word's language when only one language claims it (a hint, not a setting)."""
    flow: str
    params: dict = field(default_factory=dict)
    keyword: str = ""
    lang: str | None = None


class Registry:
    def __init__(self, definitions):
        self.flows: dict[str, Definition] = {d.name: d for d in definitions}
        self._words: dict[tuple[str, ...], tuple[str, str | None]] = {}
        for d in definitions:
            langs_by_word: dict[tuple[str, ...], set] = {}
            for lang, words in d.keywords.items():
                for w in words:
                    langs_by_word.setdefault(tuple(normalize(w).split()), set()).add(lang)
            for key, langs in langs_by_word.items():
                if key:
                    self._words.setdefault(key, (d.name, next(iter(langs)) if len(langs) == 1 else None))
        self._menu = {d.menu: d.name for d in definitions if d.menu is not None}
        self._sizes = sorted({len(k) for k in self._words}, reverse=True)   # keyword lengths, longest first

    def route(self, text: str) -> Route | None:
        """The flow a message's first word (or words) triggers, or None."""
        raw = [w for w in text.split() if normalize(w)]
        norm = [normalize(w) for w in raw]
        for size in self._sizes:
            key = tuple(" ".join(norm[:size]).split())
            if len(key) == size and key in self._words:
                flow, lang = self._words[key]
                rest = " ".join(raw[size:]).strip()
                d = self.flows[flow]
                params = {d.keyword_rest: rest} if d.keyword_rest and rest else {}
                return Route(flow, params, " ".join(raw[:size]), lang)
        return None

    def menu_choice(self, text: str) -> str | None:
        """'1'..'9' (also '#2', '2.') of the system menu -> flow name, else None."""
        m = re.fullmatch(r"\s*#?\s*(\d{1,2})\s*[.)!]?\s*", text)
        return self._menu.get(int(m.group(1))) if m else None

    def menu_lines(self, lang: str) -> list[str]:
        """'1 Check in', '2 Naloxone', ... in the menu's order, for the system menu text."""
        return [f"{n} {self.flows[name].menu_label.get(lang)}" for n, name in sorted(self._menu.items())
                if self.flows[name].menu_label]

    def get(self, name: str) -> Definition | None:
        return self.flows.get(name)


def load_registry(directory: str | Path, check: bool = True) -> Registry:
    """Load every flow in `directory`. Raises FlowError when a flow cannot be read or, with
    check=True (what the app does at start), when the checker finds any error."""
    files = sorted(Path(directory).glob("*.yaml"))
    definitions, problems = [], []
    for f in files:
        d, found = load_file(f)
        problems += [p for p in found if p.severity == "error"]
        if d:
            definitions.append(d)
    if check and not problems:
        from .checker import check_paths
        problems = [p for p in check_paths([str(directory)]) if p.severity == "error"]
    if problems:
        raise FlowError(problems)
    return Registry(definitions)
