"""YAML -> plain data that remembers where everything came from.

Supervisors edit flows by hand, so every problem must point at a line. A SafeLoader subclass
builds dicts and lists that carry the line of each key and item. It also drops YAML 1.1's
habit of reading `yes`/`no`/`on`/`off` as booleans: in a flow about yes/no questions a
choice `value: no` must stay the word "no". Duplicate keys, which YAML silently overwrites,
are reported.
"""
from __future__ import annotations

import re
from pathlib import Path

import yaml

from .reader import parse
from .schema import Definition, Problem


class LineDict(dict):
    """A mapping with `.line` (its own) and `.key_lines[key]` (each key's line, 1-based)."""
    line: int = 0

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.key_lines: dict = {}

    def line_of(self, key) -> int:
        return self.key_lines.get(key, self.line)


class LineList(list):
    """A list with `.line` and `.item_lines[i]`."""
    line: int = 0

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.item_lines: list[int] = []

    def line_of(self, index: int) -> int:
        return self.item_lines[index] if index < len(self.item_lines) else self.line


class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
    """SafeLoader that records lines and duplicate keys; true/false are the only booleans.
    libyaml's parser when installed: the content (flows, intents, thousands of examples) is read
    at every start-up, and the pure-Python parser took seconds of it."""


_Loader.yaml_implicit_resolvers = {
    k: [(tag, rx) for tag, rx in v if tag != "tag:yaml.org,2002:bool"]
    for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))


def _construct_map(loader: _Loader, node: yaml.MappingNode) -> LineDict:
    loader.flatten_mapping(node)
    out = LineDict()
    out.line = node.start_mark.line + 1
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        line = key_node.start_mark.line + 1
        if key in out:
            loader.duplicates.append((line, key, out.key_lines[key]))
        out[key] = loader.construct_object(value_node, deep=True)
        out.key_lines[key] = line
    return out


def _construct_seq(loader: _Loader, node: yaml.SequenceNode) -> LineList:
    out = LineList(loader.construct_object(child, deep=True) for child in node.value)
    out.line = node.start_mark.line + 1
    out.item_lines = [child.start_mark.line + 1 for child in node.value]
    return out


_Loader.add_constructor("tag:yaml.org,2002:map", _construct_map)
_Loader.add_constructor("tag:yaml.org,2002:seq", _construct_seq)


def read_yaml(text: str, source: str = "<flow>") -> tuple[object, list[Problem]]:
    """Parse YAML text into LineDict/LineList/scalars, with problems for syntax errors and
    duplicate keys."""
    loader = _Loader(text)
    loader.duplicates = []
    try:
        data = loader.get_single_data()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        return None, [Problem(source, line, "error", f"YAML syntax: {exc.problem or exc}")]
    except yaml.YAMLError as exc:
        return None, [Problem(source, 1, "error", f"YAML syntax: {exc}")]
    finally:
        loader.dispose()
    problems = [Problem(source, line, "error", f"duplicate key '{key}' (first on line {first})")
                for line, key, first in loader.duplicates]
    return data, problems


def load_text(text: str, source: str = "<flow>", version: int = 0) -> tuple[Definition | None, list[Problem]]:
    """YAML text -> (Definition or None, structural problems). `version` is the published
    version number the runtime pins conversations to (0 = straight from a file)."""
    data, problems = read_yaml(text, source)
    if data is None and problems:
        return None, problems
    definition, more = parse(data, source, version)
    return definition, problems + more


def load_file(path: str | Path, version: int = 0) -> tuple[Definition | None, list[Problem]]:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return None, [Problem(str(path), 1, "error", f"cannot read: {exc}")]
    return load_text(text, str(path), version)
