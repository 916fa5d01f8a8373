"""One interpreter, one describer: every effect type is acted on and described, none skipped."""
from __future__ import annotations

import ast
from datetime import datetime, timezone
from pathlib import Path

import pytest

from core import describe
from core import effects as fx

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2025, 3, 3, 14, 0, tzinfo=timezone.utc)
SAMPLES = {
    fx.Reply: fx.Reply("hi"), fx.Escalate: fx.Escalate("struggling", "high", "asked"),
    fx.SetField: fx.SetField("first_name", "Ana"), fx.SetLanguage: fx.SetLanguage("es"),
    fx.OptOut: fx.OptOut("STOP"), fx.OptIn: fx.OptIn("START"),
    fx.ScheduleTimeout: fx.ScheduleTimeout(datetime(2025, 3, 3, 18, 0, tzinfo=timezone.utc)),
    fx.CancelTimeout: fx.CancelTimeout(), fx.EndConversation: fx.EndConversation("timed_out"),
    fx.RecordEvent: fx.RecordEvent("checkin", {"mood": 2}), fx.StartFlow: fx.StartFlow("peer", {"reason": "x"}),
}


def test_every_effect_type_has_exactly_one_handler_in_the_shell():
    from bot import apply
    assert set(apply.HANDLERS) == set(fx.ALL)


@pytest.mark.parametrize("kind", fx.ALL, ids=lambda k: k.__name__)
def test_every_effect_is_described_for_people_and_for_scripts(kind):
    effect = SAMPLES[kind]
    line = describe.trace(effect, "America/Chicago")
    assert (line is None) == (kind is fx.Reply)          # a reply is shown as the bot's text
    if line is not None:
        assert line.kind and line.sentence
    assert describe.script_line(effect, NOW)


def test_timers_read_in_the_persons_zone_and_as_a_span():
    timer = SAMPLES[fx.ScheduleTimeout]
    assert describe.trace(timer, "America/Chicago").sentence == "reminder timer set for Mon 12:00 CST"
    assert describe.script_line(timer, NOW) == {"timeout_in": "4h"}
    assert describe.trace(fx.CancelTimeout()).sentence == "reminder timer cancelled"


def test_an_unknown_effect_is_refused_not_skipped():
    with pytest.raises(ValueError, match="no describer"):
        describe.trace(object())


@pytest.mark.parametrize("path", ["bot/apply.py", "web/flow_sim.py", "cli/chat.py", "tests/flows/golden.py"])
def test_no_effect_ends_in_a_silent_pass(path):
    """A `case SomeEffect(): pass` (or `if isinstance(e, X): pass`) is how effects got lost."""
    tree = ast.parse((ROOT / path).read_text(encoding="utf-8"))
    silent = [n.lineno for n in ast.walk(tree)
              if isinstance(n, (ast.match_case, ast.If)) and len(n.body) == 1 and isinstance(n.body[0], ast.Pass)]
    assert not silent, f"{path}: silent pass at lines {silent}"
