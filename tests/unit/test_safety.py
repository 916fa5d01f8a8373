"""bot/safety.py: the brief's examples, the labelled set's precision/recall, and robustness.

Run with -s to see the precision/recall line; `python bench/safety_report.py --misses` prints
the full table per language and lists every miss.
"""
from __future__ import annotations

import logging
import time
import unicodedata

import pytest
from hypothesis import given, settings, strategies as st

from bench.safety_report import CLASSES, evaluate, examples, load
from core import safety
from core.safety import Classification, classify, split

MUST_FIRE = {
    "emergency": [
        "hes not breathing!!", "he isnt breathin", "she wont wake up", "my frend is od",
        "cant wake him up", "she's turning blue", "no responde", "no respira", "no despierta",
        "labios morados", "tiene los labios azules", "mi amigo tiene una sobredosis",
        "he is ODing", "shes overdosing", "blue lips", "unresponsive",
        "passed out and cant wake him", "HE'S NOT BREATHING", "he’s not breathing",
    ],
    "crisis": [
        "i want to die", "kill myself", "end it all", "no quiero vivir", "quiero morirme",
        "me quiero matar", "quiero hacerme daño", "I WANT TO KILL MYSELF", "im suicidal",
        "voy a suicidarme",
        # round 8: dying said as a plan, the means found, someone else's threat (en, es)
        "before my court date thursday i'll be dead", "i dont deserve to live", "the urge to cut is so strong",
        "i got the cord and i found a spot", "my boyfriend keeps saying he's gonna kill himself tonight",
        "ultimo mensaje q mando, gracias x todo", "prefiero morirme", "mi papa saco la pistola y dice q lo va a hacer",
        "se q no tengo tolerancia, x eso me voy a meter un chingo pa q sea la ultima",
    ],
}
MUST_NOT_FIRE = [
    "im ok", "2", "good day", "where can I get narcan", "NALOXONE 60614", "what is an overdose",
    "how do i prevent an overdose", "I'm breathing easier today", "I am dying to see my kids",
    "", "   ", "?", "STOP", "HELP", "yes", "no", "sí", "estoy bien", "dónde consigo narcan",
    "qué es una sobredosis", "me muero de hambre", "that's odd", "i'd die for my kids",
    "i wont be here tomorrow, got court", "ending it with my girl tonight", "out of this world pizza",
    "me voy pa siempre de esta ciudad, me mudo a texas",
    "ultimo mensaje de hoy, buenas noches", "acabo con esto del papeleo hoy", "just dropped my lil one at school",
]

THRESHOLDS = {  # split -> class -> (min precision, min recall)
    "dev": {"emergency": (0.95, 0.98), "crisis": (0.95, 0.95)},
    "heldout": {"emergency": (0.90, 0.95), "crisis": (0.90, 0.90)},
}


@pytest.mark.parametrize("kind,text", [(k, t) for k, ts in MUST_FIRE.items() for t in ts])
def test_fires(kind, text):
    assert classify(text).kind == kind, text


@pytest.mark.parametrize("text", MUST_NOT_FIRE)
def test_does_not_fire(text):
    assert classify(text) == safety.NONE
    assert not classify(text)


def test_result_names_rule_and_language_not_text():
    c = classify("mi hermano no respira")
    assert c == Classification("emergency", "es", "es.emergency.no_respira")
    assert "hermano" not in c.matched
    assert classify("i want to die").lang_hint == "en"
    with pytest.raises(AttributeError):
        c.kind = None  # frozen


def test_emergency_wins_over_crisis():
    # Took pills to die: 911 first; the escalation brings a peer either way.
    assert classify("i took all my pills i want to die").kind == "emergency"


def test_negation_and_questions_are_guarded():
    assert not classify("i've never overdosed")
    assert not classify("i dont want to die")
    assert not classify("if someone isn't breathing what do i do")
    # ...but the guard only covers its own words: a real emergency after it still fires.
    assert classify("what is an overdose? my friend is not breathing").kind == "emergency"
    assert classify("i never od before but my friend is od now").kind == "emergency"


def test_split_normalises_like_texts_are_typed():
    assert split("He’s NOT breathing!!") == ["hes", "not", "breathing", "|"]
    assert split("¿Qué? Está MORADO") == ["que", "|", "esta", "morado"]
    assert split("O.D.") == ["od"]


def test_within_one():
    assert safety._within_one("breating", "breathing")     # deletion
    assert safety._within_one("braething", "breathing")    # swap
    assert safety._within_one("breathinf", "breathing")    # substitution
    assert not safety._within_one("breaking", "breathing")


def test_lexicons_load_and_reject_unquoted_booleans():
    for lang in safety.LANGS:
        lx = safety.lexicon(lang)
        assert lx.rules["emergency"] and lx.rules["crisis"]
    with pytest.raises(TypeError):
        safety.Lexicon("xx", {"classes": {"neg": [False]}})
    with pytest.raises(ValueError):
        safety.Lexicon("xx", {"rules": {"crisis": [{"id": "x", "pattern": "(a (b|c))"}]}})


def _report(split_name):
    scores = evaluate(load(), split_name)
    line = "  ".join(f"{lang}/{cls} P={s.precision:.3f} R={s.recall:.3f}"
                     for (lang, cls), s in sorted(scores.items()))
    print(f"\nsafety {split_name}: {line}")
    return scores


@pytest.mark.parametrize("split_name", ["dev", "heldout"])
def test_labelled_precision_recall(split_name):
    scores = _report(split_name)
    for cls, (min_p, min_r) in THRESHOLDS[split_name].items():
        for lang in ("all", "en", "es"):
            s = scores[(lang, cls)]
            assert s.precision >= min_p and s.recall >= min_r, (lang, cls, s.misses)


def test_labelled_set_is_big_enough_and_bilingual():
    data = load()
    for split_name in ("dev", "heldout"):
        labels = {(lang, label) for lang, label, _ in examples(data, split_name)}
        assert labels == {(l, k) for l in ("en", "es") for k in (*CLASSES, "none")}
    assert sum(1 for _ in examples(data, "dev")) >= 150


def _positives():
    data = load()
    return [(label, t) for s in ("dev", "heldout") for _, label, t in examples(data, s)
            if label != "none"]


def _strip_accents(t):
    return "".join(c for c in unicodedata.normalize("NFKD", t) if not unicodedata.combining(c))


@pytest.mark.parametrize("variant", [
    str.upper, str.lower, lambda t: t + "!!!", lambda t: "  " + t + " ?", _strip_accents,
    lambda t: t.replace("'", "").replace("’", ""), lambda t: t.replace("'", "’"),
])
def test_typing_style_does_not_change_the_answer(variant):
    wrong = [(label, t) for label, t in _positives() if classify(variant(t)).kind != label]
    assert not wrong


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_total_and_deterministic_on_any_text(text):
    c = classify(text)
    assert c.kind in (None, *CLASSES)
    assert (c.kind is None) == (c.lang_hint is None) == (c.matched is None)
    assert classify(text) == c


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(MUST_FIRE["emergency"]), st.integers(2, 6))
def test_repeated_letters_do_not_hide_an_emergency(text, n):
    stretched = "".join(ch * n if ch in "aeiouy" else ch for ch in text)
    assert classify(stretched).kind == "emergency", stretched


def test_pure_and_quick(caplog):
    texts = [t for _, t in _positives()] + MUST_NOT_FIRE
    classify("warm up")
    with caplog.at_level(logging.DEBUG):
        t0 = time.perf_counter()
        for t in texts:
            classify(t)
        elapsed = time.perf_counter() - t0
    assert not caplog.records                       # nothing about the text is logged
    assert elapsed / len(texts) < 0.01              # well under 10 ms a message on a slow box


# -- the learned half (bot/content/safety/examples.yaml) ---------------------------------------

def test_an_overdose_no_rule_describes_is_still_caught_and_answered_in_its_language():
    text = "my roommate did a shot and now hes on the floor snoring and cold"
    assert not safety.by_rules(text)            # no phrase rule foresaw it
    verdict = classify(text)
    assert (verdict.kind, verdict.lang_hint, verdict.matched) == ("emergency", "en", "en.emergency.model")


@pytest.mark.parametrize("text", ["gonna take a nap", "despues de las 3", "hi", "narcan in dayton",
                                  "where can i get suboxone", "estoy bien gracias", "my phone died lol"])
def test_the_model_stays_quiet_on_everyday_texts(text):
    assert classify(text).kind is None


def test_the_model_is_the_same_from_the_same_examples():
    texts, labels = safety.training_texts()
    a, b = safety.Learned(texts, labels), safety.Learned(texts, labels)
    for t in ("he took something and wont get up", "me siento raro", "ok"):
        assert a.model.scores(a.normalise(t)).tolist() == b.model.scores(b.normalise(t)).tolist()


def test_a_broken_examples_file_is_refused_with_its_file_and_line(tmp_path):
    broken = tmp_path / "examples.yaml"
    broken.write_text("en:\n  emergency:\n    - he is not breathing\n  emergncy:\n    - she is blue\n"
                      "  other:\n    - he is not breathing\nes:\n  crisis:\n    - quiero morir\n", encoding="utf-8")
    with pytest.raises(ValueError) as err:
        safety.training_texts(broken)
    message = str(err.value)
    assert f"{broken}:4: error: unknown label 'emergncy'" in message
    assert f"{broken}:7: error: 'he is not breathing' is also listed as emergency (line 3)" in message


@pytest.mark.parametrize("text, kind", [
    # a rule fires, a defuser says "not now", and the model reads a memory or a lesson
    ("my sister was unresponsive like 3 min back in march, shes in rehab now doin great", None),
    ("mi mama me encontro sin respirar cuando tenia 20, ahora hablamos de eso y estamos mas unidas", None),
    ("im an emt now, we get od calls like every shift", None),
    # the same words happening now: no defuser, or an urgent word beside it
    ("my sister is unresponsive", "emergency"),
    ("help my sister is unresponsive again like back in march", "emergency"),
    ("used for the first time in 2 yrs and i feel like im fading out", "emergency"),
    ("my girl is out cold and i got dope in the house, will they arrest me if i call", "emergency"),
    ("lost my job lost my girl lost everything, got nothing to live for", "crisis"),
    # a "now" inside a "not now" ("now hes home") does not make the scene urgent
    ("my friend od'd last weekend but they narcanned him and hes fine now, hes home", None),
    ("creo que mi hijo tuvo una sobredosis ahorita", "emergency"),
    # round 8: screens, games, ordinary sleep, the cold, a pet
    ("played gta all night my guy kept dying", None),
    ("baby passed out after his bottle, finally peace and quiet", None),
    ("my hands turn blue in this cold i need gloves fr", None),
    ("mi perro no despierta de su siesta, esta roncando en mis pies jaja", None),
    ("en la tele pasaron un reportaje de sobredosis en las carceles, q fuerte", None),
])
def test_second_thoughts_ask_the_model_only_when_something_says_not_now(text, kind):
    assert safety.classify(text).kind == kind


def test_a_plain_answer_to_the_waiting_question_is_judged_by_the_rules_alone():
    from core import understand
    assert understand.plain_answer("no creo", "yes_no")
    assert understand.plain_answer("un 4 creo", "number")
    assert not understand.plain_answer("no creo", None)                     # nothing waits
    assert not understand.plain_answer("no creo", "free_text")              # free text: both halves
    assert not understand.plain_answer("no, shes gray and cold and wont wake up", "yes_no")   # too long
    assert safety.classify("no creo", learned_half=False).kind is None
    assert safety.classify("no respira", learned_half=False).kind == "emergency"   # the rules still run


@pytest.mark.parametrize("pattern", ["(perdi a ~2 por suicidio|se suicido)", "(^ help|hurry)", "(help $|hurry)"])
def test_a_gap_or_an_anchor_inside_a_group_is_refused_not_read_as_a_word(pattern):
    """Inside ( | ) "~2" would be matched as the word "~2": the alternative could never fire."""
    with pytest.raises(ValueError, match="cannot go inside"):
        safety.Lexicon("es", {"rules": {"crisis": [{"id": "x", "pattern": pattern}]}})


def test_the_word_index_never_skips_a_pattern_that_would_match():
    """Each pattern is searched only when the text has a word of its rarest required item: over
    every training text, the guards and rules found that way are the ones a search of every
    pattern finds."""
    texts = safety.training_texts()[0]
    for lang in safety.LANGS:
        lx = safety.lexicon(lang)
        for text in texts:
            toks = lx.tokens(split(text))
            s = lx.line(toks)
            for kind in safety.KINDS:
                may = lx.rule_index[kind].could_match(toks)
                every = {p for _, ps in lx.rules[kind] for p in ps if p.search(s)}
                assert every <= may, (lang, kind, text)
                may = lx.guard_index[kind].could_match(toks)
                assert {rx for rx, _ in lx.guards[kind] if rx.search(s)} <= may, (lang, kind, text)


@pytest.mark.parametrize("text, kind", [
    ("necesito ayuda", None), ("no se", None), ("i need help", None), ("alguien me puede ayudar", None),
    ("ayuda ya", "emergency"), ("please hurry", "emergency"), ("help help help", "emergency"),
    ("i need help now", "emergency"), ("help me hes not breathing", "emergency"), ("no respira", "emergency"),
    # one word more than a plain ask, and the learned half reads it as before
    ("help me", "emergency"), ("help him", "emergency"), ("hes cold", "emergency"), ("no mueve", "emergency"),
    ("se cayo", "emergency"), ("ayuda ahorita", "emergency"), ("nodding out", "emergency")])
def test_a_plain_ask_for_help_is_no_emergency_by_its_letters_alone(text, kind):
    """The learned half had sent the 911 steps to "necesito ayuda" and to "no se" after a crisis
    answer. Words that only ask for help need the rules or something urgent; one word more
    ("help him", "hes cold") and the learned half reads the text as before."""
    assert classify(text).kind == kind


@pytest.mark.parametrize("text,kind", [
    # a review of round 11 found second thoughts ("is that bad", "still remember", "pero estoy
    # bien", "que dice la ley") hiding these; they were taken out, and these stay answered
    ("is that bad that i want to die", "crisis"),
    ("i still remember how it felt, i want to die", "crisis"),
    ("just learning how to use narcan, he turning blue", "emergency"),
    ("me corte las venas pero estoy bien", "crisis"),
    ("mi amigo no respira, que dice la ley del buen samaritano si llamo", "emergency"),
    ("no respira, me protege la ley del buen samaritano si llamo al 911?", "emergency"),
    ("nomas pregunto cuantas pastillas se necesitan para morir", "crisis"),
    # round 11's new crisis phrases
    ("i keep wishing i died that time i od'd", "crisis"),
    ("i feel like giving up for good. not like quitting a job. like for good", "crisis"),
    ("la vida ya no vale la pena desde que se fue mi mujer con el niño", "crisis"),
])
def test_what_happens_now_is_never_taken_for_a_memory_or_a_question(text, kind):
    assert safety.classify(text).kind == kind
