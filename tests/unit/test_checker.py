"""The checker rejects broken flows at the line that is wrong, and passes the shipped ones."""
from __future__ import annotations

from pathlib import Path

import pytest

from core.flows import checker
from core.flows.checker import check_paths, main

FIXTURES = Path(__file__).parent / "fixtures"
SHIPPED = Path(__file__).resolve().parents[2] / "bot" / "content" / "flows"


def problems_for(name: str):
    return check_paths([str(FIXTURES / name)])


@pytest.mark.parametrize("fixture, line, words", [
    ("unknown_node.yaml", 9, "next 'goodbye_typo' is not a node"),
    ("unknown_node.yaml", 11, "'goodbye' is unreachable"),
    ("unreachable.yaml", 10, "'orphan' is unreachable"),
    ("dead_end.yaml", 11, "'question' is a dead end"),
    ("missing_translation.yaml", 13, "missing es translation"),
    ("unset_variable.yaml", 7, "en text: {nickname} is never set"),
    ("unset_variable.yaml", 8, "es text: {nickname} is never set"),
    ("too_long.yaml", 8, "es text is 3 SMS segments (UCS-2, 153 characters)"),
    ("stigma.yaml", 7, "'addict' is stigmatizing; person-first instead: person who uses drugs"),
    ("stigma.yaml", 14, "'recaída' is stigmatizing; person-first instead: volver a usar"),
    ("schema_version.yaml", 2, "unknown schema version 7"),
    ("yaml_syntax.yaml", 8, "YAML syntax"),
    ("bad_shape.yaml", 6, "expect 'colour' is not one of"),
    ("bad_shape.yaml", 10, "unknown key 'nxt'"),
    ("bad_shape.yaml", 14, "duplicate key 'outcome' (first on line 13)"),
    ("bad_shape.yaml", 18, "condition 'mood >>= 2'"),
    ("loop.yaml", 5, "in a loop that never asks anything"),
])
def test_broken_flow_is_reported_at_its_line(fixture, line, words):
    found = [p for p in problems_for(fixture) if p.severity == "error"]
    assert any(p.line == line and words in p.message for p in found), "\n".join(map(str, found))


def test_context_dependent_words_are_warnings():
    clean = [p for p in problems_for("stigma.yaml") if "'clean'" in p.message]
    assert [(p.line, p.severity) for p in clean] == [(13, "warning")]


def test_trigger_words_and_menu_numbers_are_unique_and_not_carrier_words():
    found = [str(p) for p in check_paths([str(FIXTURES / "clash")])]
    text = "\n".join(found)
    assert "first.yaml:3: error: keyword 'NARCAN' is also claimed by flow 'second'" in text
    assert "second.yaml:3: error: keyword 'narcan' is also claimed by flow 'first'" in text
    assert "first.yaml:3: error: keyword 'STOP' is a carrier or system word" in text
    assert "first.yaml:6: error: menu number 2 is also used by flow 'second'" in text


def test_shipped_flows_have_no_problems_at_all():
    assert [str(p) for p in check_paths([str(SHIPPED)])] == []


def test_one_file_is_checked_with_its_siblings_in_view():
    # checkin uses {first_name}, which only welcome.yaml sets; peer is started from checkin
    assert check_paths([str(SHIPPED / "checkin.yaml")]) == []


def test_main_prints_file_line_severity_message_and_fails_on_error(capsys):
    assert main([str(FIXTURES / "unreachable.yaml")]) == 1
    out = capsys.readouterr().out
    assert f"{FIXTURES / 'unreachable.yaml'}:10: error: node 'orphan' is unreachable" in out
    assert out.strip().endswith("1 error, 0 warnings")


def test_main_passes_the_shipped_flows(capsys):
    assert main([str(SHIPPED)]) == 0
    assert "0 errors" in capsys.readouterr().out


def test_missing_path_is_an_error():
    assert [p.message for p in check_paths(["/nonexistent/flow.yaml"])] == ["no such file"]


def test_reserved_words_cover_carrier_opt_out_and_help():
    for word in ("stop", "unsubscribe", "cancel", "end", "quit", "start", "yes", "help", "menu"):
        assert word in checker.RESERVED_WORDS


# -- whole turns ---------------------------------------------------------------------------------
_TURNS = """schema: 1
name: turns
nodes:
  a:
    type: say
    text: {{en: "One.", es: "Uno."}}
    next: find
  find:
    type: locate
    need: naloxone{mark}
    next: ask
  ask:
    type: ask
    expect: yesno
    text: {{en: "Steps? YES or NO.", es: "¿Pasos? SÍ o NO."}}
    next: bye
  bye:
    type: end
"""


def _turn_problems(mark: str = ""):
    from core.flows.loader import load_text
    d, problems = load_text(_TURNS.format(mark=mark), "turns.yaml")
    assert d is not None and not problems
    return [p for p in checker.check_definition(d) if "turn" in p.message]


def test_a_turn_with_a_locator_answer_and_more_is_flagged_with_its_path():
    found = _turn_problems()
    assert [p.line for p in found] == [5, 9]
    assert "the turn start can send 4 texts (turns.a -> turns.find -> turns.ask)" in found[0].message
    assert "the turn after 'find' can send 3 texts" in found[1].message


def test_a_turn_marked_long_turn_is_allowed():
    assert _turn_problems("\n    long_turn: true") == []


def test_shipped_flows_keep_every_turn_within_two_texts_or_marked():
    from core.flows import turns
    from core.flows.registry import load_registry
    reg = load_registry(SHIPPED)
    for d in reg.flows.values():
        assert turns.too_long(d, reg.flows) == [], d.name
    naloxone = {t.entry: t.texts for t in turns.turns(reg.flows["naloxone"], reg.flows)}
    assert naloxone == {"start": 2, "after 'find'": 2}
