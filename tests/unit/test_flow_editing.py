"""Form edits written into flow YAML, and the flow map's layout, on the shipped flows."""
from __future__ import annotations

from pathlib import Path

import pytest

from core.flows import editing
from core.flows.checker import check_paths
from core.flows.layout import layout
from core.flows.loader import load_text
from core.flows.registry import load_registry

FLOWS = Path(__file__).resolve().parents[2] / "bot" / "content" / "flows"
CHECKIN = (FLOWS / "checkin.yaml").read_text(encoding="utf-8")


def errors(problems):
    return [str(p) for p in problems if p.severity == "error"]


@pytest.mark.parametrize("path", sorted(FLOWS.glob("*.yaml")), ids=lambda p: p.stem)
def test_an_unchanged_round_trip_gives_back_every_shipped_file_byte_for_byte(path):
    text = path.read_text(encoding="utf-8")
    node = next(iter(editing._load(text)["nodes"]))
    assert editing.apply_node(text, node, {}) == text


def test_a_form_edit_passes_flows_check_and_keeps_comments(tmp_path):
    new = editing.apply_node(CHECKIN, "mood", {
        "text": [{"en": "How's today, {first_name|there}? Reply 1 (rough) to 5 (great).",
                  "es": "¿Cómo va hoy, {first_name|}? Responde del 1 (mal) al 5 (genial)."}],
        "choices": [{"en": ["really rough", "rough", "the worst"], "es": ["muy mal", "fatal"]}],
        "new_choice": {"value": "skip", "words": {"en": ["skip"], "es": ["saltar"]}},
        "timeout": {"after": "6h", "remind": {"en": "No rush. How's today? Reply 1 to 5.",
                                              "es": "Sin prisa. ¿Cómo va hoy? Responde del 1 al 5."}}})
    comments = [ln for ln in CHECKIN.splitlines() if ln.lstrip().startswith("#")]
    assert comments and all(c in new.splitlines() for c in comments)
    for f in FLOWS.glob("*.yaml"):
        (tmp_path / f.name).write_text(f.read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "checkin.yaml").write_text(new, encoding="utf-8")
    assert errors(check_paths([str(tmp_path)])) == []
    d, _ = load_text(new)
    mood = d.nodes["mood"]
    assert mood.texts[0].get("es").startswith("¿Cómo va hoy") and mood.timeout.after.total_seconds() == 6 * 3600
    assert mood.choices[0].words["en"] == ("really rough", "rough", "the worst") and mood.choices[-1].value == "skip"


def test_edits_the_form_cannot_make_are_refused_in_plain_words():
    with pytest.raises(editing.EditError, match="There is no node 'nope'"):
        editing.apply_node(CHECKIN, "nope", {})
    with pytest.raises(editing.EditError, match="write it like 30m, 4h, 2d"):
        editing.apply_node(CHECKIN, "mood", {"timeout": {"after": "soon"}})
    with pytest.raises(editing.EditError, match="already a choice '3'"):
        editing.apply_node(CHECKIN, "mood", {"new_choice": {"value": "3"}})
    with pytest.raises(editing.EditError, match="syntax error"):
        editing.node_form("nodes: [", "mood")


def test_keywords_are_written_as_the_file_writes_them():
    new = editing.apply_keywords(CHECKIN, {"en": ["CHECKIN", "CHECK IN", "HOWDY"], "es": ["CHEQUEO", "REPORTE"]})
    assert "  en: [CHECKIN, CHECK IN, HOWDY]\n  es: [CHEQUEO, REPORTE]\n" in new
    assert editing.split_words(" yes, Yes ,, ok  then ") == ["yes", "ok then"]


def test_the_map_has_every_node_once_and_marks_unreachable_and_dead_end_nodes():
    registry = load_registry(FLOWS)
    for d in registry.flows.values():
        m = layout(d)
        assert sorted(b.id for b in m.boxes) == sorted(d.nodes)
        assert not [b.id for b in m.boxes if b.unreachable or b.dead_end]
        assert len({(b.x, b.y) for b in m.boxes}) == len(m.boxes)          # no two boxes overlap
        assert all(0 <= b.x and b.x + 190 <= m.width and b.y + 58 <= m.height for b in m.boxes)
    broken = CHECKIN + "\n  orphan:\n    type: say\n    text:\n      en: \"Hi.\"\n      es: \"Hola.\"\n"
    d, _ = load_text(broken)
    boxes = {b.id: b for b in layout(d).boxes}
    assert boxes["orphan"].unreachable and boxes["orphan"].dead_end == "add next:"
    assert boxes["mood"].start and boxes["mood"].y < boxes["record"].y
