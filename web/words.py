"""Internal reasons, events and fields in the words a peer uses. Pure: `now` is an argument.

The runtime records codes ("emergency", "classifier: en.emergency.not_breathing", a locator
event's dict); a peer deciding who to answer first needs "Overdose reported". Anything this
module does not know is shown as a tidy phrase, never as a dict or a boolean.
"""
from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from core.reasons import REASONS, phrase

KINDS = {"emergency": "Emergency", "crisis": "Crisis"}
NEEDS = {"naloxone": "naloxone", "treatment": "treatment", "harm_reduction": "harm-reduction services",
         "syringe": "syringe services", "testing": "testing", "health": "a health center"}
OUTCOME_WORDS = {
    "reached": "Reached", "referred_treatment": "Referred to treatment", "naloxone_provided": "Naloxone provided",
    "no_answer": "No answer", "overdose_reported": "Overdose reported", "reversal_reported": "Reversal reported",
    "other": "Other",
}
LANGUAGES = {"en": "English", "es": "Spanish"}
TIERS = {"high": "High", "moderate": "Moderate", "low": "Low"}


def reason(code: str, silent_since: datetime | None = None, now: datetime | None = None) -> str:
    """The queue's reason column. "No reply for 5 days" counts from the person's last text."""
    if code == "no_contact" and silent_since is not None and now is not None:
        days = max((now - silent_since).days, 1)
        return f"No reply for {days} day{'s' if days != 1 else ''}"
    return REASONS.get(code, phrase(code))


def _matched(detail: str) -> str:
    """'en.emergency.not_breathing' -> 'not breathing'."""
    return detail.strip().split(".")[-1].replace("_", " ")


def note_lines(note: str | None) -> list[str]:
    """A ticket's note ("reason: detail" lines the runtime appends) as distinct plain lines."""
    out: list[str] = []
    for line in (note or "").splitlines():
        line = line.strip()
        if not line:
            continue
        code, sep, detail = line.partition(": ")
        if sep and detail.startswith("classifier:"):
            code, detail = "classifier", detail.removeprefix("classifier:")
        if sep and code == "classifier":
            kind = detail.strip().split(".")[1] if detail.count(".") >= 2 else ""
            text = f"{KINDS.get(kind, 'Safety word')} detected ({_matched(detail)})"
        elif sep and code == "reopened":
            was = re.search(r"\(was (\w+)\)", detail)
            text = "Reopened: a new message" + (f" (was: {OUTCOME_WORDS.get(was.group(1), phrase(was.group(1)))})"
                                                 if was else "")
        elif sep and (code in REASONS or re.fullmatch(r"[a-z_]+", code)):
            text = REASONS.get(code, phrase(code))
        else:
            text = line
        if text not in out:
            out.append(text)
    return out


def event(name: str, data: dict[str, Any] | None, place: str | None = None) -> str | None:
    """A recorded event as a thread line, or None for bookkeeping a peer does not need."""
    data = data or {}
    if name == "safety":
        kind = KINDS.get(str(data.get("kind")), "Safety word")
        return f"{kind} detected" + (f" ({_matched(data['matched'])})" if data.get("matched") else "")
    if name == "checkin":
        mood = data.get("mood")
        return f"Checked in: {mood} of 5" if str(mood).isdigit() else "Checked in"
    if name == "locator":
        need = NEEDS.get(str(data.get("need")), "places")
        where = data.get("label") or place
        more = " (more)" if data.get("status") == "more" else ""
        return f"Asked for {need} near {where}{more}" if where else f"Asked for {need}{more}"
    if name == "risk_check":
        tier = TIERS.get(str(data.get("tier")))
        return f"Risk check: {tier.lower()}" if tier else "Risk check done"
    if name == "screening":
        return {"positive": "Screening: follow up suggested", "negative": "Screening: no follow-up needed"}.get(
            str(data.get("result")), "Screening done")
    if name in ("timed_out", "expired"):
        return "Did not answer a question in time"
    if name in ("answer_not_understood", "flow_error"):
        return None
    return phrase(name)


def yes_no(value: Any) -> str:
    if value in (True, "yes", "true", "1", 1):
        return "yes"
    if value in (False, "no", "false", "0", 0):
        return "no"
    return "not asked"


def place_label(place: Any) -> str | None:
    if not isinstance(place, dict):
        return None
    label = str(place.get("label") or "").strip()
    zip_code = str(place.get("zip") or "").strip()
    return " ".join(x for x in (label, zip_code if zip_code and zip_code not in label else "") if x) or None


def person_facts(fields: dict[str, Any] | None, risk_tier: str | None) -> list[tuple[str, str]]:
    """What a peer needs from the answers a person gave, in plain words, in a fixed order."""
    fields = fields or {}
    facts = [("Risk tier", TIERS.get(risk_tier or "", "not assessed")),
             ("Naloxone on hand", yes_no(fields.get("naloxone_on_hand")))]
    if str(fields.get("mood", "")).isdigit():
        facts.append(("Last check-in", f"{fields['mood']} of 5"))
    if place_label(fields.get("last_place")):
        facts.append(("Last asked about", f"places near {place_label(fields['last_place'])}"))
    return facts


# Bidirectional overrides and isolates (U+202A-202E, U+2066-2069) could flip the rest of the row;
# other control and format characters could hide text. A preview keeps none of them.
_INVISIBLE = re.compile("[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2060-\u206f\ufeff]")


def preview(text: str | None, limit: int = 120) -> str:
    """One line of what the person wrote: whitespace folded, invisible characters dropped, cut
    with an ellipsis. The template escapes it; CSS keeps it to one line."""
    flat = " ".join(_INVISIBLE.sub(" ", text or "").split())
    return flat if len(flat) <= limit else flat[:limit - 1].rstrip() + "…"
