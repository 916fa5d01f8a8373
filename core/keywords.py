"""The compliance and system keywords: STOP and friends, START, HELP, and language switches.

Twilio-style matching: the whole message is the keyword (one word, case-insensitive), so
"stop" opts out but "please stop texting me about the bus" does not; a person's sentences go to
the flows and to peers. We also forgive what phones and people add: surrounding spaces and
punctuation ("STOP.", "¡Alto!"), accents or not ("inglés"/"ingles"), a hyphen or space inside
("OPT-OUT", "stop all").

Program keywords (NALOXONE, TREATMENT, PEER...) belong to the flows that declare them, not here;
RESERVED lets the flow linter refuse a flow keyword that would shadow one of these.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass


@dataclass(frozen=True)
class Keyword:
    kind: str                        # "opt_out" | "opt_in" | "help" | "language"
    word: str                        # the canonical keyword, e.g. "STOP", "ESPANOL"
    lang: str | None = None          # language the word itself shows; None for carrier-standard
                                     # English words people of any language are told to use
    value: str | None = None         # for kind "language": the language to switch to
    only_when_opted_out: bool = False  # YES opts in only someone who opted out; otherwise it is
                                       # an ordinary answer for the flow


def _kw(kind, words, lang=None, value=None, only_when_opted_out=False):
    return {w: Keyword(kind, w, lang, value, only_when_opted_out) for w in words}


# Twilio's default opt-out words (long codes, incl. REVOKE and OPTOUT), plus Spanish ones.
# Deliberately NOT here: SI/SÍ and NO (flow answers), YES as an unconditional opt-in.
KEYWORDS: dict[str, Keyword] = {
    **_kw("opt_out", ["STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE",
                      "OPTOUT"]),
    **_kw("opt_out", ["PARAR", "ALTO", "DETENER", "CANCELAR"], lang="es"),
    **_kw("opt_in", ["START", "UNSTOP"]),
    **_kw("opt_in", ["YES"], only_when_opted_out=True),
    **_kw("opt_in", ["COMENZAR", "INICIAR", "EMPEZAR"], lang="es"),
    **_kw("help", ["HELP", "INFO"]),
    **_kw("help", ["AYUDA"], lang="es"),
    **_kw("language", ["ESPANOL"], lang="es", value="es"),
    **_kw("language", ["SPANISH"], lang="en", value="es"),
    **_kw("language", ["ENGLISH"], lang="en", value="en"),
    **_kw("language", ["INGLES"], lang="es", value="en"),
}
RESERVED = frozenset(KEYWORDS)

_INNER = re.compile(r"[\s\-_]+")


def normalise(text: str) -> str:
    """Trim, drop surrounding punctuation, fold accents and case: " ¡Inglés! " -> "INGLES"."""
    t = (text or "").strip()
    t = t.strip("".join({c for c in t if unicodedata.category(c)[0] == "P"}) + " \t\r\n")
    t = "".join(c for c in unicodedata.normalize("NFKD", t) if not unicodedata.combining(c))
    return _INNER.sub("", t).upper()


def match(text: str) -> Keyword | None:
    """The keyword this whole message is, or None. Pure; the runtime decides what to do."""
    return KEYWORDS.get(normalise(text))
