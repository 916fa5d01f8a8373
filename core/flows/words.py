"""Text normalisation shared by routing and answer reading.

People type on small keyboards, with or without accents, in capitals or not: "Sí", "SI",
"si." must all read the same. Normalising in one place keeps routing, answer parsing and
the checker's word matching consistent with each other.
"""
from __future__ import annotations

import re
import unicodedata

_DROP = re.compile(r"[^a-z0-9\s]")
_SPACES = re.compile(r"\s+")


def fold(text: str) -> str:
    """Lower-case and strip accents (ñ -> n), keeping punctuation."""
    if text.isascii():          # most texts: nothing to decompose
        return text.casefold()
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def normalize(text: str) -> str:
    """fold(), then drop punctuation (joining 'check-in' -> 'checkin') and collapse spaces."""
    return _SPACES.sub(" ", _DROP.sub("", fold(text))).strip()


def tokens(text: str) -> list[str]:
    return normalize(text).split()


def contains_phrase(haystack: list[str], phrase: list[str]) -> bool:
    """True when `phrase` occurs as consecutive whole words in `haystack`."""
    n = len(phrase)
    return n > 0 and any(haystack[i:i + n] == phrase for i in range(len(haystack) - n + 1))
