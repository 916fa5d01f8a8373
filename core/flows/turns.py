"""How many texts a person can get in answer to one message, read from a flow's graph.

A turn starts where the flow starts or where it waited (an ask answered, a place given) and
runs until the next wait, the end or a handoff (which runs the next flow's first turn too). A
locate node counts as two texts: the locator's answer is at most two. A turn over two texts is
a problem unless a node on it is marked `long_turn: true` (the author means it).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

from .schema import Definition, Node

MAX_TEXTS = 2
LOCATOR_TEXTS = 2


@dataclass(frozen=True)
class Turn:
    flow: str
    entry: str          # "start", or "after '<node>'"
    line: int
    texts: int          # the most texts any path through the turn sends
    marked: bool        # a node on that path is marked long_turn
    path: tuple[str, ...]


def _walk(d: Definition, node_id: str | None, world: Mapping[str, Definition], depth: int = 0,
          seen: frozenset = frozenset()) -> tuple[int, bool, tuple[str, ...]]:
    """(texts, marked, path) of the longest path from `node_id` to the turn's end."""
    if node_id is None or depth > 60 or (d.name, node_id) in seen:
        return 0, False, ()
    node: Node | None = d.nodes.get(node_id)
    if node is None:
        return 0, False, ()
    seen = seen | {(d.name, node_id)}
    here = (f"{d.name}.{node_id}",)
    n, mark = len(node.texts), node.long_turn
    if node.type in ("ask",):
        return n, mark, here
    if node.type == "end":
        return n, mark, here
    if node.type == "locate":
        n, rest = LOCATOR_TEXTS, _walk(d, node.next, world, depth + 1, seen)
        return n + rest[0], mark or rest[1], here + rest[2]
    if node.type == "flow":
        other = world.get(node.flow or "")
        if other is None:
            return n, mark, here
        rest = _walk(other, other.start, world, depth + 1, seen)
        return n + rest[0], mark or rest[1], here + rest[2]
    if node.type == "branch":
        options = [_walk(d, c.next, world, depth + 1, seen) for c in node.cases]
        options.append(_walk(d, node.otherwise, world, depth + 1, seen))
        best = max(options, key=lambda o: (o[0], not o[1]))
        return n + best[0], mark or best[1], here + best[2]
    rest = _walk(d, node.next, world, depth + 1, seen)
    return n + rest[0], mark or rest[1], here + rest[2]


def turns(d: Definition, world: Mapping[str, Definition] | None = None) -> list[Turn]:
    """Every turn of a flow: its start and every way on from each node that waits."""
    world = {**(world or {}), d.name: d}
    out = []
    t, m, p = _walk(d, d.start, world)
    out.append(Turn(d.name, "start", d.nodes[d.start].line if d.start in d.nodes else d.line_of("nodes"), t, m, p))
    for node in d.nodes.values():
        if node.type == "ask":
            targets = {c.next for c in node.choices if c.next} | {x for x in (node.next, node.fallback) if x}
            for target in sorted(targets):
                t, m, p = _walk(d, target, world)
                out.append(Turn(d.name, f"after '{node.id}'", node.line, t, m, p))
            if node.give_up is not None or node.fallback:
                t, m, p = _walk(d, node.fallback or node.next, world)
                out.append(Turn(d.name, f"after '{node.id}' gives up", node.line, 1 + t, m, p))
        elif node.type == "locate":
            t, m, p = _walk(d, node.next, world)
            out.append(Turn(d.name, f"after '{node.id}'", node.line, LOCATOR_TEXTS + t, m or node.long_turn,
                            (f"{d.name}.{node.id}",) + p))
    return out


def too_long(d: Definition, world: Mapping[str, Definition] | None = None) -> list[Turn]:
    return [t for t in turns(d, world) if t.texts > MAX_TEXTS and not t.marked]
