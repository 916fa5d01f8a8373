"""The flow checker: every problem in a flow file, as `file:line: severity: message`.

Supervisors edit flows; this is what stands between an edit and a person's phone. It reports
what parse() finds about shape, then what only shows across nodes and flows: links to nodes
that do not exist, nodes nothing leads to, dead ends, loops that never wait, missing
translations, template variables nothing sets, texts over two SMS segments, stigmatizing words
(with the person-first words to use), trigger words claimed twice or clashing with carrier
keywords. Errors make `main()` return 1; warnings are for a person to judge.

Checking one file still sees its sibling flows (same folder), quietly, so a field set by
welcome.yaml counts as set when checkin.yaml is checked alone.
"""
from __future__ import annotations

import re
import sys
from functools import lru_cache
from pathlib import Path

import yaml

from core import CONTENT, keywords
from core.sms import count_segments

from . import conditions, turns
from .loader import load_file
from .schema import LANGS, Definition, Node, Problem, Text
from .templates import VAR, syntax_error, variables
from .words import normalize

STIGMA_FILE = CONTENT / "stigma.yaml"
# Carrier and system words, handled before any flow: opt-out words (Twilio's and common
# Spanish ones), opt-in words, help, the menu and the language switch (bot/keywords.py).
STOP_WORDS = frozenset(normalize(w) for w in (
    "STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT",
    "PARAR", "ALTO", "DETENER", "CANCELAR", "BAJA"))
LANGUAGE_WORDS = frozenset(normalize(w) for w in ("ESPAÑOL", "ENGLISH", "INGLÉS", "SPANISH"))
SYSTEM_WORDS = frozenset(normalize(w) for w in ("HELP", "INFO", "MENU", "MENÚ", "AYUDA")) | LANGUAGE_WORDS
OPT_IN_WORDS = frozenset(normalize(w) for w in ("START", "UNSTOP", "YES", "INICIO", "COMENZAR"))
RESERVED_WORDS = STOP_WORDS | SYSTEM_WORDS | OPT_IN_WORDS | frozenset(
    normalize(w) for w in keywords.RESERVED)
SAID = "_said"   # an answered date, in words: {release_date_said} -> "Tue Nov 24"
AHEAD = "_ahead"  # set when that date is still to come ("i get out friday")
BUILTIN_VARIABLES = frozenset({"program", "peer_name", "coverage", "peer_on_duty", "lang", "channel"})
# Contact fields the runtime sets outside any flow: the language the person chose (ESPAÑOL).
SYSTEM_FIELDS = frozenset({"lang_chosen"})
HINT_VARIABLES = frozenset({"count", "min", "max"})
PLACEHOLDER = "X" * 12  # what a {variable} counts as when measuring a text


def check_paths(paths) -> list[Problem]:
    """Check flow files (or folders of *.yaml); problems sorted by file and line."""
    files, problems = _expand(paths)
    checked: list[Definition] = []
    for f in files:
        definition, found = load_file(f)
        problems += found
        if definition:
            checked.append(definition)
    world = list(checked)
    seen = {str(Path(f).resolve()) for f in files}
    for folder in sorted({Path(f).resolve().parent for f in files}):
        for sibling in sorted(folder.glob("*.yaml")):
            if str(sibling.resolve()) not in seen:
                seen.add(str(sibling.resolve()))
                definition, _ = load_file(sibling)
                if definition:
                    world.append(definition)
    for definition in checked:
        problems += check_definition(definition, world)
    return sorted(problems, key=lambda p: (p.path, p.line, p.severity, p.message))


def main(paths) -> int:
    """Print every problem; 1 when there is an error (or nothing to check), else 0."""
    paths = list(paths) or [str(CONTENT / "flows")]
    problems = check_paths(paths)
    for p in problems:
        print(p)
    errors = sum(p.severity == "error" for p in problems)
    warnings = len(problems) - errors
    print(f"{errors} error{'s' * (errors != 1)}, {warnings} warning{'s' * (warnings != 1)}")
    return 1 if errors else 0


def _expand(paths) -> tuple[list[str], list[Problem]]:
    files, problems = [], []
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            found = sorted(str(f) for f in p.glob("*.yaml"))
            if not found:
                problems.append(Problem(str(p), 1, "error", "no flow files (*.yaml) in this folder"))
            files += found
        elif p.exists():
            files.append(str(p))
        else:
            problems.append(Problem(str(p), 1, "error", "no such file"))
    return files, problems


def check_definition(d: Definition, world: list[Definition] = ()) -> list[Problem]:
    """Every cross-node and cross-flow problem of one parsed flow."""
    out: list[Problem] = []
    err = lambda line, msg: out.append(Problem(d.source, line, "error", msg))  # noqa: E731
    warn = lambda line, msg: out.append(Problem(d.source, line, "warning", msg))  # noqa: E731
    world = list(world) or [d]
    if Path(d.source).suffix == ".yaml" and Path(d.source).stem != d.name:
        warn(d.line_of("name"), f"the flow is named '{d.name}' but its file is '{Path(d.source).name}'")
    _links(d, err)
    _dead_ends(d, err, {w.name for w in world})
    _loops(d, err)
    known = _known_variables(d, world)
    _variables(d, known, err)
    for what, node, text in d.texts():
        _text(d, what, node, text, err, warn)
    _keywords(d, world, err, warn)
    _choices(d, err, warn)
    _turns(d, world, err)
    return out


def _turns(d: Definition, world: list[Definition], err) -> None:
    """A whole reply turn (every text a person gets for one message) stays within two texts."""
    for t in turns.too_long(d, {w.name: w for w in world}):
        err(t.line, f"the turn {t.entry} can send {t.texts} texts ({' -> '.join(t.path)}); keep a turn "
                    f"to {turns.MAX_TEXTS}, or mark a node long_turn: true if it must be longer")


def _where(node: Node | None, what: str) -> str:
    return f"node '{node.id}' {what}" if node else what


def _links(d: Definition, err) -> None:
    if d.start not in d.nodes:
        err(d.line_of("start"), f"start '{d.start}' is not a node in this flow")
    for node in d.nodes.values():
        for what, target, line in node.links():
            if target not in d.nodes:
                err(line, f"node '{node.id}': {what} '{target}' is not a node in this flow")
    reached, todo = set(), [d.start]
    while todo:
        nid = todo.pop()
        if nid in reached or nid not in d.nodes:
            continue
        reached.add(nid)
        todo += [t for _, t, _ in d.nodes[nid].links()]
    for node in d.nodes.values():
        if node.id not in reached:
            err(node.line, f"node '{node.id}' is unreachable: nothing leads to it")


def dead_end(n: Node) -> str | None:
    """What a node that leads nowhere lacks (None when it leads on); the flow map marks these too."""
    if n.type in ("say", "set", "escalate", "record", "locate") and not n.next:
        return "add next:"
    if n.type == "ask":
        values = {str(c.value).lower() for c in n.choices if c.next}
        all_choices_lead = (n.expect == "choice" and all(c.next for c in n.choices)) or \
                           (n.expect == "yesno" and {"yes", "no"} <= values)
        if not n.next and not all_choices_lead:
            return "add next:, or next: on every choice"
        if not n.next and not n.fallback:
            return "after an answer it cannot read, add fallback: or next:"
    if n.type == "branch" and not n.otherwise:
        return "add else: for when no case matches"
    return None


def _dead_ends(d: Definition, err, flow_names: set) -> None:
    for n in d.nodes.values():
        if n.type == "flow" and n.flow not in flow_names:
            err(n.line_of("flow"), f"node '{n.id}' starts flow '{n.flow}', which is not a known flow")
        stuck = dead_end(n)
        if stuck:
            err(n.line, f"node '{n.id}' is a dead end: {stuck}")


def _loops(d: Definition, err) -> None:
    """A cycle through nodes that never wait would spin forever on one message."""
    edges = {n.id: [t for _, t, _ in n.links() if t in d.nodes and not d.nodes[t].waits]
             for n in d.nodes.values() if not n.waits}
    state: dict[str, int] = {}

    def visit(nid: str) -> str | None:
        state[nid] = 1
        for t in edges.get(nid, ()):
            if state.get(t) == 1:
                return t
            if t not in state and (hit := visit(t)):
                return hit
        state[nid] = 2
        return None

    for nid in edges:
        if nid not in state and (hit := visit(nid)):
            err(d.nodes[hit].line, f"node '{hit}' is in a loop that never asks anything")
            return


def _known_variables(d: Definition, world: list[Definition]) -> set[str]:
    known = set(BUILTIN_VARIABLES) | SYSTEM_FIELDS | set(d.params) | set(_score_names(d))
    if d.keyword_rest:
        known.add(d.keyword_rest)
    for n in d.nodes.values():
        if n.type == "ask":
            known.add(n.save)
            if n.expect == "date":
                known.add(n.save + SAID)        # the date as understood, for the next text
                known.add(n.save + AHEAD)
        known |= set(n.values) | set(n.fields)
        if n.type == "locate":
            known.add("last_place")
    for w in world:
        for n in w.nodes.values():
            known |= set(n.fields) | ({n.field} if n.field else set())
            if n.type == "locate":
                known.add("last_place")
            if n.type == "flow" and n.flow == d.name:
                known |= set(n.params)
    return known


def _score_names(d: Definition) -> list[str]:
    return [k for n in d.nodes.values() for c in n.choices for k in c.add] + \
           [k for n in d.nodes.values() for k in n.add]


def _variables(d: Definition, known: set, err) -> None:
    def check(template, line, where, extra=frozenset()):
        if not isinstance(template, str):
            return
        problem = syntax_error(template)
        if problem:
            err(line, f"{where}: {problem}")
        for name in variables(template):
            if name not in known and name not in extra:
                err(line, f"{where}: {{{name}}} is never set (not a field, an answer, a score "
                          f"or a built-in like {{program}})")

    for what, node, text in d.texts():
        extra = HINT_VARIABLES if what == "reask" else frozenset()
        for lang, s in text.by_lang.items():
            check(s, text.lines.get(lang, text.line), _where(node, f"{lang} {what}"), extra)
    for n in d.nodes.values():
        for key, value in (("reason", n.reason), ("priority", n.priority), ("note", n.note),
                           ("place", n.place), ("language", n.language)):
            check(value, n.line_of(key), f"node '{n.id}' {key}")
        for key, mapping in (("save", n.values), ("fields", n.fields), ("params", n.params), ("data", n.data)):
            for v in mapping.values():
                check(v, n.line_of(key), f"node '{n.id}' {key}")
        for case in n.cases:
            for name in conditions.names(case.tree):
                if name not in known:
                    err(case.line, f"node '{n.id}': condition '{case.when}' uses '{name}', which is never set")


def _text(d: Definition, what: str, node: Node | None, text: Text, err, warn) -> None:
    for lang in LANGS:
        if lang not in text.by_lang:
            err(text.line, f"{_where(node, what)}: missing {lang} translation")
    for lang, s in text.by_lang.items():
        line = text.lines.get(lang, text.line)
        measured = VAR.sub(lambda m: m.group(2) if m.group(2) else PLACEHOLDER, s)
        seg = count_segments(measured)
        if seg.segments > 2:
            assumed = f", counting {len(PLACEHOLDER)} for each {{variable}}" if VAR.search(s) else ""
            err(line, f"{_where(node, what)}: the {lang} text is {seg.segments} SMS segments "
                      f"({seg.encoding}, {seg.units} characters{assumed}); keep it to 2")
        for word, entry in stigma_hits(s, lang):
            sev = entry.get("severity", "error")
            msg = (f"{_where(node, what)}: '{word}' is stigmatizing; person-first instead: "
                   f"{entry.get('instead', '')}")
            (warn if sev == "warning" else err)(line, msg)


@lru_cache(maxsize=1)
def _lexicon() -> dict:
    data = yaml.safe_load(STIGMA_FILE.read_text(encoding="utf-8")) or {}
    return {lang: [(tuple(tuple(normalize(w).split()) for w in e["words"]), e) for e in entries]
            for lang, entries in data.items()}


def stigma_hits(text: str, lang: str):
    """(word as written, lexicon entry) for each stigmatizing word or phrase in `text`."""
    raw = [w for w in re.findall(r"\w+(?:[-']\w+)*", VAR.sub(" ", text)) if normalize(w)]
    words = [normalize(w) for w in raw]
    for phrases, entry in _lexicon().get(lang, []):
        for phrase in phrases:
            n = len(phrase)
            at = next((i for i in range(len(words) - n + 1) if tuple(words[i:i + n]) == phrase), None)
            if at is not None:
                yield " ".join(raw[at:at + n]), entry
                break


def _keywords(d: Definition, world: list[Definition], err, warn) -> None:
    line = d.line_of("keywords")
    others = {}
    for w in world:
        if w.name != d.name:
            for ws in w.keywords.values():
                for word in ws:
                    others.setdefault(normalize(word), w)
    for lang, ws in d.keywords.items():
        for word in ws:
            key = normalize(word)
            if not key:
                err(line, f"keyword '{word}' has no letters or digits")
            elif key in RESERVED_WORDS or key.split()[0] in RESERVED_WORDS:
                err(line, f"keyword '{word}' is a carrier or system word (STOP, HELP, START, YES, "
                          f"MENU, ...) and never reaches a flow; pick another")
            elif key.isdigit():
                err(line, f"keyword '{word}' is a number; numbers answer questions and pick menu items")
            elif key in others:
                o = others[key]
                err(line, f"keyword '{word}' is also claimed by flow '{o.name}' ({o.source}:{o.line_of('keywords')})")
    if d.keywords:
        for lang in LANGS:
            if lang not in d.keywords:
                warn(line, f"keywords: no {lang} words")
    if d.menu is not None:
        for w in world:
            if w.name != d.name and w.menu == d.menu:
                err(d.line_of("menu"), f"menu number {d.menu} is also used by flow '{w.name}' ({w.source})")
        if d.menu_label is None:
            err(d.line_of("menu"), "menu: needs a label with en: and es:")


def _choices(d: Definition, err, warn) -> None:
    for n in d.nodes.values():
        owner: dict[str, object] = {}
        for c in n.choices:
            for w in dict.fromkeys([str(c.value)] + [w for ws in c.words.values() for w in ws]):
                key = normalize(w)
                if key in owner and owner[key] != c.value:
                    err(c.line, f"node '{n.id}': the word '{w}' is given to two choices "
                                f"('{owner[key]}' and '{c.value}')")
                elif key in STOP_WORDS | SYSTEM_WORDS - LANGUAGE_WORDS and key not in owner:
                    # (a language word the waiting question offers is its answer: core.conversation)
                    warn(c.line, f"node '{n.id}': '{w}' is a carrier or system word; that reply "
                                 f"is handled before the flow sees it")
                owner.setdefault(key, c.value)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
