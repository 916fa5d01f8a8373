"""Line-annotated YAML data -> schema values (Definition), with a Problem for each mistake.

parse() checks the *shape* of a flow: known keys (a typo like `nxt:` is caught, not ignored),
the right kinds of values, known node and answer types, readable conditions and durations.
Each problem names the line to fix. Cross-node meaning is checker.py's job.
"""
from __future__ import annotations

from typing import Any

from . import conditions
from .schema import (_COMMON, _FLOW_KEYS, _KEYS, _NAME, _NODE_ID, _REQUIRED, DEFAULT_EXPIRES,
                     EXPECTS, LANGS, NODE_TYPES, PRIORITIES, SCHEMA_VERSIONS, Case, Choice,
                     Definition, Node, Problem, Text, Timeout, parse_duration)


class _Reader:
    """Collects problems while turning line-annotated YAML data into schema values."""

    def __init__(self, source: str):
        self.source = source
        self.problems: list[Problem] = []

    def error(self, line: int, message: str) -> None:
        self.problems.append(Problem(self.source, line, "error", message))

    def keys(self, data, allowed: set, line: int, where: str) -> None:
        for key in data:
            if key not in allowed:
                self.error(_line(data, key, line), f"{where}: unknown key '{key}' "
                           f"(allowed: {', '.join(sorted(allowed - {'comment'}))})")

    def text(self, value, line: int, where: str) -> Text | None:
        if isinstance(value, str):
            self.error(line, f"{where}: a text needs translations, written as en: ... and es: ...")
            return None
        if not isinstance(value, dict):
            self.error(line, f"{where}: expected a text with en: and es:")
            return None
        by_lang, lines = {}, {}
        for lang, s in value.items():
            l_line = _line(value, lang, line)
            if lang not in LANGS:
                self.error(l_line, f"{where}: unknown language '{lang}' (use {' and '.join(LANGS)})")
            elif not isinstance(s, str) or not s.strip():
                self.error(l_line, f"{where}: the {lang} text is empty or not text")
            else:
                by_lang[lang], lines[lang] = s.strip(), l_line
        return Text(by_lang, getattr(value, "line", line), lines)

    def texts(self, value, line: int, where: str) -> tuple[Text, ...]:
        if isinstance(value, list):
            out = [self.text(v, _item_line(value, i, line), where) for i, v in enumerate(value)]
            if not value:
                self.error(line, f"{where}: the list of texts is empty")
            return tuple(t for t in out if t)
        t = self.text(value, line, where)
        return (t,) if t else ()

    def name(self, value, line: int, where: str) -> str | None:
        if value is None:
            return None
        if not isinstance(value, str) or not _NAME.match(value):
            self.error(line, f"{where}: '{value}' is not a valid name (letters, digits, _)")
            return None
        return value

    def ref(self, value, line: int, where: str) -> str | None:
        if value is None:
            return None
        if not isinstance(value, (str, int)) or isinstance(value, bool):
            self.error(line, f"{where}: expected a node name")
            return None
        return str(value)

    def mapping(self, value, line: int, where: str) -> dict:
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.error(line, f"{where}: expected a list of name: value pairs")
            return {}
        for k in value:
            self.name(k, _line(value, k, line), where)
        return dict(value)

    def numbers(self, value, line: int, where: str) -> dict:
        out = self.mapping(value, line, where)
        for k, v in out.items():
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                self.error(_line(value, k, line), f"{where}: '{k}' must be a number")
        return {k: v for k, v in out.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}

    def timeout(self, value, line: int, where: str) -> Timeout | None:
        if value is None:
            return None
        if not isinstance(value, dict):
            self.error(line, f"{where}: timeout needs 'after' (like 4h) and optionally 'remind' and 'then'")
            return None
        self.keys(value, {"after", "remind", "then", "comment"}, line, where + " timeout")
        after = parse_duration(value.get("after"))
        if after is None:
            self.error(_line(value, "after", line), f"{where}: timeout 'after' must be a duration like 30m, 4h or 2d")
            return None
        remind = self.text(value["remind"], _line(value, "remind", line), where + " remind") if "remind" in value else None
        then = self.ref(value.get("then"), _line(value, "then", line), where)
        return Timeout(after, remind, then, getattr(value, "line", line))


def _line(data, key, default: int) -> int:
    return data.line_of(key) if hasattr(data, "line_of") else default


def _item_line(data, index: int, default: int) -> int:
    return data.line_of(index) if hasattr(data, "line_of") else default


def _choice(r: _Reader, value, line: int, where: str) -> Choice | None:
    if not isinstance(value, dict) or "value" not in value:
        r.error(line, f"{where}: each choice needs a 'value'")
        return None
    r.keys(value, {"value", "words", "next", "add", "comment"}, line, where)
    raw = value.get("words")
    words: dict[str, tuple[str, ...]] = {}
    w_line = _line(value, "words", line)
    if isinstance(raw, dict):
        for lang, ws in raw.items():
            if lang not in LANGS:
                r.error(_line(raw, lang, w_line), f"{where}: unknown language '{lang}'")
            elif not isinstance(ws, list) or not all(isinstance(w, (str, int)) for w in ws):
                r.error(_line(raw, lang, w_line), f"{where}: words for {lang} must be a list")
            else:
                words[lang] = tuple(str(w) for w in ws)
    elif isinstance(raw, list):
        words["any"] = tuple(str(w) for w in raw)
    elif raw is not None:
        r.error(w_line, f"{where}: 'words' must be a list, or en: and es: lists")
    v = value["value"]
    if isinstance(v, bool) or not isinstance(v, (str, int)):
        r.error(_line(value, "value", line), f"{where}: a choice value must be a word or a number")
    return Choice(v, words, r.ref(value.get("next"), _line(value, "next", line), where),
                  r.numbers(value.get("add"), _line(value, "add", line), where + " add"), line)


def _ask(r: _Reader, node: dict, kw: dict, line: int, where: str) -> None:
    expect = node.get("expect")
    if expect not in EXPECTS:
        r.error(_line(node, "expect", line), f"{where}: expect '{expect}' is not one of {', '.join(EXPECTS)}")
    kw["expect"] = expect
    raw_choices = node.get("choices")
    choices = []
    if raw_choices is not None:
        if not isinstance(raw_choices, list):
            r.error(_line(node, "choices", line), f"{where}: 'choices' must be a list")
        else:
            choices = [_choice(r, c, _item_line(raw_choices, i, line), f"{where} choice {i + 1}")
                       for i, c in enumerate(raw_choices)]
    choices = [c for c in choices if c]
    if expect == "choice" and len(choices) < 2:
        r.error(line, f"{where}: a choice question needs at least two choices")
    if expect == "yesno":
        for c in choices:
            if str(c.value).lower() not in ("yes", "no"):
                r.error(c.line, f"{where}: a yes/no question's choices are 'yes' and 'no', not '{c.value}'")
    elif expect != "choice" and choices:
        r.error(_line(node, "choices", line), f"{where}: only choice and yesno questions have choices")
    kw["choices"] = tuple(choices)
    if expect == "number":
        for k in ("min", "max"):
            v = node.get(k)
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                r.error(_line(node, k, line), f"{where}: a number question needs '{k}' as a number")
            else:
                kw[k] = v
        if kw.get("min") is not None and kw.get("max") is not None and kw["min"] > kw["max"]:
            r.error(_line(node, "min", line), f"{where}: min is larger than max")
    kw["save"] = r.name(node.get("save"), _line(node, "save", line), where + " save") or kw["id"]
    kw["field"] = r.name(node.get("field"), _line(node, "field", line), where + " field")
    optional = node.get("optional", False)
    if not isinstance(optional, bool):
        r.error(_line(node, "optional", line), f"{where}: optional is true or false")
    kw["optional"] = optional is True
    if "reask" in node:
        kw["reask"] = r.texts(node["reask"], _line(node, "reask", line), where + " reask")
        if len(kw["reask"]) > 2:
            r.error(_line(node, "reask", line), f"{where}: at most two re-asks (then the flow moves on)")


def _node(r: _Reader, node_id, node, line: int) -> Node | None:
    where = f"node '{node_id}'"
    if not isinstance(node_id, str) or not _NODE_ID.match(node_id):
        r.error(line, f"{where}: node names use letters, digits, - and _")
        return None
    if not isinstance(node, dict):
        r.error(line, f"{where}: expected the node's keys (type, text, next, ...)")
        return None
    line = getattr(node, "line", line)
    ntype = node.get("type")
    if ntype not in NODE_TYPES:
        r.error(_line(node, "type", line), f"{where}: type '{ntype}' is not one of {', '.join(NODE_TYPES)}")
        return None
    r.keys(node, _KEYS[ntype] | _COMMON, line, where)
    for key in _REQUIRED.get(ntype, ()):
        if key not in node:
            r.error(line, f"{where}: a {ntype} node needs '{key}'")
    kw: dict[str, Any] = {"id": node_id, "type": ntype, "line": line,
                          "key_lines": dict(getattr(node, "key_lines", {}))}
    L = lambda k: _line(node, k, line)  # noqa: E731
    if "text" in node:
        kw["texts"] = r.texts(node["text"], L("text"), where)
    kw["next"] = r.ref(node.get("next"), L("next"), where)
    if "long_turn" in node:
        if not isinstance(node["long_turn"], bool):
            r.error(L("long_turn"), f"{where}: long_turn is true or false")
        kw["long_turn"] = node["long_turn"] is True
    if "give_up" in node:
        kw["give_up"] = r.text(node["give_up"], L("give_up"), where + " give_up")
    kw["fallback"] = r.ref(node.get("fallback"), L("fallback"), where)
    kw["timeout"] = r.timeout(node.get("timeout"), L("timeout"), where)
    if ntype == "ask":
        _ask(r, node, kw, line, where)
    elif ntype == "branch":
        cases = node.get("cases")
        if not isinstance(cases, list) or not cases:
            r.error(L("cases"), f"{where}: 'cases' is a list of 'when:' and 'next:'")
            cases = []
        parsed = []
        for i, case in enumerate(cases):
            c_line = _item_line(cases, i, line)
            if not isinstance(case, dict) or "when" not in case or "next" not in case:
                r.error(c_line, f"{where}: each case needs 'when' and 'next'")
                continue
            r.keys(case, {"when", "next", "comment"}, c_line, where + " case")
            try:
                tree = conditions.parse(str(case["when"]))
            except conditions.ConditionError as exc:
                r.error(_line(case, "when", c_line), f"{where}: condition '{case['when']}': {exc}")
                continue
            parsed.append(Case(str(case["when"]), tree, r.ref(case["next"], _line(case, "next", c_line), where), c_line))
        kw["cases"] = tuple(parsed)
        kw["otherwise"] = r.ref(node.get("else"), L("else"), where)
    elif ntype == "set":
        kw["values"] = r.mapping(node.get("save"), L("save"), where + " save")
        kw["fields"] = r.mapping(node.get("fields"), L("fields"), where + " fields")
        kw["add"] = r.numbers(node.get("add"), L("add"), where + " add")
        kw["language"] = node.get("language")
        if not (kw["values"] or kw["fields"] or kw["add"] or kw["language"]):
            r.error(line, f"{where}: a set node needs save, fields, add or language")
    elif ntype == "escalate":
        kw["reason"] = str(node.get("reason", ""))
        prio = str(node.get("priority", "normal"))
        if "{" not in prio and prio not in PRIORITIES:
            r.error(L("priority"), f"{where}: priority '{prio}' is not one of {', '.join(PRIORITIES)}")
        kw["priority"], kw["note"] = prio, str(node.get("note", ""))
    elif ntype == "locate":
        kw["need"] = str(node.get("need", ""))
        kw["place"] = None if node.get("place") is None else str(node["place"])
    elif ntype == "flow":
        kw["flow"] = str(node.get("flow", ""))
        kw["params"] = r.mapping(node.get("params"), L("params"), where + " params")
    elif ntype == "end":
        kw["outcome"] = str(node.get("outcome", "completed"))
    elif ntype == "record":
        kw["event"] = r.name(node.get("event"), L("event"), where + " event")
        kw["data"] = r.mapping(node.get("data"), L("data"), where + " data")
    return Node(**kw)


def _keywords(r: _Reader, value, line: int) -> dict[str, tuple[str, ...]]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        r.error(line, "keywords: expected en: [...] and es: [...]")
        return {}
    out = {}
    for lang, words in value.items():
        k_line = _line(value, lang, line)
        if lang not in LANGS:
            r.error(k_line, f"keywords: unknown language '{lang}'")
        elif not isinstance(words, list) or not all(isinstance(w, str) and w.strip() for w in words):
            r.error(k_line, f"keywords: {lang} must be a list of words")
        else:
            out[lang] = tuple(w.strip() for w in words)
    return out


def parse(data: Any, source: str = "<flow>", version: int = 0) -> tuple[Definition | None, list[Problem]]:
    """Line-annotated YAML data -> (Definition or None, problems)."""
    r = _Reader(source)
    if not isinstance(data, dict):
        r.error(1, "a flow file is a mapping with schema:, name: and nodes:")
        return None, r.problems
    line = getattr(data, "line", 1)
    L = lambda k: _line(data, k, line)  # noqa: E731
    schema = data.get("schema")
    if schema not in SCHEMA_VERSIONS:
        r.error(L("schema"), f"unknown schema version {schema!r} (this Homeward reads schema "
                f"{', '.join(map(str, SCHEMA_VERSIONS))}); add 'schema: 1' at the top")
        return None, r.problems
    r.keys(data, _FLOW_KEYS, line, "flow")
    name = r.name(data.get("name"), L("name"), "flow name")
    if not name:
        r.error(L("name"), "the flow needs a 'name' (letters, digits, _)")
    raw_nodes = data.get("nodes")
    nodes: dict[str, Node] = {}
    if not isinstance(raw_nodes, dict) or not raw_nodes:
        r.error(L("nodes"), "the flow needs 'nodes:' with at least one node")
    else:
        for node_id, node in raw_nodes.items():
            parsed = _node(r, node_id, node, _line(raw_nodes, node_id, line))
            if parsed:
                nodes[node_id] = parsed
    start = r.ref(data.get("start"), L("start"), "start") or next(iter(raw_nodes or {}), None)
    menu, menu_label = None, None
    if "menu" in data:
        m = data["menu"]
        if not isinstance(m, dict) or not isinstance(m.get("number"), int) or isinstance(m.get("number"), bool):
            r.error(L("menu"), "menu: needs 'number' (its place in the menu) and a 'label' text")
        else:
            r.keys(m, {"number", "label", "comment"}, L("menu"), "menu")
            menu = m["number"]
            if "label" in m:
                menu_label = r.text(m["label"], _line(m, "label", L("menu")), "menu label")
    expires = DEFAULT_EXPIRES
    if "expires_after" in data:
        expires = parse_duration(data["expires_after"])
        if expires is None:
            r.error(L("expires_after"), "expires_after must be a duration like 30m, 4h or 2d")
            expires = DEFAULT_EXPIRES
    params = data.get("params") or []
    if not isinstance(params, list):
        r.error(L("params"), "params is a list of names")
        params = []
    params = tuple(p for i, p in enumerate(params) if r.name(p, _item_line(params, i, L("params")), "params"))
    rest = r.name(data.get("keyword_rest"), L("keyword_rest"), "keyword_rest")
    if any(p.severity == "error" for p in r.problems) or not name or start is None:
        return None, r.problems
    title = data.get("title")
    return Definition(
        name=name, start=start, nodes=nodes, schema=schema,
        title=title if isinstance(title, str) else name,
        keywords=_keywords(r, data.get("keywords"), L("keywords")), keyword_rest=rest,
        menu=menu, menu_label=menu_label, expires_after=expires,
        timeout=r.timeout(data.get("timeout"), L("timeout"), "flow"), params=params,
        version=version, source=source, line=line, key_lines=dict(getattr(data, "key_lines", {})),
    ), r.problems
