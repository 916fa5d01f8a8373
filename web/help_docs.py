"""The supervisor guides (docs/*.md) rendered for the console, so help is one click away and
never out of step with the file reviewed in git. markdown-it-py, with raw HTML off: the guides
are text, and nothing in them can run in a supervisor's browser."""
from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from markdown_it import MarkdownIt
from markupsafe import Markup

DOCS = Path(__file__).resolve().parents[1] / "docs"
GUIDES = {"flows": ("flows.md", "Writing and changing conversations"),
          "nudges": ("nudges.md", "The nudge schedule")}


def slug(text: str) -> str:
    """GitHub's heading anchors, so the guides' own "#a-first-example" links work here too."""
    return re.sub(r"[^\w\- ]", "", text.strip().lower()).replace(" ", "-")


def _renderer() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False}).enable("table")

    def heading_open(renderer, tokens, idx, options, env):
        inline = tokens[idx + 1]
        tokens[idx].attrSet("id", slug(inline.content))
        return renderer.renderToken(tokens, idx, options, env)
    md.add_render_rule("heading_open", heading_open)
    return md


@lru_cache(maxsize=8)
def _render(path: Path, mtime: float) -> str:
    return _renderer().render(path.read_text(encoding="utf-8"))


def guide(name: str) -> tuple[str, Markup] | None:
    """(title, HTML) of a guide, or None for an unknown name."""
    if name not in GUIDES:
        return None
    file, title = GUIDES[name]
    path = DOCS / file
    return title, Markup(_render(path, path.stat().st_mtime))
