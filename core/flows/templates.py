"""`{variable}` and `{variable|default}` in flow texts.

Texts name what they need (`Hi {first_name|there}`) so a supervisor can read them, and the
checker can prove every name is set somewhere. Rendering is forgiving: a missing value with
no default becomes empty and the space it leaves before punctuation is tidied, so a person
never sees "{first_name}".
"""
from __future__ import annotations

import re
from typing import Any, Callable

VAR = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)(?:\|([^{}]*))?\}")
_EXACT = re.compile(r"^\{([A-Za-z_][A-Za-z0-9_]*)(?:\|([^{}]*))?\}$")
_SPACE_BEFORE_PUNCT = re.compile(r"\s+([,.!?;:)])")
_MANY_SPACES = re.compile(r"[ \t]{2,}")

Lookup = Callable[[str], Any]


def variables(template: str) -> list[str]:
    return [m.group(1) for m in VAR.finditer(template)]


def syntax_error(template: str) -> str | None:
    """A message when braces are left over after every valid `{name}` is taken out."""
    rest = VAR.sub("", template)
    if "{" in rest or "}" in rest:
        return "a '{' or '}' that is not a {variable} (names are letters, digits and _)"
    return None


def as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def render(template: str, lookup: Lookup) -> str:
    emptied = False

    def sub(m: re.Match) -> str:
        nonlocal emptied
        value = lookup(m.group(1))
        text = as_text(value) if value not in (None, "") else (m.group(2) or "")
        emptied = emptied or text == ""
        return text

    out = VAR.sub(sub, template)
    if emptied:
        out = _MANY_SPACES.sub(" ", _SPACE_BEFORE_PUNCT.sub(r"\1", out)).strip()
    return out


def render_value(template: Any, lookup: Lookup) -> Any:
    """Like render(), but a value that is exactly one `{name}` keeps its type (True, 3, a
    dict), so `fields: {naloxone_on_hand: "{naloxone}"}` stores a boolean, not "yes"."""
    if not isinstance(template, str):
        return template
    m = _EXACT.match(template)
    if m:
        value = lookup(m.group(1))
        if value in (None, ""):
            return m.group(2) if m.group(2) is not None else None
        return value
    return render(template, lookup)
