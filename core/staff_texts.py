"""Texts to staff phones (a supervisor's SLA alert), words in bot/content/staff.yaml. Pure.

English only (staff read them). They name the reason and the wait, never the person's message,
name or number: a lock screen shows the text to anyone near the phone.
"""
from __future__ import annotations

from datetime import timedelta
from functools import lru_cache

import yaml

from core import CONTENT, reasons

PATH = CONTENT / "staff.yaml"
PLACEHOLDERS = {"program", "reason", "minutes"}


@lru_cache(maxsize=1)
def catalogue() -> dict[str, str]:
    with open(PATH, encoding="utf-8") as f:
        return yaml.safe_load(f)


def sla_breach(program: str, reason_code: str, waited: timedelta) -> str:
    """"Homeward: urgent ticket (Overdose reported) waiting 12 min with no peer. Open the inbox." """
    minutes = max(int(waited.total_seconds() // 60), 0)
    return catalogue()["sla_breach"].format(program=program, reason=reasons.words(reason_code), minutes=minutes)
