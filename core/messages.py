"""The program's own system texts (emergency, crisis, help, menu, ...) in English and Spanish.

The words live in bot/content/messages.yaml so staff can review them without reading code; this
module only looks them up. Other books of short texts (the web chat page's words, webchat.yaml)
are read the same way, through `texts()`. Pure: the file is read once and cached. A Spanish text missing for a
key falls back to English (better an English answer than none), but the test suite requires
every key in both languages, each within two SMS segments.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import yaml
from core import CONTENT

PATH = CONTENT / "messages.yaml"
LANGS = ("en", "es")
DEFAULT_LANG = "en"


@lru_cache(maxsize=None)
def book(name: str) -> dict[str, dict[str, str]]:
    """key -> {lang -> template} of bot/content/<name>.yaml (messages, webchat)."""
    with open(CONTENT / f"{name}.yaml", encoding="utf-8") as f:
        return yaml.load(f, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def catalogue() -> dict[str, dict[str, str]]:
    """The system texts: key -> {lang -> template}."""
    return book(PATH.stem)


def texts(name: str, lang: str) -> dict[str, str]:
    """Every text of one book in `lang` (en where it lacks one), for a page's templates, which
    fill their own {placeholders}."""
    return {key: entry.get(lang) or entry[DEFAULT_LANG] for key, entry in book(name).items()}


def has(key: str) -> bool:
    return key in catalogue()


def text(key: str, lang: str, **vars) -> str:
    """The text for `key` in `lang` (en if that language lacks it), with {placeholders} filled.

    Unknown keys raise KeyError: a typo must fail in tests, not send an empty SMS. Extra vars
    are ignored so callers can always pass the same context (program=...).
    """
    entry = catalogue()[key]
    template = entry.get(lang) or entry[DEFAULT_LANG]
    return template.format(**vars)
