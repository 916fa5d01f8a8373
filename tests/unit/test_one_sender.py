"""Only the outbox sends: scheduler/dispatch.py is the one module that calls a sender's `.send(`.

Every text (nudges, timer replies, scheduled and inbox replies from peers) is an outbox row, so
opt-out, quiet hours, the channel's window and the delivery guarantee are checked in one place.
Read from the code with `ast`, like tests/unit/test_layers.py.
"""
from __future__ import annotations

import ast

import pytest

from tests.unit.test_layers import ROOT, modules

THE_SENDER = "scheduler/dispatch.py"
SHELL = [p for package in ("bot", "web", "scheduler", "cli", "core", "db", "bench") for p in modules(package)]
SHELL += [ROOT / "app.py"]


def sender_sends(tree: ast.AST):
    """(line, call) for each `<something named sender>.send(...)`."""
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "send"
                and "sender" in ast.unparse(node.func.value).lower()):
            yield node.lineno, ast.unparse(node.func)


@pytest.mark.parametrize("path", SHELL, ids=lambda p: str(p.relative_to(ROOT)))
def test_only_the_dispatcher_calls_a_sender(path):
    if str(path.relative_to(ROOT)) == THE_SENDER:
        return
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    bad = [f"{path.relative_to(ROOT)}:{line}: calls {call}(); queue an outbox row instead (scheduler/dispatch.py)"
           for line, call in sender_sends(tree)]
    assert not bad, "\n".join(bad)


def test_the_dispatcher_does_call_one():
    """The rule names the right module: the one that sends is seen by the walk."""
    tree = ast.parse((ROOT / THE_SENDER).read_text(encoding="utf-8"))
    assert [call for _, call in sender_sends(tree)] == ["self.sender.send"] * 3   # staff texts, then outbox rows


def test_the_walk_sees_every_spelling_of_a_send():
    tree = ast.parse("sender.send(a, b)\nself.sender.send(a)\nsender_for(c, s).send(a)\n"
                     "flow_sim.send(sim, text)\nsock.send(b'x')\n")
    assert [call for _, call in sender_sends(tree)] == ["sender.send", "self.sender.send", "sender_for(c, s).send"]
