"""The nudge schedule's checker reports every mistake at its line, in words for supervisors."""
from __future__ import annotations

import pytest

from core.nudge_content import DEFAULT_PATH, ScheduleError, load_schedule_text
from scheduler.nudge_settings import check

DEFAULT = DEFAULT_PATH.read_text(encoding="utf-8")


def line_of(text: str, needle: str) -> int:
    return next(i for i, ln in enumerate(text.splitlines(), 1) if needle in ln)


def test_three_mistakes_in_different_places_are_all_reported_at_their_lines():
    text = (DEFAULT.replace("priority: high", "priority: hihg")
            .replace("spread_minutes: 20", "spread_minutes: twenty")
            .replace("Thinking of you today.", "Thinking of you today, {name}."))
    with pytest.raises(ScheduleError) as e:
        load_schedule_text(text)
    assert len(e.value.problems) == 3
    schedule, findings = check(text)
    assert schedule is None
    lines = {f.line: f.message for f in findings}
    assert "urgent, high or normal" in lines[line_of(text, "priority: hihg")]
    assert "expected int" in lines[line_of(text, "spread_minutes: twenty")]
    assert "unknown placeholder" in lines[line_of(text, "{name}")]


def test_the_shipped_file_gives_supervisors_no_developer_commands():
    assert "pytest" not in DEFAULT and load_schedule_text(DEFAULT).days
