"""A flow drawn as a map: each node a box, each way on an arrow, in layers by distance from the
start node, so the map is drawn from the same Definition the engine runs.

Pure: it returns coordinates and labels; web/templates/admin/_flow_map.html draws them as SVG.
Nodes nothing leads to go in a last row, marked unreachable; nodes that lead nowhere are marked
with what the checker would say (checker.dead_end).
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from core.flows.checker import dead_end
from core.flows.schema import Definition, Node

BOX_W, BOX_H = 190, 58
GAP_X, GAP_Y = 34, 62
MARGIN = 16
SUMMARY_CHARS = 30


@dataclass(frozen=True)
class Box:
    id: str
    type: str
    x: int
    y: int
    summary: str
    start: bool = False
    unreachable: bool = False
    dead_end: str | None = None


@dataclass(frozen=True)
class Arrow:
    source: str
    target: str
    label: str
    x1: int
    y1: int
    x2: int
    y2: int
    back: bool = False          # points to an earlier row (a loop back, e.g. "try again")


@dataclass(frozen=True)
class Map:
    boxes: tuple[Box, ...]
    arrows: tuple[Arrow, ...]
    width: int
    height: int


def edges(node: Node) -> list[tuple[str, str]]:
    """(label, target) for every way out of `node`, labelled as a supervisor reads them."""
    out = []
    for c in node.choices:
        if c.next:
            out.append((str(c.value), c.next))
    for c in node.cases:
        if c.next:
            out.append((c.when, c.next))
    if node.otherwise:
        out.append(("else", node.otherwise))
    if node.fallback:
        out.append(("not understood", node.fallback))
    if node.timeout and node.timeout.then:
        out.append(("no reply", node.timeout.then))
    if node.next:
        out.append(("" if not out else "any other answer" if node.type == "ask" else "next", node.next))
    return out


def summary(node: Node) -> str:
    """A box's second line: the start of its English text, or what it does."""
    if node.texts:
        text = node.texts[0].get("en")
    elif node.type == "escalate":
        text = f"ticket, {node.priority}"
    elif node.type == "flow":
        text = f"start {node.flow}"
    elif node.type == "locate":
        text = f"find {node.need}"
    elif node.type == "record":
        text = f"record {node.event}"
    elif node.type == "branch":
        text = f"{len(node.cases)} case{'s' if len(node.cases) != 1 else ''}"
    else:
        text = node.type
    text = " ".join(str(text).split())
    return text if len(text) <= SUMMARY_CHARS else text[:SUMMARY_CHARS - 1] + "…"


def layout(d: Definition) -> Map:
    depth: dict[str, int] = {}
    if d.start in d.nodes:
        depth[d.start] = 0
        todo = deque([d.start])
        while todo:
            nid = todo.popleft()
            for _, target in edges(d.nodes[nid]):
                if target in d.nodes and target not in depth:
                    depth[target] = depth[nid] + 1
                    todo.append(target)
    last = max(depth.values(), default=-1) + 1
    rows: dict[int, list[str]] = {}
    for nid in d.nodes:                     # file order within a row
        rows.setdefault(depth.get(nid, last), []).append(nid)
    widest = max((len(r) for r in rows.values()), default=1)
    width = MARGIN * 2 + widest * BOX_W + (widest - 1) * GAP_X
    place: dict[str, tuple[int, int]] = {}
    boxes = []
    for row, ids in sorted(rows.items()):
        span = len(ids) * BOX_W + (len(ids) - 1) * GAP_X
        left = (width - span) // 2
        for i, nid in enumerate(ids):
            x, y = left + i * (BOX_W + GAP_X), MARGIN + row * (BOX_H + GAP_Y)
            place[nid] = (x, y)
            n = d.nodes[nid]
            boxes.append(Box(nid, n.type, x, y, summary(n), start=nid == d.start,
                             unreachable=nid not in depth, dead_end=dead_end(n)))
    arrows = []
    for nid, n in d.nodes.items():
        merged: dict[str, list[str]] = {}            # one arrow per target, its labels joined
        for label, target in edges(n):
            if target in place:
                merged.setdefault(target, []).append(label)
        for target, labels in merged.items():
            label = " / ".join(x for x in labels if x)
            (sx, sy), (tx, ty) = place[nid], place[target]
            back = ty <= sy
            arrows.append(Arrow(nid, target, label, sx + BOX_W // 2, sy + BOX_H,
                                tx + BOX_W // 2, ty + (BOX_H if back else 0), back=back))
    height = MARGIN * 2 + (max(rows, default=0) + 1) * (BOX_H + GAP_Y) - GAP_Y
    return Map(tuple(boxes), tuple(arrows), width, height)
