"""Where the nudge schedule comes from: the supervisor's edited text, else the shipped file.

In production bot/content/nudges.yaml is code; a supervisor's edits from /admin/nudges are kept in
the `settings` table under `nudges_yaml` and, when present, are the source of truth for the
worker, the runtime and every preview. Both go through the same loader and its checks
(scheduler/nudge_content.py), so an edit that would not load is never saved.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

import yaml
from sqlalchemy.orm import Session

from core.sms import count_segments
from db.models import Setting
from core.nudge_content import (DEFAULT_PATH, LONG_NAMES, Schedule, ScheduleError, load_schedule,
                                     load_schedule_text)

SETTING = "nudges_yaml"
SETTING_LABEL = "nudges.yaml (edited in /admin/nudges)"


def stored_text(s: Session) -> str | None:
    row = s.get(Setting, SETTING)
    return row.value if row is not None and isinstance(row.value, str) and row.value.strip() else None


def shipped_text() -> str:
    return DEFAULT_PATH.read_text(encoding="utf-8")


def current_text(s: Session) -> tuple[str, bool]:
    """(the schedule's YAML, True when it is the supervisor's edited copy)."""
    text = stored_text(s)
    return (text, True) if text is not None else (shipped_text(), False)


def schedule_in(s: Session) -> Schedule:
    """The schedule in force, read in an open session. An edited copy that no longer loads (the
    loader's rules changed) raises ScheduleError with its line, like a broken file would."""
    text = stored_text(s)
    return load_schedule_text(text, SETTING_LABEL) if text is not None else load_schedule()


def current_schedule(db) -> Schedule:
    """The schedule in force, for the worker and the runtime: `db` is a db.session.Database."""
    with db.session() as s:
        return schedule_in(s)


class LiveSchedule:
    """`current_schedule(db)` for long-running processes (the worker's ticks, the runtime): reads
    the one settings row on each call and parses the YAML again only when the text changed, so a
    supervisor's save is in force from the next tick without a restart."""

    def __init__(self, db):
        self.db = db
        self._key: str | None = None
        self._schedule: Schedule | None = None

    def __call__(self) -> Schedule:
        with self.db.session() as s:
            text = stored_text(s)
        key = fingerprint(text) if text is not None else None
        if self._schedule is None or key != self._key:
            self._schedule = load_schedule_text(text, SETTING_LABEL) if text is not None else load_schedule()
            self._key = key
        return self._schedule


def fingerprint(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True)
class Finding:
    line: int
    severity: str     # error | warning
    message: str


def check(text: str) -> tuple[Schedule | None, list[Finding]]:
    """Load `text` as the loader would; every problem it found, each at its line."""
    try:
        return load_schedule_text(text, "nudges.yaml"), []
    except ScheduleError as exc:
        out = []
        for line, message in exc.problems:
            out.append(Finding(line or error_line(message), "error",
                               message.split(": ", 1)[-1] if ", line " in message
                               else message.removeprefix("nudges.yaml: ")))
        return None, out


def error_line(message: str) -> int:
    """The line a loader message points at: 'nudges.yaml, line 12: ...', or for YAML syntax the
    last 'line N' of PyYAML's marks (the problem's, after the context's)."""
    found = re.findall(r"line (\d+)", message)
    if not found:
        return 1
    return int(found[-1] if "not valid YAML" in message else found[0])


@dataclass(frozen=True)
class TextCost:
    set: str
    lang: str
    variant: int
    text: str
    segments: int
    describe: str      # with long names filled in: the worst case the loader holds to 2 segments
    line: int


def text_costs(schedule: Schedule, text: str) -> list[TextCost]:
    """Every nudge text with what it costs when long names fill its placeholders."""
    lines = _text_lines(text)
    out = []
    for name, by_lang in schedule.texts.items():
        for lang, variants in by_lang.items():
            for i, variant in enumerate(variants):
                filled = variant.format(**{**LONG_NAMES, "peer_name": max(
                    (LONG_NAMES["peer_name"], schedule.peer_fallback.get(lang, "")), key=len)})
                seg = count_segments(filled)
                out.append(TextCost(name, lang, i, variant, seg.segments, seg.describe(),
                                    lines.get((name, lang, i), 1)))
    return out


def _text_lines(text: str) -> dict[tuple[str, str, int], int]:
    """(set, lang, variant) -> 1-based line, from the YAML node tree (no values constructed)."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return {}
    texts = _child(root, "texts")
    out = {}
    for set_key, by_lang in (texts.value if isinstance(texts, yaml.MappingNode) else []):
        for lang_key, variants in (by_lang.value if isinstance(by_lang, yaml.MappingNode) else []):
            items = variants.value if isinstance(variants, yaml.SequenceNode) else [variants]
            for i, item in enumerate(items):
                out[(set_key.value, lang_key.value, i)] = item.start_mark.line + 1
    return out


def _child(node, key: str):
    if isinstance(node, yaml.MappingNode):
        return next((v for k, v in node.value if k.value == key), None)
    return None
