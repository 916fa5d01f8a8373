"""bot/keywords.py: whole-message, Twilio-style keyword matching."""
from __future__ import annotations

import pytest
from hypothesis import given, strategies as st

from core.keywords import KEYWORDS, RESERVED, Keyword, match, normalise


@pytest.mark.parametrize("text,kind,word", [
    ("STOP", "opt_out", "STOP"), ("stop", "opt_out", "STOP"), ("  Stop \n", "opt_out", "STOP"),
    ("STOP.", "opt_out", "STOP"), ("stop!", "opt_out", "STOP"), ("'stop'", "opt_out", "STOP"),
    ("StopAll", "opt_out", "STOPALL"), ("stop all", "opt_out", "STOPALL"),
    ("unsubscribe", "opt_out", "UNSUBSCRIBE"), ("Cancel", "opt_out", "CANCEL"),
    ("end", "opt_out", "END"), ("quit", "opt_out", "QUIT"), ("revoke", "opt_out", "REVOKE"),
    ("opt-out", "opt_out", "OPTOUT"), ("parar", "opt_out", "PARAR"),
    ("¡Alto!", "opt_out", "ALTO"), ("detener", "opt_out", "DETENER"),
    ("cancelar", "opt_out", "CANCELAR"),
    ("start", "opt_in", "START"), ("UNSTOP", "opt_in", "UNSTOP"), ("yes", "opt_in", "YES"),
    ("comenzar", "opt_in", "COMENZAR"), ("Iniciar", "opt_in", "INICIAR"),
    ("help", "help", "HELP"), ("HELP?", "help", "HELP"), ("info", "help", "INFO"),
    ("ayuda", "help", "AYUDA"), ("¿Ayuda?", "help", "AYUDA"),
    ("español", "language", "ESPANOL"), ("ESPANOL", "language", "ESPANOL"),
    ("Spanish", "language", "SPANISH"), ("english", "language", "ENGLISH"),
    ("inglés", "language", "INGLES"), ("INGLES", "language", "INGLES"),
])
def test_keywords(text, kind, word):
    kw = match(text)
    assert kw is not None and (kw.kind, kw.word) == (kind, word)


@pytest.mark.parametrize("text", [
    "", "   ", "stop texting me", "please stop", "STOP 🛑", "si", "SÍ", "Si.", "no", "NO",
    "help me", "i need help", "start over", "1", "NALOXONE", "TREATMENT", "PEER", "stopp",
    "yes please", "the end", "alto?!?! por favor",
])
def test_not_keywords(text):
    assert match(text) is None


def test_yes_only_opts_in_someone_opted_out():
    assert match("YES").only_when_opted_out is True
    assert match("START").only_when_opted_out is False
    assert not any(k.only_when_opted_out for w, k in KEYWORDS.items() if w != "YES")


def test_language_keywords_carry_value_and_lang():
    assert (match("español").value, match("español").lang) == ("es", "es")
    assert (match("inglés").value, match("inglés").lang) == ("en", "es")
    assert (match("ENGLISH").value, match("SPANISH").value) == ("en", "es")
    assert match("AYUDA").lang == "es" and match("PARAR").lang == "es"
    assert match("HELP").lang is None and match("STOP").lang is None  # any language uses these
    assert all(k.value is None for k in KEYWORDS.values() if k.kind != "language")


def test_keyword_is_frozen_and_reserved_lists_all():
    kw = match("stop")
    with pytest.raises(AttributeError):
        kw.kind = "help"
    assert kw == Keyword("opt_out", "STOP")
    assert {"STOP", "START", "HELP", "AYUDA", "ESPANOL"} <= RESERVED
    assert not {"SI", "NO", "NALOXONE", "TREATMENT"} & RESERVED


@given(st.text(max_size=40))
def test_total_and_consistent(text):
    kw = match(text)
    assert kw is None or (normalise(text) in RESERVED and kw is KEYWORDS[normalise(text)])


@given(st.sampled_from(sorted(RESERVED)), st.text(alphabet="abcxyz", min_size=1, max_size=5))
def test_a_keyword_inside_a_sentence_is_not_a_keyword(word, other):
    assert match(f"{word} {other}") is None or normalise(f"{word} {other}") in RESERVED
    assert match(f"{other} {word} {other}") is None or normalise(f"{other}{word}{other}") in RESERVED
