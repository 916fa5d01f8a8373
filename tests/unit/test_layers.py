"""The layering, read from the code: the core decides and touches nothing; imports flow inward.

`core/` is given data and returns data. It may import the standard library and small pure
libraries (yaml, zipcodes, phonenumbers, rapidfuzz, ...) but never the database, the web, Twilio, an
HTTP client, a shell package, or the clock.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

SHELL_PACKAGES = {"bot", "web", "scheduler", "db", "cli", "app", "config", "logs"}
WORLD = {"sqlalchemy", "flask", "flask_login", "flask_wtf", "werkzeug", "twilio", "requests",
         "psycopg", "psycopg2", "apscheduler", "urllib3", "socket", "subprocess", "httpx"}
CLOCK_CALLS = {("datetime", "now"), ("datetime", "utcnow"), ("datetime", "today"), ("date", "today"),
               ("time", "time"), ("time", "monotonic"), ("time", "perf_counter"), ("db.types", "utcnow")}


def modules(package: str):
    return sorted(p for p in (ROOT / package).rglob("*.py") if "__pycache__" not in p.parts)


def imported(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.lineno, node.module


def clock_reads(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            owner = node.func.value
            name = owner.id if isinstance(owner, ast.Name) else owner.attr if isinstance(owner, ast.Attribute) else None
            if (name, node.func.attr) in CLOCK_CALLS:
                yield node.lineno, f"{name}.{node.func.attr}()"


@pytest.mark.parametrize("path", modules("core"), ids=lambda p: str(p.relative_to(ROOT)))
def test_the_core_touches_nothing(path):
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    bad = [f"{path.relative_to(ROOT)}:{line}: imports {name}" for line, name in imported(tree)
           if name.split(".")[0] in SHELL_PACKAGES | WORLD]
    bad += [f"{path.relative_to(ROOT)}:{line}: reads the clock ({call}); take `now` as an argument"
            for line, call in clock_reads(tree)]
    assert not bad, "\n".join(bad)


@pytest.mark.parametrize("path", modules("db"), ids=lambda p: str(p.relative_to(ROOT)))
def test_db_never_imports_the_layers_above_it(path):
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    bad = [f"{path.relative_to(ROOT)}:{line}: imports {name}" for line, name in imported(tree)
           if name.split(".")[0] in {"bot", "web", "scheduler", "cli", "app", "core"}]
    assert not bad, "\n".join(bad)


# The shells, outermost first: a package may import those after it, never those before it.
# web and cli are doors (Flask, Click); scheduler is the worker, a shell over bot's services
# (contacts, escalations, planning); bot is the shell around one inbound text.
SHELLS = ("app", "cli", "web", "scheduler", "bot")
SHELL_MODULES = [(pkg, p) for pkg in SHELLS[2:] for p in modules(pkg)]


@pytest.mark.parametrize("package,path", SHELL_MODULES, ids=lambda x: x if isinstance(x, str) else str(x.relative_to(ROOT)))
def test_shells_import_only_inward(package, path):
    """bot never imports scheduler, web or cli; scheduler never imports web or cli."""
    outer = set(SHELLS[:SHELLS.index(package)])
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    bad = [f"{path.relative_to(ROOT)}:{line}: imports {name}, a layer outside {package}/"
           for line, name in imported(tree) if name.split(".")[0] in outer]
    assert not bad, "\n".join(bad)


def test_the_guard_would_catch_a_database_import(tmp_path):
    """The walk itself works: a core module importing the database or reading the clock is seen."""
    tree = ast.parse("from db.models import Site\nimport sqlalchemy\nfrom datetime import datetime\n"
                     "x = datetime.now()\n")
    assert [name for _, name in imported(tree)] == ["db.models", "sqlalchemy", "datetime"]
    assert [call for _, call in clock_reads(tree)] == ["datetime.now()"]


# Tests that start real worker processes share those processes' clock: a lease there runs out in
# real time, so waiting on it reads the same wall clock the workers do. Nothing else may.
REAL_CLOCK_TESTS = {"tests/fake_clock.py", "tests/outbox.py", "tests/integration/test_workers.py"}
WALL_CLOCK = {("datetime", "now"), ("datetime", "utcnow"), ("datetime", "today"), ("date", "today"),
              ("time", "time"), ("db.types", "utcnow")}


def test_no_test_reads_the_wall_clock():
    """CI runs at any hour in any zone: a test's "now" is tests/clock.NOW or one it pins itself."""
    bad = []
    for path in modules("tests"):
        rel = str(path.relative_to(ROOT))
        if rel in REAL_CLOCK_TESTS or rel == "tests/unit/test_layers.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=rel)
        bad += [f"{rel}:{line}: {call}" for line, call in clock_reads(tree)
                if tuple(call[:-2].rsplit(".", 1)) in WALL_CLOCK]
    assert not bad, "reads the wall clock; use tests.clock.NOW:\n" + "\n".join(bad)
