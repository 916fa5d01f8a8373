"""Reading answers the way people text, in English and Spanish."""
from __future__ import annotations

from datetime import date

import pytest

from core.flows import answers
from core.flows.schema import Choice, Node

TODAY = date(2025, 3, 3)  # a Monday


@pytest.mark.parametrize("text, value", [
    ("yes", True), ("Y", True), ("yeah!", True), ("Yep", True), ("sí", True), ("SI", True),
    ("claro", True), ("ok", True), ("yes I do", True), ("no", False), ("Nope", False),
    ("nah", False), ("no thanks", False), ("No gracias", False), ("not really", False),
    ("not sure", None), ("no sé", None), ("maybe", None), ("banana", None), ("", None),
    # a filler first, and the words people use (round 8's writers): "uh no" is not a request to stop
    ("uh no", False), ("um yeah sure", True), ("pues si", True), ("nop", False), ("nel", False),
    ("ta bien si", True), ("bet", True), ("aight", True), ("ahorita no", False),
    ("well i guess", None), ("uh", None), ("no entiendo, hablas español?", None), ("i dont get it", None),
])
def test_yes_no(text, value):
    assert answers.yes_no(text) is value


@pytest.mark.parametrize("text, lang, value", [
    ("3", "en", 3), ("about 20 times", "en", 20), ("2.5", "en", 2.5), ("three", "en", 3),
    ("tres", "es", 3), ("none", "en", 0), ("ninguna", "es", 0), ("once", "en", 1),
    ("once", "es", 11), ("twice", "en", 2), ("a lot", "en", None),
    ("a couple times", "en", 2), ("a few", "en", 3), ("un par de veces", "es", 2), ("doce", "es", 12),
])
def test_number(text, lang, value):
    assert answers.number(text, lang) == value


@pytest.mark.parametrize("text, value", [
    ("9am", "09:00"), ("9 AM", "09:00"), ("6:30 pm", "18:30"), ("6:30p.m.", "18:30"),
    ("18:00", "18:00"), ("morning", "09:00"), ("in the evening", "18:00"), ("noon", "12:00"),
    ("por la mañana", "09:00"), ("6 de la tarde", "18:00"), ("10 at night", "22:00"),
    ("5", "17:00"), ("12am", "00:00"), ("whenever", None), ("25:00", None),
    # habits, not one time: "mornings r better" answers "what time is best?"
    ("mornings r better", "09:00"), ("las mañanas son mejor", "09:00"), ("idk afternoons i guess", "14:00"),
    ("evenings", "18:00"), ("after work", "18:00"), ("4ish", "16:00"), ("no muy temprano", None),
])
def test_time_of_day(text, value):
    assert answers.time_of_day(text) == value


RELEASE_TODAY = date(2026, 12, 1)   # a Tuesday


@pytest.mark.parametrize("text, lang, value", [
    ("last tuesday", "en", date(2026, 11, 24)), ("yesterday", "en", date(2026, 11, 30)),
    ("3 days ago", "en", date(2026, 11, 28)), ("Nov 28", "en", date(2026, 11, 28)),
    ("el lunes pasado", "es", date(2026, 11, 30)), ("hace tres días", "es", date(2026, 11, 28)),
    ("ayer", "es", date(2026, 11, 30)), ("today", "en", RELEASE_TODAY), ("hoy", "es", RELEASE_TODAY),
    ("i got home last tuesday", "en", date(2026, 11, 24)), ("sali el lunes", "es", date(2026, 11, 30)),
    ("friday", "en", date(2026, 11, 27)), ("viernes", "es", date(2026, 11, 27)),
    ("the 28th", "en", date(2026, 11, 28)), ("28 de noviembre", "es", date(2026, 11, 28)),
    ("hace una semana", "es", date(2026, 11, 24)), ("2 weeks ago", "en", date(2026, 11, 17)),
    ("2026-11-25", "en", date(2026, 11, 25)), ("11/20", "en", date(2026, 11, 20)),
    ("20/11", "es", date(2026, 11, 20)), ("11/20/26", "en", date(2026, 11, 20)),
    ("12/28", "en", date(2025, 12, 28)),          # no year, and this year's is ahead: last year's
    # never ahead: a release date is in the past or today
    ("tomorrow", "en", None), ("mañana", "es", None), ("2027-01-05", "en", None), ("12/5/26", "en", None),
    ("soon", "en", None), ("2/30", "en", None), ("9am", "en", None), ("", "en", None),
])
def test_calendar_date_reads_the_past_the_way_people_say_it(text, lang, value):
    assert answers.calendar_date(text, lang, RELEASE_TODAY) == value


def test_the_date_understood_is_said_back_in_the_persons_language():
    assert answers.date_in_words("2026-11-24", "en") == "Tue Nov 24"
    assert answers.date_in_words("2026-11-24", "es") == "martes 24 de noviembre"


MOOD = (Choice(1, {"en": ("rough",), "es": ("muy mal",)}), Choice(2, {"es": ("mal",)}),
        Choice(4, {"en": ("good",), "es": ("bien",)}), Choice(5, {"en": ("great",), "es": ("muy bien",)}))


@pytest.mark.parametrize("text, index", [
    ("1", 0), ("#2", 1), ("4.", 3), ("two", 1), ("good", 2), ("GREAT!!", 3), ("muy bien", 3),
    ("estoy muy bien", 3), ("estoy bien", 2), ("pretty rough day", 0), ("not good", None),
    ("9", None), ("banana", None), ("", None),
])
def test_choice(text, index):
    assert answers.choice(text, MOOD) == index


@pytest.mark.parametrize("text, value", [
    ("maria", "Maria"), ("My name is Maria", "Maria"), ("soy Ana", "Ana"),
    ("me llamo maría josé", "María José"), ("JOSE", "Jose"), ("It's DeShawn", "DeShawn"),
    ("no", None), ("12345", None), ("Rosa Maria Perez Gomez", "Rosa Maria"), ("big mike", "Big Mike"),
    # a sentence is not what to call them: the question is asked again (after "thanks for telling me")
    ("estoy en el trabajo", None), ("im so tired", None), ("its me", None), ("at work rn call u later", None),
])
def test_name(text, value):
    assert answers.name(text) == value


LANGUAGE = (Choice("en", {"en": ("english",)}), Choice("es", {"es": ("espanol",)}))


@pytest.mark.parametrize("text, index", [("en", 0), ("es", 1), ("español", 1), ("2", 1),
                                         ("estoy en el trabajo", None), ("eso es todo", None)])
def test_a_choices_two_letter_code_is_an_answer_alone_not_a_word_in_a_sentence(text, index):
    assert answers.choice(text, LANGUAGE) == index


def test_zip_and_place():
    assert answers.zip_code("I'm at 60614-1234") == "60614"
    assert answers.zip_code("6061") is None
    assert answers.place("Oak Park") == "Oak Park" and answers.place("??") is None


def test_skip_words_in_both_languages():
    assert answers.is_skip("SKIP") and answers.is_skip("saltar") and not answers.is_skip("no")


@pytest.mark.parametrize("text", ["i get out next week actually", "salgo mañana", "in 3 days", "el lunes que viene",
                                  "en dos semanas", "tomorrow"])
def test_a_day_still_to_come_is_no_release_date(text):
    """dateparser, told to prefer the past, had read "in 3 days" as 27 days ago and "el lunes que
    viene" as last Monday: a wrong release date would time every check-in wrong."""
    assert answers.ahead(text) and answers.calendar_date(text, "es", RELEASE_TODAY) is None


@pytest.mark.parametrize("text", ["ayer en la mañana", "hoy en la mañana", "last week", "hace 3 dias"])
def test_a_day_gone_by_is_not_ahead(text):
    assert not answers.ahead(text) and answers.calendar_date(text, "es", RELEASE_TODAY) is not None


@pytest.mark.parametrize("text", ["whenever", "any time", "cuando sea", "me da igual", "idc"])
def test_no_time_in_particular_is_the_usual_time_not_sorry(text):
    node = Node(id="t", type="ask", expect="time", optional=True)
    assert answers.read(node, text, "en", RELEASE_TODAY).status == "skip"


@pytest.mark.parametrize("text, value", [("👍", True), ("👍🏽", True), ("✅", True), ("🙏", None), ("😢", None)])
def test_a_thumbs_up_to_a_yes_no_question_is_a_yes(text, value):
    assert answers.yes_no(text) is value


@pytest.mark.parametrize("text", ["i got out friday, see my PO tomorrow", "sali el viernes, mi mama viene manana",
                                  "i been home since monday, next step is a job"])
def test_a_day_gone_by_beside_one_to_come_is_the_release_date(text):
    assert not answers.ahead(text) and answers.calendar_date(text, "en", RELEASE_TODAY) is not None


@pytest.mark.parametrize("text, value", [("Mal", "Mal"), ("call me Q", "Q"), ("Una", "Una"), ("just Mike", "Mike")])
def test_short_names_that_are_also_words_are_names(text, value):
    assert answers.name(text) == value


# --- a release still to come, release news, a new check-in time (round 11, the testers' journeys)
SAT_DEC_5 = date(2026, 12, 5)


@pytest.mark.parametrize("text,lang,value", [
    ("im still inside, release date is 12/15", "en", date(2026, 12, 15)),
    ("12/15", "en", date(2026, 12, 15)),                   # a few days ahead, not a year ago
    ("15/12", "es", date(2026, 12, 15)),
    ("salgo el 10 de diciembre", "es", date(2026, 12, 10)),
    ("friday dec 11", "en", date(2026, 12, 11)),
    ("i aint out yet, i get out next friday", "en", date(2026, 12, 11)),
    ("salgo el lunes que viene", "es", date(2026, 12, 7)),
    ("still inside til the 10th", "en", date(2026, 12, 10)),
    ("tomorrow", "en", date(2026, 12, 6)),
    ("11/28", "en", date(2026, 11, 28)),                   # gone by stays gone by
    ("i got out friday, see my PO tomorrow", "en", date(2026, 12, 4)),
    ("last tuesday", "en", date(2026, 12, 1)),
    ("hace tres dias", "es", date(2026, 12, 2)),
    ("im still locked up til the 15th", "en", date(2026, 12, 15)),
])
def test_the_day_they_get_home_reads_ahead_and_back(text, lang, value):
    node = type("Node", (), {"expect": "date", "optional": True, "choices": ()})
    assert answers.read(node, text, lang, SAT_DEC_5) == answers.Answer("ok", value.isoformat())


@pytest.mark.parametrize("text,value", [
    ("im out!! just got out this morning", SAT_DEC_5),
    ("ya sali ayer", date(2026, 12, 4)),
    ("me soltaron hoy", SAT_DEC_5),
    ("i get out friday", None),
    ("im out of bread lol", None),
    ("im out of narcan", None),
    ("im out here struggling", None),
    ("im out now!!", SAT_DEC_5),
    ("just got home from work", None),
    ("i got out of bed late", None),
    ("my cousin just got out yesterday, can he sign up", None),
    ("ya sali del trabajo", None),
    ("ya llegue a casa del doctor", None),
    ("salgo el lunes", None),
])
def test_news_that_they_are_out(text, value):
    assert answers.released_news(text, "en", SAT_DEC_5) == value


@pytest.mark.parametrize("text,value", [
    ("can you text me at 6pm instead", "18:00"),
    ("me pueden escribir a las 7pm en vez de las 5?", "19:00"),
    ("can you text me in the evenings instead? like 7pm", "19:00"),
    ("i get off work at 5", None),
    ("im at work till 5", None),
    ("text me", None),
    ("dont text me at 6am lol", None),
    ("no me escriban a las 6am porfa", None),
    ("my check in at probation is at 2pm", None),
    ("got a weird message at 3am last night", None),
    ("mi hermano me escribio a las 2am borracho", None),
])
def test_a_new_check_in_time_asked_for_in_words(text, value):
    assert answers.new_checkin_time(text) == value
    assert value is None or answers.time_in_words(value) in ("6pm", "7pm")
