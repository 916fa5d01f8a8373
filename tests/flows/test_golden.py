"""Every golden conversation plays exactly as written, and every shipped flow has one in
each language."""
from __future__ import annotations

from pathlib import Path

import pytest

from core.flows.registry import load_registry
from core.flows.schema import LANGS
from tests.flows.golden import FLOWS, load_script, play_script

HERE = Path(__file__).parent
SCRIPTS = sorted(HERE.glob("*.yaml"))
REGISTRY = load_registry(FLOWS)


@pytest.mark.parametrize("path", SCRIPTS, ids=[p.stem for p in SCRIPTS])
def test_conversations_play_as_written(path):
    script = load_script(path)
    assert script["flow"] in REGISTRY.flows
    for name, i, step, actual in play_script(script, REGISTRY):
        assert "expect" in step, f"{name} step {i + 1}: no expect (record the script)"
        assert actual == (step["expect"] or []), f"{path.name}: '{name}', step {i + 1}: {step}"
        texts = sum(1 for line in actual if isinstance(line, dict) and "say" in line)
        assert texts <= 2 or step.get("long_turn"), \
            f"{path.name}: '{name}', step {i + 1} sends {texts} texts in one turn (at most 2, or mark the step long_turn)"


@pytest.mark.parametrize("flow", sorted(REGISTRY.flows))
def test_every_flow_has_a_golden_conversation_in_each_language(flow):
    for lang in LANGS:
        path = HERE / f"{flow}.{lang}.yaml"
        assert path.exists(), f"missing golden conversations {path.name}"
        assert load_script(path)["lang"] == lang
