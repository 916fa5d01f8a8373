"""Reading a person's answer to a question, in English or Spanish, the way people text.

Each reader returns the value or None ("could not read it"), never raises: an unreadable
answer earns a gentler re-ask, not an error. Both languages are always accepted, because
people mix them. Nothing here reads the clock: `today` is passed in.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from .schema import Choice, Node
from .words import contains_phrase, fold, normalize, tokens

YES = {"yes", "y", "yeah", "yea", "yep", "yup", "ya", "yah", "sure", "ok", "okay", "k", "kk",
       "si", "sip", "claro", "dale", "simon", "correct", "affirmative", "absolutely", "definitely",
       "of course", "por supuesto", "yes please", "bueno", "vale", "esta bien", "i do", "i have",
       "aha", "uh huh", "yess", "yesss", "sii", "siii", "cierto", "afirmativo", "obvio",
       "ta bien", "sta bien", "sipi", "sipo", "va", "orale", "bet", "aight", "ight", "fasho",
       "for sure", "yessir", "yes sir", "yes maam", "si senor", "si senora", "claro que si", "dale pues",
       "fine by me", "that works", "works for me", "sounds good", "i guess so", "me parece bien",
       "esta bien eso", "todo bien con eso"}     # not "thats ok" / "fine": often a polite no
NO = {"no", "n", "nope", "nah", "naw", "nay", "never", "nunca", "negative", "no thanks",
      "no gracias", "not really", "none", "nada", "noo", "nooo", "negativo", "tampoco",
      "i dont", "i do not", "i havent", "i have not", "not yet", "todavia no", "aun no",
      "nop", "nel", "nelson", "not today", "not now", "not rn", "ahorita no", "ahora no",
      "hoy no", "no no", "nada de eso", "pass on that", "i guess not", "thats ok thanks", "im ok thanks"}
# Said before the answer and meaning nothing: "uh no", "pues si", "um yeah"
FILLERS = {"uh", "um", "umm", "uhh", "uhm", "hmm", "hm", "mmm", "well", "oh", "ah", "eh", "pues",
           "este", "ehh", "ahh", "bueno pues", "lol", "haha", "jaja", "honestly", "i mean", "like", "i guess"}
UNSURE = {"not sure", "dont know", "do not know", "idk", "maybe", "perhaps", "unsure",
          "no se", "no lo se", "quizas", "quiza", "tal vez", "a lo mejor", "no estoy seguro",
          "no estoy segura", "dunno", "who knows", "no idea", "ni idea",
          # not understanding the question is no answer to it: "no entiendo, hablas español?"
          "no entiendo", "no comprendo", "no te entiendo", "no le entiendo", "dont understand",
          "i dont get it", "what do you mean", "what do u mean", "que quieres decir", "como que"}
SKIP = {"skip", "pass", "saltar", "salta", "paso", "omitir", "next", "siguiente",
        "rather not", "prefer not", "prefiero no", "prefiero no decir", "rather not say",
        "prefer not to say", "no quiero decir"}
# "What time is good?" answered with no time in particular: the usual time, as a skip is.
ANY_TIME = {"whenever", "any time", "anytime", "any time is fine", "anytime is fine", "idc", "idk",
            "doesnt matter", "dont matter", "no preference", "cuando sea", "a cualquier hora",
            "cualquier hora", "da igual", "me da igual", "no importa", "cuando quieras", "whenever is fine"}
NEGATIONS = {"not", "no", "never", "isnt", "arent", "dont", "nada", "ni", "nunca", "tampoco"}

_NUMBER_WORDS = {
    "zero": 0, "none": 0, "never": 0, "no": 0, "nothing": 0, "one": 1, "once": 1, "two": 2,
    "twice": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9,
    "ten": 10, "cero": 0, "ninguna": 0, "ninguno": 0, "nunca": 0, "nada": 0, "uno": 1, "una": 1,
    "dos": 2, "tres": 3, "cuatro": 4, "cinco": 5, "seis": 6, "siete": 7, "ocho": 8, "nueve": 9,
    "diez": 10, "eleven": 11, "twelve": 12, "dozen": 12, "a dozen": 12, "doce": 12, "trece": 13,
    "catorce": 14, "quince": 15, "fifteen": 15, "twenty": 20, "veinte": 20,
    "couple": 2, "a couple": 2, "par": 2, "un par": 2, "a few": 3, "few": 3,
}
_MONTHS = {m: i + 1 for i, names in enumerate([
    ("jan", "january", "ene", "enero"), ("feb", "february", "febrero"), ("mar", "march", "marzo"),
    ("apr", "april", "abr", "abril"), ("may", "mayo"), ("jun", "june", "junio"),
    ("jul", "july", "julio"), ("aug", "august", "ago", "agosto"),
    ("sep", "sept", "september", "septiembre", "setiembre"), ("oct", "october", "octubre"),
    ("nov", "november", "noviembre"), ("dec", "december", "dic", "diciembre")]) for m in names}
_WEEKDAYS = {d: i for i, names in enumerate([
    ("monday", "mon", "lunes"), ("tuesday", "tue", "tues", "martes"),
    ("wednesday", "wed", "miercoles"), ("thursday", "thu", "thurs", "jueves"),
    ("friday", "fri", "viernes"), ("saturday", "sat", "sabado"), ("sunday", "sun", "domingo")])
    for d in names}
_PARTS_OF_DAY = [  # (phrase, default hour, meridiem hint)
    ("early morning", 7, "am"), ("madrugada", 6, "am"), ("morning", 9, "am"), ("manana", 9, "am"),
    ("noon", 12, None), ("midday", 12, None), ("mediodia", 12, None), ("lunch", 12, None),
    ("afternoon", 14, "pm"), ("tarde", 14, "pm"), ("evening", 18, "pm"), ("night", 20, "pm"),
    ("noche", 20, "pm"), ("tonight", 20, "pm"), ("am", None, "am"), ("pm", None, "pm"),
    # plurals and habits: "mornings r better", "las mañanas", "after work"
    ("mornings", 9, "am"), ("mananas", 9, "am"), ("afternoons", 14, "pm"), ("tardes", 14, "pm"),
    ("evenings", 18, "pm"), ("nights", 20, "pm"), ("noches", 20, "pm"), ("after work", 18, "pm"),
    ("despues del trabajo", 18, "pm"), ("saliendo del trabajo", 18, "pm"),
]
_NAME_PREFIXES = ["my name is", "my names", "name is", "im called", "i am", "im", "its",
                  "it is", "this is", "call me", "you can call me", "me llamo", "mi nombre es",
                  "soy", "llamame", "me dicen", "dime", "puedes llamarme", "just", "solo"]


# Words a sentence starts with and a name does not ("im at work", "estoy en el trabajo").
_NOT_A_NAME = frozenset("""
i im me my you u your we they he she it its the a an at in on to so not no just really very
here home work working good fine ok okay bad tired doing feeling going still been got gonna
trying sorry idk what why how where when who busy
estoy estas esta en el la los las un una mi yo tu que q muy bien mal aqui trabajando cansado
cansada ya todavia ando voy tengo se porque pq donde como cuando quien ocupado ocupada
""".split())


_NOT_ME = frozenset("me i you u it this that here".split())    # "its me": no name said ("Mal", "Una", "Q" are)


@dataclass(frozen=True)
class Answer:
    status: str            # "ok" | "skip" | "unreadable"
    value: Any = None
    choice: Choice | None = None


# A thumbs-up sent to a yes/no question is a yes ("Want a peer to call you?" 👍).
THUMBS_UP = frozenset("\U0001F44D\U0001F44C\u2705\U0001F197")           # 👍 👌 ✅ 🆗
_EMOJI_MARKS = re.compile("[\U0001F3FB-\U0001F3FF\uFE0F\u200D\\s]")       # skin tones, VS16, joiners


def _thumbs_up(text: str) -> bool:
    """Nothing but thumbs-up emoji ("👍🏽", "👍👍")?"""
    core = _EMOJI_MARKS.sub("", text or "")
    return bool(core) and all(ch in THUMBS_UP for ch in core)


def yes_no(text: str) -> bool | None:
    if _thumbs_up(text):
        return True
    norm = normalize(text)
    if not norm or norm in UNSURE or any(contains_phrase(norm.split(), p.split()) for p in UNSURE):
        return None
    if norm in YES:
        return True
    if norm in NO:
        return False
    words = norm.split()
    while len(words) > 1 and (words[0] in FILLERS or (len(words) > 2 and " ".join(words[:2]) in FILLERS)):
        words = words[2:] if " ".join(words[:2]) in FILLERS else words[1:]
    if " ".join(words) in YES:
        return True
    if " ".join(words) in NO:
        return False
    if words[0] in NO or " ".join(words[:2]) in NO:
        return False
    if words[0] in YES or " ".join(words[:2]) in YES:
        return True
    return None


def number(text: str, lang: str = "en") -> float | None:
    m = re.search(r"-?\d+(?:[.,]\d+)?", text)
    if m:
        value = float(m.group().replace(",", "."))
        return int(value) if value.is_integer() else value
    words = tokens(text)
    if lang == "es" and "once" in words:
        return 11
    for w in words:
        if w in _NUMBER_WORDS:
            return _NUMBER_WORDS[w]
    return None


# An option's number first, maybe after "number", "option", "el", "uh": "3 i wanna talk to
# somebody", "number 3", "la 1 porfa". The number says which; the words after only repeat it.
LEADING_CHOICE = re.compile(r"^(?:(?:number|option|opcion|numero|num|el|la|uh|um|umm|uhh)\s+)?#?\s*(\d{1,2})\b(?![:.]\d)",
                            re.IGNORECASE)


def offered(text: str, choices: tuple[Choice, ...]) -> bool:
    """The whole text is one of the words a choice lists (not a number, not a phrase in it)."""
    words = tuple(normalize(text).split())
    return bool(words) and any(words == w for c in choices for w in c.phrases)


def choice(text: str, choices: tuple[Choice, ...]) -> int | None:
    """Index of the chosen option: by its number (1-based), a number word, or one of its words."""
    norm = normalize(text)
    if not norm:
        return None
    m = LEADING_CHOICE.match(fold(text).strip())
    if m:
        i = int(m.group(1)) - 1
        return i if 0 <= i < len(choices) else None
    words = tuple(norm.split())
    for i, c in enumerate(choices):  # the whole answer is one of a choice's words
        if any(words == w for w in c.phrases):
            return i
    if len(words) == 1 and words[0] in _NUMBER_WORDS and 1 <= _NUMBER_WORDS[words[0]] <= len(choices):
        return _NUMBER_WORDS[words[0]] - 1
    if set(words) & NEGATIONS:  # "not good" must not read as "good"
        return None
    best, hits = 0, set()  # the longest phrase wins: "muy bien" over "bien"
    for i, c in enumerate(choices):
        for w in c.phrases:
            if _code(w, c):
                continue    # "en", "es": a value's code is an answer alone, not "estoy en el trabajo"
            if len(w) >= best and contains_phrase(words, w):
                hits = ({i} | hits) if len(w) == best else {i}
                best = len(w)
    return hits.pop() if len(hits) == 1 else None


def _code(phrase: tuple[str, ...], c: Choice) -> bool:
    return len(phrase) == 1 and len(phrase[0]) <= 2 and not phrase[0].isdigit() and phrase[0] == str(c.value).lower()


def zip_code(text: str) -> str | None:
    m = re.search(r"(?<!\d)(\d{5})(?:-\d{4})?(?!\d)", text)
    return m.group(1) if m else None


def place(text: str) -> str | None:
    text = text.strip()
    return text if zip_code(text) or re.search(r"[^\W\d_]", text) else None


def free_text(text: str) -> str | None:
    text = text.strip()
    return text or None


def name(text: str) -> str | None:
    norm_words = normalize(text).split()
    raw_words = [w for w in text.strip().split() if normalize(w)]
    if len(raw_words) != len(norm_words):
        raw_words = norm_words
    for prefix in sorted(_NAME_PREFIXES, key=len, reverse=True):
        p = prefix.split()
        if norm_words[:len(p)] == p and len(norm_words) > len(p):
            raw_words = raw_words[len(p):]
            break
    rest = normalize(" ".join(raw_words)).split()
    if len(rest) > 6 or (len(rest) >= 2 and rest[0] in _NOT_A_NAME) or (len(rest) == 1 and rest[0] in _NOT_ME):
        return None     # "estoy en el trabajo", "im so tired", "its me": a sentence, not what to call them
    words = [w.strip(".,!?;:\"'()") for w in raw_words[:2]]
    words = [w for w in words if w and not any(ch.isdigit() for ch in w)]
    if not words or len(" ".join(words)) > 40:
        return None
    if normalize(" ".join(words)) in YES | NO | SKIP:
        return None
    return " ".join(w[:1].upper() + w[1:].lower() if w.islower() or w.isupper() else w for w in words)


def time_of_day(text: str) -> str | None:
    """'9am', '6:30 pm', '18:00', 'morning', '6 de la tarde' -> 'HH:MM' (24-hour)."""
    norm = fold(text).replace(".", "")
    words = re.sub(r"[^a-z0-9: ]", " ", norm).split()
    joined = re.sub(r"(\d)ish\b", r"\1", " ".join(words))     # "4ish" is 4
    hint, default_hour = None, None
    for phrase, hour, meridiem in _PARTS_OF_DAY:
        if contains_phrase(words, phrase.split()) or re.search(rf"\d{phrase}\b", joined):
            hint = hint or meridiem
            default_hour = default_hour if default_hour is not None else hour
    m = re.search(r"(?<![\d:])(\d{1,2})(?::(\d{2}))?\s*(a|p)?(?:m)?\b", joined)
    if m:
        hour, minute = int(m.group(1)), int(m.group(2) or 0)
        meridiem = {"a": "am", "p": "pm"}.get(m.group(3) or "", hint)
        if hour > 23 or minute > 59:
            return None
        if meridiem == "pm" and hour < 12:
            hour += 12
        elif meridiem == "am" and hour == 12:
            hour = 0
        elif meridiem is None and 1 <= hour <= 6:
            hour += 12  # "call me at 5": people mean the afternoon far more than 5am
        return f"{hour:02d}:{minute:02d}"
    if default_hour is not None:
        return f"{default_hour:02d}:00"
    return None


# "can you text me at 6pm instead", "me pueden escribir a las 7pm en vez de las 5?": a new time
# for the check-ins, asked for in words after the welcome.
_ASKING = re.compile(r"\b(?:can you|could you|can u|could u|can yall|could yall|please|pls|plz|i want|i wanna|"
                     r"id like|i would like|id rather|rather|instead|from now on|pueden|puedes|podrian|podrias|"
                     r"quiero que|prefiero|me gustaria|en vez|mejor|de ahora en adelante)\b")
_TEXT_ME_NOW = re.compile(r"\b(?:text me|txt me|write me|message me|msg me|hit me up|check on me|check in with me|"
                          r"escribirme|escribanme|me escriban|me escriben|me pueden escribir|me puedes escribir|"
                          r"mandarme|me manden|mandenme|me mandan|me pueden mandar)\b")
_DONT = re.compile(r"\b(?:dont|do not|never|not|no me|no quiero)\b")


def new_checkin_time(text: str) -> str | None:
    """The time of day a text asks the check-ins to come at ('HH:MM'), or None. It must ask
    ("can you text me at 6pm instead"), not tell ("my check in at probation is at 2pm") or refuse
    ("dont text me at 6am lol")."""
    folded = fold(normalize(text))
    if not (_TEXT_ME_NOW.search(folded) and _ASKING.search(folded)) or _DONT.search(folded):
        return None
    return time_of_day(text)


def time_in_words(hhmm: str) -> str:
    """'19:00' -> '7pm', '09:30' -> '9:30am' (how the questions write a time, in both languages)."""
    hour, minute = (int(x) for x in hhmm.split(":"))
    suffix = "am" if hour < 12 else "pm"
    hour = hour % 12 or 12
    return f"{hour}{':%02d' % minute if minute else ''}{suffix}"


def _safe_date(y: int, m: int, d: int) -> date | None:
    try:
        return date(y, m, d)
    except ValueError:
        return None


_DATEPARSER_LANGS = ["en", "es"]
_WORD_NUMBERS = re.compile(r"\b(" + "|".join(sorted((w for w, n in _NUMBER_WORDS.items() if n > 1),
                                                       key=len, reverse=True)) + r")\b")


def _dateparser_settings(today: date) -> dict:
    # A fixed base (noon of the person's today) keeps the reading pure and the same on every
    # replay; "past" makes "tuesday" the last one, not the next.
    return {"PREFER_DATES_FROM": "past", "RELATIVE_BASE": datetime.combine(today, time(12)),
            "RETURN_AS_TIMEZONE_AWARE": False, "PREFER_DAY_OF_MONTH": "current"}


def _numbers_as_digits(text: str) -> str:
    """'hace tres dias' -> 'hace 3 dias': dateparser reads digits in every language."""
    return _WORD_NUMBERS.sub(lambda m: str(_NUMBER_WORDS[m.group(1)]), text)


_ISO_DATE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")
_NUMERIC_DATE = re.compile(r"(?<![\d:])(\d{1,2})[/.-](\d{1,2})(?:[/.-](\d{2,4}))?(?![\d:])")


def _numeric_date(folded: str, lang: str, today: date, ahead: bool = False) -> tuple[bool, date | None]:
    """'2025-03-14', '11/20' (20/11 in Spanish): (True, the day) when the text writes one, else
    (False, None). Without a year, the nearest such day on the side asked for: gone by (or
    today), or still to come ("12/28" said in January is last year's; "1/5" said in December,
    next year's)."""
    m = _ISO_DATE.search(folded)
    if m:
        return True, _safe_date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    n = _NUMERIC_DATE.search(folded)
    if not n:
        return False, None
    a, b = int(n.group(1)), int(n.group(2))
    year = int(n.group(3)) if n.group(3) else today.year
    year = year + 2000 if year < 100 else year
    month, day = (b, a) if lang == "es" else (a, b)
    found = _safe_date(year, month, day) or _safe_date(year, day, month)
    if found and not n.group(3):
        if not ahead and found > today:
            found = _safe_date(year - 1, found.month, found.day)
        elif ahead and found <= today:
            found = _safe_date(year + 1, found.month, found.day)
    return True, found


def calendar_date(text: str, lang: str, today: date) -> date | None:
    """A day the person names, never after `today`: '2025-03-14', '11/20' (20/11 in Spanish),
    'today', 'ayer', 'last tuesday', '3 days ago', 'Nov 28', 'el lunes pasado', 'hace tres días'.
    A date ahead (tomorrow, next week) is not read: a release date is in the past or today.
    Relative words go to dateparser (en + es, no download); numeric dates are read here because
    the order of day and month follows the person's language."""
    numeric, found = _numeric_date(fold(text).strip(), lang, today)
    if not numeric:
        if ahead(text):
            return None
        found = _relative_date(text, today)
    return found if found is not None and found <= today else None


# A day ahead, said in words ("i get out next week", "salgo mañana", "in 3 days", "el lunes que
# viene"): dateparser, told to prefer the past, had read "in 3 days" as Nov 7 and "el lunes que
# viene" as last Monday. A past word wins ("ayer en la mañana" is yesterday morning).
_AHEAD = frozenset("next tomorrow tmrw tmr proximo proxima viene entrante".split())
_TOMORROW = re.compile(r"(?<!\bla )(?<!\besta )(?<!\bpor )(?<!\bde )\bmanana\b")   # "esta mañana": this morning
_PAST = frozenset("""yesterday ago last ayer hace pasado pasada anoche antier anteayer got been since came
was released sali llegue desde estuve fui""".split())   # "i got out friday, see my PO tomorrow": friday
_IN_SO_MANY = re.compile(r"\b(?:in|en|dentro de) (?:\d+|a|an|un|una) (?:days?|weeks?|months?|dias?|semanas?|mes|meses)\b")


def ahead(text: str) -> bool:
    """Does the text name a day still to come, and no day gone by?"""
    words = fold(_numbers_as_digits(normalize(text)))
    said = set(words.split())
    return bool((said & _AHEAD or _IN_SO_MANY.search(words) or _TOMORROW.search(words)) and not said & _PAST)


def _past_said(text: str) -> bool:
    return bool(set(fold(normalize(text)).split()) & _PAST)


# Not out yet, said as such: "i get out friday", "release date is 12/15", "salgo el lunes",
# "still inside til the 10th". Such a text names the day to come, whatever dateparser prefers.
_NOT_OUT = re.compile(r"\b(?:get out|getting out|gets out|release date|released on|im being released|"
                      r"ill be out|will be out|be home|still inside|still in here|not out|aint out|"
                      r"havent gotten out|still locked up|locked up til|locked up until|salgo|saldre|voy a salir|me sueltan|"
                      r"me van a soltar|sigo adentro|sigo encerrado|"
                      r"todavia estoy adentro|aun estoy adentro|no he salido|todavia no salgo)\b")
AHEAD_DAYS = 120     # a release date this far ahead is believed; further is more likely a slip


def not_out_yet(text: str) -> bool:
    return bool(_NOT_OUT.search(fold(normalize(text)))) and not ahead_denied(text)


_OUT_ALREADY = re.compile(r"\b(?:got out|i got home|ya sali|sali ayer|sali el|me soltaron)\b")


def ahead_denied(text: str) -> bool:
    """"i got out friday" is out; "i get out friday" is not."""
    return bool(_OUT_ALREADY.search(fold(normalize(text))))


_OUT_NOW = re.compile(r"\b(?:(?:im|i am|finally) out(?= *$| (?:now|finally|today|yesterday|yall|bro|fam|free|this|just|"
                      r"and|ya|hoy|ayer)\b)|(?:^|\bi |\bi just |^just )got out(?! of)|i got home(?! from)|i got released|"
                      r"they let me out|me soltaron|ya sali(?! de| del)|sali hoy|sali ayer|ya estoy afuera|"
                      r"ya llegue a casa(?! de| del)|ya me soltaron)\b")


def released_news(text: str, lang: str, today: date) -> date | None:
    """"im out!! got out this morning", "ya sali ayer": the day they got out (today unless they
    name another), or None when the text tells no such news."""
    folded = fold(normalize(text))
    if not _OUT_NOW.search(folded) or (_NOT_OUT.search(folded) and not ahead_denied(text)):
        return None
    return calendar_date(text, lang, today) or today


def day_home(text: str, lang: str, today: date) -> date | None:
    """The day an answer to "what day did you get home?" names, gone by or still to come. To
    come when the text says so ("i get out friday", "release date is 12/15"), or writes a day
    and month with nothing saying it is gone ("12/15" on Dec 5, not a year ago); a date read as
    more than half a year gone ("friday dec 11" on Dec 5) is this one, if it is near."""
    past = _past_said(text)
    n = _NUMERIC_DATE.search(fold(text))
    said_ahead = ahead(text) or not_out_yet(text) or (not past and n is not None and not n.group(3))
    soon = coming_date(text, lang, today) if said_ahead else None
    d = soon or calendar_date(text, lang, today)
    if soon or past or said_ahead:
        return d
    if d is None or ((today - d).days > 180 and not re.search(r"\d{4}", text)):
        return coming_date(text, lang, today) or d
    return d


def coming_date(text: str, lang: str, today: date) -> date | None:
    """The day still to come a text names (after today, at most AHEAD_DAYS ahead): "12/15",
    "friday dec 11", "el 10 de diciembre", "next friday", "este lunes", "tomorrow", "in 3 days"."""
    folded = fold(text).strip()
    numeric, found = _numeric_date(folded, lang, today, ahead=True)
    if not numeric:
        nth = re.search(r"\b(?:the|el|dia) (\d{1,2})(?:st|nd|rd|th|o)?\b", folded)   # "til the 10th"
        found = _relative_date(f"the {nth.group(1)}" if nth else text, today, prefer="future")
    if found is None or not (today < found <= today + timedelta(days=AHEAD_DAYS)):
        return None
    return found


# A day named in words has one of these (or a digit): the rest never reach dateparser, whose
# search over a sentence costs ~3 ms ("im good thanks" to "what day did you get out?").
_DAY_WORDS = frozenset("""
    today yesterday tomorrow tonight morning afternoon evening night ago last past week weeks
    weekend month months year years now day days
    monday tuesday wednesday thursday friday saturday sunday mon tue tues wed thu thur thurs fri
    sat sun january february march april may june july august september october november
    december jan feb mar apr jun jul aug sep sept oct nov dec
    hoy ayer anoche antier anteayer antenoche manana tarde noche hace pasado pasada semana
    semanas mes meses ano anos dia dias ahora ahorita lunes martes miercoles jueves viernes sabado
    domingo enero febrero marzo abril mayo junio julio agosto septiembre setiembre octubre
    noviembre diciembre ene abr ago dic lun mie jue vie sab dom fortnight
""".split())


def _relative_date(text: str, today: date, prefer: str = "past") -> date | None:
    import dateparser                   # its language data loads once, on first use
    from dateparser.search import search_dates
    words = _numbers_as_digits(normalize(text))
    if not words or not (re.search(r"\d", words) or _DAY_WORDS & set(fold(words).split())):
        return None
    if re.fullmatch(r"\d{1,2}(:\d{2})?\s*(am|pm|a|p)?", words):
        return None                     # a time of day ("9am") is not a day
    nth = re.fullmatch(r"(?:on )?(?:the |el |dia )?(\d{1,2})(?:st|nd|rd|th|o)?", words)
    if nth:                             # "the 28th", "el 28": this month's, or last month's
        n = int(nth.group(1))
        day = _safe_date(today.year, today.month, n)
        if prefer == "future":          # "til the 10th" on the 5th: this month's, or next month's
            if day is None or day <= today:
                first = date(today.year + today.month // 12, today.month % 12 + 1, 1)
                day = _safe_date(first.year, first.month, n)
            return day
        if day is None or day > today:
            last = date(today.year, today.month, 1) - timedelta(days=1)
            day = _safe_date(last.year, last.month, n)
        return day
    settings = dict(_dateparser_settings(today), PREFER_DATES_FROM=prefer)
    hit = dateparser.parse(words, languages=_DATEPARSER_LANGS, settings=settings)
    if hit is None:   # "i got home last tuesday", "sali el lunes pasado": the date inside
        found = search_dates(words, languages=_DATEPARSER_LANGS, settings=settings) or []
        hit = found[0][1] if found else None
    if hit is None:
        return None
    day = hit.date()
    if prefer == "past" and day > today and re.search(r"\b\d{1,2}(st|nd|rd|th)?\b", words) \
            and not re.search(r"\b\d{4}\b", words):
        day = _month_earlier(day)       # "the 28th" on the 1st: last month's
    return day


def _month_earlier(d: date) -> date | None:
    year, month = (d.year, d.month - 1) if d.month > 1 else (d.year - 1, 12)
    return _safe_date(year, month, d.day)


_DAYS_EN = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_DAYS_ES = ("lunes", "martes", "miercoles", "jueves", "viernes", "sabado", "domingo")
_MONTHS_ES = ("enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre",
              "octubre", "noviembre", "diciembre")


def date_in_words(iso: str, lang: str) -> str:
    """'2026-11-24' -> 'Tue Nov 24' / 'martes 24 de noviembre': what we understood, said back."""
    d = date.fromisoformat(iso)
    if lang == "es":
        return f"{_DAYS_ES[d.weekday()]} {d.day} de {_MONTHS_ES[d.month - 1]}"
    return f"{_DAYS_EN[d.weekday()]} {_MONTHS_EN[d.month - 1]} {d.day}"


def warm() -> None:
    """Load dateparser's language data now (about 0.3 s), not inside a texter's first answer."""
    _relative_date("ayer", date(2000, 1, 2))


def is_skip(text: str) -> bool:
    norm = normalize(text)
    return norm in SKIP


def read(node: Node, text: str, lang: str, today: date) -> Answer:
    """Read `text` as the answer to ask-node `node`."""
    expect = node.expect
    if expect == "yesno":
        value = yes_no(text)
        if value is not None:
            wanted = "yes" if value else "no"
            match = next((c for c in node.choices if str(c.value).lower() == wanted), None)
            return Answer("ok", value, match)
    if node.optional and (is_skip(text) or (expect == "time" and normalize(text) in ANY_TIME)):
        return Answer("skip")
    value: Any = None
    picked = None
    if expect == "choice":
        i = choice(text, node.choices)
        if i is not None:
            picked = node.choices[i]
            value = picked.value
    elif expect == "number":
        value = number(text, lang)
        if value is not None and not (node.min <= value <= node.max):
            value = None
    elif expect == "zip":
        value = zip_code(text)
    elif expect == "place":
        value = place(text)
    elif expect == "date":
        d = day_home(text, lang, today)
        value = d.isoformat() if d else None     # a day still to come is their release day too
        if d is None and node.optional and (ahead(text) or not_out_yet(text)):
            return Answer("ahead")      # not home yet, no day said: nothing to time check-ins from
    elif expect == "time":
        value = time_of_day(text)
    elif expect == "name":
        value = name(text)
    elif expect == "text":
        value = free_text(text)
    return Answer("unreadable") if value is None else Answer("ok", value, picked)
