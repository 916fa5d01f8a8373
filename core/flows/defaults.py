"""Built-in texts the engine falls back on when a flow does not give its own.

A flow may write its own `reask:` hints, `give_up:` text and timeout `remind:`; most do not
need to. These defaults hold to the same rules as flow texts (en + es, two SMS segments at
most, person-first), which tests/unit/test_engine.py checks. `{count}`, `{min}` and `{max}`
are filled from the question.
"""
from __future__ import annotations

from .schema import Text


def _t(en: str, es: str) -> Text:
    return Text({"en": en, "es": es})


# Two hints per answer type: the first short, the second gentler, with an example.
HINTS: dict[str, tuple[Text, Text]] = {
    "choice": (
        _t("Sorry, I didn't catch that. Please reply with a number from 1 to {count}.",
           "Perdón, no entendí. Responde con un número del 1 al {count}."),
        _t("No worries. Just the number is fine, like 1.",
           "No te preocupes. Basta con el número, por ejemplo 1."),
    ),
    "yesno": (
        _t("Sorry, I didn't catch that. Please reply YES or NO.",
           "Perdón, no entendí. Responde SÍ o NO."),
        _t("No worries. A simple YES or NO works.",
           "No te preocupes. Basta con SÍ o NO."),
    ),
    "number": (
        _t("Sorry, I didn't catch that. Please reply with a number from {min} to {max}.",
           "Perdón, no entendí. Responde con un número del {min} al {max}."),
        _t("No worries. Just a number from {min} to {max} is fine.",
           "No te preocupes. Basta con un número del {min} al {max}."),
    ),
    "zip": (
        _t("Sorry, I didn't catch that. Please reply with a 5-digit ZIP code, like 10001.",
           "Perdón, no entendí. Responde con un código postal de 5 dígitos, como 10001."),
        _t("No worries. Just the 5 digits of the ZIP code is fine.",
           "No te preocupes. Basta con los 5 dígitos del código postal."),
    ),
    "place": (
        _t("Sorry, I didn't catch that. Please reply with a ZIP code or the name of a town.",
           "Perdón, no entendí. Responde con un código postal o el nombre de un pueblo."),
        _t("No worries. A ZIP code like 10001 works best.",
           "No te preocupes. Un código postal como 10001 funciona mejor."),
    ),
    "date": (
        _t("Sorry, I didn't catch that. Please reply with a date, like 3/15 or yesterday.",
           "Perdón, no entendí. Responde con una fecha, como 15/3 o ayer."),
        _t("No worries. Try a date like 3/15, or a day like Friday.",
           "No te preocupes. Prueba con una fecha como 15/3, o un día como viernes."),
    ),
    "time": (
        _t("Sorry, I didn't catch that. Please reply with a time, like 9am, 6:30pm or morning.",
           "Perdón, no entendí. Responde con una hora, como 9am, 6:30pm o mañana."),
        _t("No worries. Try something like 10am or evening.",
           "No te preocupes. Prueba con algo como 10am o noche."),
    ),
    "name": (
        _t("Sorry, I didn't catch that. What name should we use? A first name or nickname is fine.",
           "Perdón, no entendí. ¿Qué nombre usamos? Un nombre o apodo está bien."),
        _t("No worries. Just one word, like Sam.",
           "No te preocupes. Basta con una palabra, como Sam."),
    ),
    "text": (
        _t("Sorry, I didn't catch that. Please reply with a few words.",
           "Perdón, no entendí. Responde con unas palabras."),
        _t("No worries. Any short answer is fine.",
           "No te preocupes. Cualquier respuesta corta está bien."),
    ),
}
# Said when "what day did you get home?" is answered with a day still to come ("next week").
AHEAD = _t("Got it, you're not home yet. We'll keep in touch, and you can text us any time.",
           "Entendido, todavía no sales. Seguimos en contacto, y puedes escribirnos cuando quieras.")
# Said when the flow moves on after two unreadable answers (no dead ends).
GIVE_UP = _t("No problem, let's keep going.", "No hay problema, sigamos.")
LOCATE_GIVE_UP = _t(
    "Sorry, I couldn't find that place. You can try again any time with a ZIP code.",
    "Perdón, no encontré ese lugar. Puedes intentarlo otra vez con un código postal.")
# Reminder for a place question whose wording came from the locator, not the flow.
REMIND_PLACE = _t(
    "Still there? Reply with a ZIP code or town and I'll look up places near you.",
    "¿Sigues ahí? Responde con un código postal o pueblo y busco lugares cerca.")


def all_texts():
    for kind, pair in HINTS.items():
        for t in pair:
            yield kind, t
    yield "give_up", GIVE_UP
    yield "ahead", AHEAD
    yield "locate_give_up", LOCATE_GIVE_UP
    yield "remind_place", REMIND_PLACE
