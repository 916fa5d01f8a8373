"""Routing is data: trigger words and menu numbers come from the flow files."""
from __future__ import annotations

from pathlib import Path

import pytest

from core.flows.registry import FlowError, Route, load_registry

SHIPPED = Path(__file__).resolve().parents[2] / "bot" / "content" / "flows"
REG = load_registry(SHIPPED)


@pytest.mark.parametrize("text, route", [
    ("NALOXONE", Route("naloxone", {}, "NALOXONE", "en")),
    ("narcan 60614", Route("naloxone", {"place": "60614"}, "narcan", "en")),
    ("Naloxona  Oak Park, IL", Route("naloxone", {"place": "Oak Park, IL"}, "Naloxona", "es")),
    ("Check-in", Route("checkin", {}, "Check-in", "en")),
    ("check in please", Route("checkin", {}, "check in", "en")),
    ("TREATMENT 10001", Route("treatment", {"place": "10001"}, "TREATMENT", "en")),
    ("recuperacion", Route("treatment", {}, "recuperacion", "es")),
    ("talk", Route("peer", {}, "talk", "en")),
    ("compañero", Route("peer", {}, "compañero", "es")),
])
def test_route_matches_the_first_word(text, route):
    assert REG.route(text) == route


@pytest.mark.parametrize("text", ["I need narcan", "hello", "", "  ", "2", "peers are great"])
def test_route_needs_a_trigger_as_the_first_word(text):
    assert REG.route(text) is None


def test_menu_numbers():
    assert [REG.menu_choice(t) for t in ("1", " 2 ", "#3", "4.", "5", "one", "12")] == [
        "checkin", "naloxone", "treatment", "peer", None, None, None]
    assert REG.menu_lines("en") == ["1 Check in", "2 Naloxone (Narcan)", "3 Treatment", "4 Talk with a peer"]


def test_registry_holds_every_shipped_flow():
    assert sorted(REG.flows) == ["buprenorphine", "checkin", "medications", "methadone", "naloxone", "naloxone_steps",
                                 "peer", "risk", "screening", "syringes",
                                 "treatment", "welcome"]


def test_loading_a_folder_with_a_broken_flow_refuses(tmp_path):
    (tmp_path / "bad.yaml").write_text("schema: 1\nname: bad\nnodes:\n  a: {type: say, text: {en: hi, es: hola}}\n")
    with pytest.raises(FlowError) as info:
        load_registry(tmp_path)
    assert "bad.yaml:4: error: node 'a' is a dead end" in str(info.value)
