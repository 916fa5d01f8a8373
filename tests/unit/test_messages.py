"""bot/messages.py and bot/content/messages.yaml: complete, bilingual, short, on-voice."""
from __future__ import annotations

import re
import string

import pytest

from core import keywords, messages
from core.sms import count_segments

REQUIRED = ["emergency", "emergency_2", "crisis", "help", "opted_out", "opted_in", "menu",
            "fallback", "empty", "media_only", "language_set"]
PROGRAMS = ["Homeward", "Cook County Homeward Peer Line", "Programa Regreso a Casa Ñuñoa"]
STIGMA = re.compile(r"\b(addicts?|abusers?|clean|dirty|junkies?|relapsed?|drogadict\w*|adict\w*|"
                    r"limpio|sucio)\b", re.I)
ALL = [(k, lang) for k in messages.catalogue() for lang in messages.LANGS]
# The clarifying question names two intents by their labels (bot/content/intents/*.yaml, ~30 chars).
LABELS = {"a": "una respuesta a tu pregunta xx", "b": "dejar de recibir mensajes xxxx", "time": "12:30pm"}


def test_required_keys_have_both_languages():
    cat = messages.catalogue()
    assert set(REQUIRED) <= set(cat)
    for key, entry in cat.items():
        assert set(entry) == set(messages.LANGS), key
        assert all(isinstance(v, str) and v.strip() for v in entry.values()), key


@pytest.mark.parametrize("key,lang", ALL)
def test_fits_two_segments_with_realistic_program_names(key, lang):
    for program in PROGRAMS:
        t = messages.text(key, lang, program=program, **LABELS)
        seg = count_segments(t)
        assert seg.segments <= 2, f"{key}/{lang} with {program!r}: {seg.describe()}: {t}"


@pytest.mark.parametrize("key,lang", ALL)
def test_only_known_placeholders_and_no_stigma(key, lang):
    template = messages.catalogue()[key][lang]
    fields = {f for _, f, _, _ in string.Formatter().parse(template) if f is not None}
    allowed = {"clarify": {"program", "a", "b"}, "time_changed": {"program", "time"}}.get(key, {"program"})
    assert fields <= allowed
    assert not STIGMA.search(template)


@pytest.mark.parametrize("key,lang", ALL)
def test_capitalised_reply_words_are_real_keywords(key, lang):
    # "Reply STOP" must be a word keywords.match() knows, or a shipped flow's keyword (PEER, HABLAR, JOIN).
    t = messages.text(key, lang, program="Homeward", **LABELS)
    for word in re.findall(r"\b[A-ZÑÉ]{4,}\b", t):
        assert word in _flow_keywords() or keywords.match(word), (key, lang, word)


def _flow_keywords() -> set:
    from pathlib import Path
    from core.flows.registry import load_registry
    flows = load_registry(Path(__file__).resolve().parents[2] / "bot" / "content" / "flows").flows.values()
    return {w.upper() for f in flows for words in f.keywords.values() for w in words}


def test_safety_texts_say_what_matters():
    for lang in messages.LANGS:
        emergency = messages.text("emergency", lang) + messages.text("emergency_2", lang)
        assert emergency.startswith(("Call 911", "Llama al 911"))
        assert "Narcan" in emergency and "Samarit" in emergency
        crisis = messages.text("crisis", lang, program="Homeward")
        assert "988" in crisis and "911" in crisis and "Homeward" in crisis
        help_ = messages.text("help", lang, program="Homeward")
        assert all(s in help_ for s in ("Homeward", "PEER", "988", "911"))
        menu = messages.text("menu", lang)
        assert all(f"{n} " in menu for n in "1234")
    assert "STOP" in messages.text("help", "en", program="X")
    assert "PARAR" in messages.text("help", "es", program="X")


def test_text_falls_back_to_english_and_rejects_unknown_keys(monkeypatch):
    fake = {"hi": {"en": "Hi from {program}"}}
    monkeypatch.setattr(messages, "catalogue", lambda: fake)
    assert messages.text("hi", "es", program="P", extra="ignored") == "Hi from P"
    assert messages.has("hi") and not messages.has("bye")
    with pytest.raises(KeyError):
        messages.text("bye", "en")


# -- the web chat page's words (bot/content/webchat.yaml) -----------------------------------------
ROOT = messages.CONTENT.parent.parent
CHAT_FIELDS = {"program", "name", "seconds", "n"}


@pytest.mark.parametrize("key", sorted(messages.book("webchat")))
def test_webchat_words_are_bilingual_in_tu_and_person_first(key):
    """Page words, not texts: no SMS budget, but the same languages, register and voice."""
    entry = messages.book("webchat")[key]
    assert set(entry) == set(messages.LANGS), key
    for lang, template in entry.items():
        fields = {f for _, f, _, _ in string.Formatter().parse(template) if f}
        assert fields <= CHAT_FIELDS, (key, lang, fields)
        assert not STIGMA.search(template), (key, lang)
    assert not re.search(r"\busted(es)?\b", entry["es"], re.I), key     # tú, as the flows


def test_every_word_the_chat_pages_use_is_in_the_book():
    """web/chat.py and its templates name their words by key; each key must exist."""
    used = set()
    for name in ("chat.html", "chat_base.html", "chat_resume.html"):
        used |= set(re.findall(r"\bui\.(\w+)", (ROOT / "web" / "templates" / name).read_text(encoding="utf-8")))
    source = (ROOT / "web" / "chat.py").read_text(encoding="utf-8")
    used |= set(re.findall(r"""(?:ui\(lang\)|words)\[["'](\w+)["']\]""", source))
    assert {"title", "code_unknown", "limited", "peer", "you"} <= used     # the scan sees them
    assert used <= set(messages.book("webchat")), used - set(messages.book("webchat"))
    assert messages.texts("webchat", "es")["send"] == "Enviar"
