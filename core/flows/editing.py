"""Form edits written back into a flow's YAML text, keeping its comments, key order and quoting
(ruamel.yaml round-trip), so the file stays the source of truth and reads well in review.

`node_form` reads what a node's form shows; `apply_node` / `apply_keywords` return the new text.
Both refuse (EditError) a node or a shape they cannot edit safely; adding or removing nodes stays
a YAML edit. The result is checked by the caller with the same checker as any other text.
"""
from __future__ import annotations

import io
from typing import Any, Mapping

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError
from ruamel.yaml.scalarstring import DoubleQuotedScalarString

from core.flows.schema import LANGS, PRIORITIES, parse_duration

TEXT_KEYS = ("text", "reask")


class EditError(ValueError):
    """The edit cannot be made by form: the message says why, for the supervisor."""


def _yaml() -> YAML:
    y = YAML()            # round-trip
    y.preserve_quotes = True
    y.width = 4096        # never re-wrap a long bilingual line
    y.indent(mapping=2, sequence=4, offset=2)
    return y


def _load(source: str) -> CommentedMap:
    try:
        data = _yaml().load(source)
    except YAMLError as exc:
        raise EditError("The YAML text has a syntax error; fix it in the YAML view first.") from exc
    if not isinstance(data, CommentedMap) or not isinstance(data.get("nodes"), CommentedMap):
        raise EditError("This flow has no nodes: list to edit; fix it in the YAML view first.")
    return data


def _dump(data: CommentedMap) -> str:
    out = io.StringIO()
    _yaml().dump(data, out)
    return out.getvalue()


def _node(data: CommentedMap, node_id: str) -> CommentedMap:
    node = data["nodes"].get(node_id)
    if not isinstance(node, CommentedMap):
        raise EditError(f"There is no node '{node_id}' in this flow.")
    return node


def _texts(value: Any) -> list[dict[str, str]]:
    """A text key's translations as a list of {lang: text} (one entry per message)."""
    items = value if isinstance(value, list) else [value] if value is not None else []
    return [{lang: str(item.get(lang, "") or "") for lang in LANGS} for item in items if isinstance(item, Mapping)]


def _words(value: Any) -> dict[str, list[str]]:
    if isinstance(value, Mapping):
        return {lang: [str(w) for w in value.get(lang) or []] for lang in LANGS}
    if isinstance(value, list):
        return {"any": [str(w) for w in value]}
    return {lang: [] for lang in LANGS}


def split_words(raw: str) -> list[str]:
    """'yes, yeah ,  ok' -> ['yes', 'yeah', 'ok'] (empty pieces dropped, order kept, no repeats)."""
    seen, out = set(), []
    for w in (raw or "").split(","):
        w = " ".join(w.split())
        if w and w.lower() not in seen:
            seen.add(w.lower())
            out.append(w)
    return out


def node_form(source: str, node_id: str) -> dict:
    """What the node's form shows, read from the YAML as written."""
    node = _node(_load(source), node_id)
    timeout = node.get("timeout") if isinstance(node.get("timeout"), Mapping) else None
    return {
        "id": node_id, "type": str(node.get("type", "")),
        "text": _texts(node.get("text")), "reask": _texts(node.get("reask")),
        "choices": [{"value": str(c.get("value", "")), "words": _words(c.get("words")),
                     "next": c.get("next")} for c in node.get("choices") or [] if isinstance(c, Mapping)],
        "priority": str(node.get("priority", "normal")), "note": str(node.get("note", "")),
        "timeout": None if timeout is None else {
            "after": str(timeout.get("after", "")), "remind": (_texts(timeout.get("remind")) or [None])[0],
            "then": timeout.get("then")},
        "timeout_allowed": node.get("type") in ("ask", "locate"),
        "node_ids": list(_load(source)["nodes"].keys()),
    }


def flow_keywords(source: str) -> dict[str, list[str]]:
    return _words(_load(source).get("keywords"))


def _set_text(item: CommentedMap, lang: str, value: str) -> None:
    old = item.get(lang)
    if old == value:
        return
    item[lang] = type(old)(value) if isinstance(old, str) and type(old) is not str else DoubleQuotedScalarString(value)


def _write_texts(node: CommentedMap, key: str, posted: list[Mapping[str, str]]) -> None:
    value = node.get(key)
    items = value if isinstance(value, list) else [value] if isinstance(value, CommentedMap) else []
    for item, new in zip(items, posted):
        for lang in LANGS:
            if lang in new:
                _set_text(item, lang, new[lang])


def _flow_seq(words: list[str], like: Any = None) -> CommentedSeq:
    seq = CommentedSeq(words)
    if like is None or (isinstance(like, CommentedSeq) and like.fa.flow_style()):
        seq.fa.set_flow_style()
    return seq


def _write_words(owner: CommentedMap, key: str, words: Mapping[str, list[str]]) -> None:
    current = owner.get(key)
    if "any" in words:
        if isinstance(current, list) and list(current) == words["any"]:
            return
        owner[key] = _flow_seq(words["any"], current if isinstance(current, list) else None)
        return
    if not isinstance(current, CommentedMap):
        current = CommentedMap()
        owner[key] = current
    for lang in LANGS:
        if lang not in words:
            continue
        old = current.get(lang)
        if isinstance(old, list) and list(old) == words[lang]:
            continue
        current[lang] = _flow_seq(words[lang], old)


def apply_node(source: str, node_id: str, edit: Mapping[str, Any]) -> str:
    """The text with `edit` made to node `node_id`. `edit` keys (each optional): text and reask
    (lists of {lang: text}, in order), choices (list of {lang: [words]} for the existing choices),
    new_choice ({value, words: {lang: [words]}, next}), priority, note, timeout ({after,
    remind: {lang: text}})."""
    data = _load(source)
    node = _node(data, node_id)
    for key in TEXT_KEYS:
        if key in edit:
            _write_texts(node, key, edit[key])
    if "choices" in edit:
        for choice, words in zip(node.get("choices") or [], edit["choices"]):
            if isinstance(choice, CommentedMap):
                _write_words(choice, "words", words)
    new = edit.get("new_choice")
    if new and str(new.get("value", "")).strip():
        value = str(new["value"]).strip()
        if any(str(c.get("value")).lower() == value.lower() for c in node.get("choices") or []):
            raise EditError(f"There is already a choice '{value}' here; add its words to it instead.")
        choice = CommentedMap()
        choice["value"] = int(value) if value.isdigit() else value
        if any(new.get("words", {}).values()):
            choice["words"] = CommentedMap()
            _write_words(choice, "words", new["words"])
        if new.get("next"):
            if new["next"] not in data["nodes"]:
                raise EditError(f"A choice cannot lead to '{new['next']}': there is no such node.")
            choice["next"] = new["next"]
        if not isinstance(node.get("choices"), list):
            node["choices"] = CommentedSeq()
        node["choices"].append(choice)
    if node.get("type") == "escalate":
        if "priority" in edit and edit["priority"] != node.get("priority", "normal"):
            if edit["priority"] not in PRIORITIES and not str(node.get("priority", "")).startswith("{"):
                raise EditError(f"Priority must be one of: {', '.join(PRIORITIES)}.")
            node["priority"] = edit["priority"]
        if "note" in edit and edit["note"] != str(node.get("note", "")):
            _set_text(node, "note", edit["note"])
    if "timeout" in edit and edit["timeout"] is not None:
        _write_timeout(node, edit["timeout"])
    return _dump(data)


def _write_timeout(node: CommentedMap, posted: Mapping[str, Any]) -> None:
    after = " ".join(str(posted.get("after", "")).split())
    remind = posted.get("remind") or {}
    current = node.get("timeout")
    if not after:
        if isinstance(current, CommentedMap):
            del node["timeout"]
        return
    if parse_duration(after) is None:
        raise EditError(f"'{after}' is not a wait the flow understands: write it like 30m, 4h, 2d or 1h30m.")
    if node.get("type") not in ("ask", "locate"):
        raise EditError("Only a question or a search for a place waits for a reply, so only they have a timeout.")
    if not isinstance(current, CommentedMap):
        current = CommentedMap()
        node["timeout"] = current
    if str(current.get("after", "")) != after:
        current["after"] = after
    if any((remind.get(lang) or "").strip() for lang in LANGS):
        box = current.get("remind")
        if not isinstance(box, CommentedMap):
            box = CommentedMap()
            current["remind"] = box
        for lang in LANGS:
            _set_text(box, lang, remind.get(lang, ""))
    elif "remind" in current:
        del current["remind"]


def apply_keywords(source: str, words: Mapping[str, list[str]]) -> str:
    data = _load(source)
    _write_words(data, "keywords", {lang: words.get(lang, []) for lang in LANGS})
    return _dump(data)
