"""Branch conditions: `risk >= 6`, `mood <= 2 and peer_on_duty == yes`, `first_name is set`.

A tiny language instead of Python expressions: a supervisor can write it, the checker can list
the names it uses, and evaluating it can never run code. `and` binds tighter than `or`.
Missing values make comparisons false (except `!=`); yes/no/true/false and booleans compare
alike; numbers compare as numbers; words compare without case or accents.
"""
from __future__ import annotations

import re
from typing import Any, Callable

from .words import fold

_TOKEN = re.compile(r"""\s*(?:(?P<op><=|>=|==|!=|<|>)|(?P<num>-?\d+(?:\.\d+)?)(?![\w])|"(?P<dq>[^"]*)"|'(?P<sq>[^']*)'|(?P<word>[^\s<>=!"']+))""")
OPS = ("==", "!=", "<", "<=", ">", ">=")


class ConditionError(ValueError):
    pass


def _tokenize(source: str) -> list[tuple[str, Any]]:
    out, pos = [], 0
    source = source.strip()
    while pos < len(source):
        m = _TOKEN.match(source, pos)
        if not m or m.end() == pos:
            raise ConditionError(f"cannot read condition near '{source[pos:]}'")
        pos = m.end()
        if m.group("op"):
            out.append(("op", m.group("op")))
        elif m.group("num") is not None:
            num = m.group("num")
            out.append(("value", float(num) if "." in num else int(num)))
        elif m.group("dq") is not None or m.group("sq") is not None:
            out.append(("value", m.group("dq") if m.group("dq") is not None else m.group("sq")))
        else:
            out.append(("word", m.group("word")))
    return out


def parse(source: str):
    """'a == 1 and b is set or c > 2' -> ('or', [('and', [cmp, ...]), ...]).
    A comparison is (name, op, value); `is set` / `is not set` use ops 'set' / 'unset'."""
    if not isinstance(source, str) or not source.strip():
        raise ConditionError("empty condition")
    toks = _tokenize(source)
    groups, current, i = [], [], 0
    while i < len(toks):
        kind, name = toks[i]
        if kind != "word":
            raise ConditionError(f"expected a name, found '{name}'")
        rest = toks[i + 1:i + 4]
        words = [t[1].lower() if t[0] == "word" else None for t in rest]
        if words[:2] == ["is", "set"]:
            current.append((name, "set", None)); i += 3
        elif words[:3] == ["is", "not", "set"]:
            current.append((name, "unset", None)); i += 4
        elif len(rest) >= 2 and rest[0][0] == "op" and rest[1][0] in ("value", "word"):
            current.append((name, rest[0][1], rest[1][1])); i += 3
        else:
            raise ConditionError(f"after '{name}' expected one of {', '.join(OPS)} and a value, or 'is set'")
        if i < len(toks):
            joiner = toks[i][1].lower() if toks[i][0] == "word" else None
            if joiner not in ("and", "or"):
                raise ConditionError(f"expected 'and' or 'or', found '{toks[i][1]}'")
            if joiner == "or":
                groups.append(("and", current)); current = []
            i += 1
            if i == len(toks):
                raise ConditionError(f"nothing after '{joiner}'")
    groups.append(("and", current))
    return ("or", groups)


def names(tree) -> list[str]:
    return [cmp[0] for _, conj in tree[1] for cmp in conj]


def _canon(value: Any) -> Any:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (int, float)):
        return float(value)
    text = fold(str(value)).strip()
    if text in ("true", "yes", "si"):
        return "yes"
    if text in ("false", "no"):
        return "no"
    try:
        return float(text)
    except ValueError:
        return text


def _compare(left: Any, op: str, right: Any) -> bool:
    if op == "set":
        return left not in (None, "")
    if op == "unset":
        return left in (None, "")
    if left in (None, ""):
        return op == "!="
    a, b = _canon(left), _canon(right)
    if op == "==":
        return a == b
    if op == "!=":
        return a != b
    if type(a) is not type(b):
        return False
    return {"<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[op]


def evaluate(tree, lookup: Callable[[str], Any]) -> bool:
    return any(all(_compare(lookup(n), op, v) for n, op, v in conj) for _, conj in tree[1])
