"""What a person can ask the locator for, and which kinds of site meet it.

A need is met first by sites of its own kinds (for naloxone: the program's own distribution
points and machines, which supervisors manage in /admin/sites), then, where no directory of
the thing itself exists, by places that commonly have it (`OFTEN`: opioid treatment programs
and health centers often hand out free naloxone), worded honestly as such.
"""
from __future__ import annotations

from core import places

KINDS = ("naloxone", "syringe_services", "test_strips", "treatment", "otp", "buprenorphine",
         "health_center", "vending_machine", "mail_order",
         "housing", "food", "jobs", "id_docs", "benefits")
REENTRY_KINDS = ("housing", "food", "jobs", "id_docs", "benefits")

# need -> the kinds that meet it directly
NEEDS: dict[str, frozenset[str]] = {
    "naloxone": frozenset({"naloxone", "vending_machine", "syringe_services"}),
    "syringe_services": frozenset({"syringe_services"}),
    "test_strips": frozenset({"test_strips", "syringe_services"}),
    "treatment": frozenset({"treatment", "otp", "buprenorphine"}),
    "detox": frozenset({"treatment", "otp"}),
    "methadone": frozenset({"otp"}),
    "buprenorphine": frozenset({"buprenorphine", "otp"}),
    "health_center": frozenset({"health_center"}),
    "vending_machine": frozenset({"vending_machine"}),
    "mail_order": frozenset({"mail_order"}),
    "housing": frozenset({"housing"}),
    "food": frozenset({"food"}),
    "job": frozenset({"jobs"}),
    "id": frozenset({"id_docs"}),
    "benefits": frozenset({"benefits"}),
    "any": frozenset(KINDS),
}
# need -> kinds of place that commonly have it although no directory says so (listed after
# the direct matches, under an honest "often has ..., call ahead" line)
OFTEN: dict[str, frozenset[str]] = {
    "naloxone": frozenset({"otp", "health_center"}),
    "buprenorphine": frozenset({"health_center"}),
}
# which closing tip (wording) a need gets
FAMILY = {"naloxone": "naloxone", "vending_machine": "naloxone", "mail_order": "naloxone",
          "syringe_services": "syringe", "test_strips": "strips",
          "treatment": "treatment", "detox": "treatment", "methadone": "treatment",
          "buprenorphine": "treatment", "health_center": "treatment", "any": "naloxone",
          "housing": "reentry", "food": "reentry", "job": "reentry", "id": "reentry",
          "benefits": "reentry"}
MAX_MILES = {"naloxone": 50, "syringe_services": 50, "test_strips": 50, "vending_machine": 50,
             "mail_order": 100, "health_center": 50, "any": 50, "treatment": 100, "detox": 100,
             "methadone": 100, "buprenorphine": 100, "housing": 50, "food": 50, "job": 50,
             "id": 50, "benefits": 50}
TIERS = (5, 15, 30, 50, 100)

# Words (en + es, accents stripped by places.normalize) -> need. Earlier needs win a tie, so
# "narcan vending machine" is a machine and "methadone treatment" is methadone.
NEED_WORDS: dict[str, tuple[str, ...]] = {
    "mail_order": ("by mail", "mail order", "mailed", "in the mail", "por correo", "correo"),
    "vending_machine": ("vending", "machine", "maquina", "maquina expendedora", "expendedora"),
    "test_strips": ("test strip", "test strips", "fentanyl strips", "fentanyl test", "fts",
                    "tiras", "tiras reactivas", "tiras de fentanilo"),
    "methadone": ("methadone", "metadona", "otp", "opioid treatment program"),
    "buprenorphine": ("buprenorphine", "suboxone", "subutex", "sublocade", "bupe", "bup",
                      "zubsolv", "buprenorfina"),
    "syringe_services": ("syringe", "syringes", "needle", "needles", "needle exchange", "ssp",
                         "harm reduction", "clean supplies", "jeringa", "jeringas", "agujas",
                         "intercambio de jeringas", "reduccion de danos"),
    "naloxone": ("naloxone", "narcan", "kloxxado", "zimhi", "naloxona", "nalaxone",
                 "naloxon", "overdose kit", "kit de sobredosis"),
    "detox": ("detox", "withdrawal", "desintoxicacion", "desintox"),
    "health_center": ("health center", "clinic", "doctor", "fqhc", "clinica", "centro de salud",
                      "medico"),
    "treatment": ("treatment", "rehab", "recovery", "counseling", "mat", "moud",
                  "tratamiento", "rehabilitacion", "recuperacion"),
    "housing": ("housing", "shelter", "place to stay", "place to sleep", "vivienda", "albergue",
                "refugio", "donde dormir"),
    "food": ("food", "food bank", "food pantry", "pantry", "meal", "meals", "comida",
             "despensa", "banco de comida"),
    "job": ("job", "jobs", "work", "employment", "trabajo", "empleo", "chamba"),
    "id": ("id", "state id", "id card", "birth certificate", "identificacion", "licencia",
           "acta de nacimiento"),
    "benefits": ("benefits", "snap", "food stamps", "medicaid", "ssi", "beneficios",
                 "estampillas", "cupones de comida"),
}
ALL_NEED_WORDS = frozenset(w for ws in NEED_WORDS.values() for p in ws for w in p.split()) | {
    "more", "mas", "find", "nearest", "closest", "cercano", "cercana", "busco", "necesito",
    "quiero", "donde", "get", "sites", "site", "places", "place", "lugar", "lugares", "for",
    "para", "un", "una", "open", "abierto", "help", "ayuda", "with", "con"}
# "near me", "cerca de mi": no place named (so not Maine); the remembered place, or a question
NEAR_ME = ("near me", "close to me", "around me", "nearby", "cerca de mi", "por aqui",
           "aqui cerca")


def need_from_text(text: str | None) -> str | None:
    """The need a message asks for ("narcan near 60614" -> naloxone), or None."""
    words = f" {places.normalize(text or '')} "
    for need, phrases in NEED_WORDS.items():
        if any(f" {p} " in words for p in phrases):
            return need
    return None


def strip_near_me(text: str | None) -> str:
    """The text without "near me" and its kin ("" when that was all), so ME is not Maine."""
    norm = f" {places.normalize(text or '')} "
    out = norm
    for phrase in sorted(NEAR_ME, key=len, reverse=True):
        out = out.replace(f" {phrase} ", " ")
    return (text or "").strip() if out == norm else " ".join(out.split())


def kinds_for(need: str) -> tuple[frozenset[str], frozenset[str]]:
    """(direct kinds, often kinds) for a need; an unknown need is "any"."""
    return NEEDS.get(need, NEEDS["any"]), OFTEN.get(need, frozenset())
