"""Ticket reasons in the words staff use: "emergency" is "Overdose reported". Pure.

One list for the inbox (web/words.py) and the texts to supervisors' phones (core/staff_texts.py),
so a reason reads the same on the screen and on a lock screen.
"""
from __future__ import annotations

import re

REASONS = {
    "emergency": "Overdose reported",
    "crisis": "Crisis",
    "peer_request": "Asked for a peer",
    "asked_for_peer": "Asked for a peer",
    "high_risk": "Risk check: high",
    "struggling": "Having a hard day",
    "treatment_interest": "Wants to talk about treatment",
    "screening_followup": "Screening: follow up",
    "naloxone_request": "Asked for naloxone",
    "processing_failed": "A text we could not process",
    "no_contact": "No reply to check-ins",
}


def phrase(code: str | None) -> str:
    """A code nobody mapped, as words: 'screening_followup' -> 'Screening followup'."""
    text = re.sub(r"[_.]+", " ", str(code or "")).strip()
    return text[:1].upper() + text[1:] if text else "Other"


def words(code: str | None) -> str:
    return REASONS.get(code or "", phrase(code))
