"""Published flows (shell): supervisors' YAML becomes numbered, immutable versions in the
database. New conversations use the latest version; a conversation in progress finishes on the
version it started with. Nothing invalid is ever published: the checker runs first."""
from __future__ import annotations

import time
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.flows.checker import check_definition
from core.flows.loader import load_text
from core.flows.registry import FlowError, Registry
from core.flows.schema import Definition, Problem
from db.models import FlowVersion


class FlowStore:
    FRESH_SECONDS = 5.0   # another process's publish is seen within this; this process's at once

    def __init__(self, flows_dir: str | Path):
        self.flows_dir = Path(flows_dir)
        self._latest: tuple[float, dict[str, int]] | None = None
        self._definitions: dict[tuple[str, int], Definition] = {}   # versions never change: cache forever
        self._registry: tuple[tuple, Registry] | None = None

    # -- reading ---------------------------------------------------------------------------
    def latest_versions(self, s: Session) -> dict[str, int]:
        rows = s.execute(select(FlowVersion.name, func.max(FlowVersion.version))
                         .where(FlowVersion.active.is_(True)).group_by(FlowVersion.name)).all()
        return {name: version for name, version in rows}

    def definition(self, s: Session, name: str, version: int) -> Definition | None:
        key = (name, version)
        if key not in self._definitions:
            source = s.scalar(select(FlowVersion.source).where(FlowVersion.name == name,
                                                               FlowVersion.version == version))
            if source is None:
                return None
            d, problems = load_text(source, f"{name}.yaml", version)
            if d is None:
                raise FlowError([p for p in problems if p.severity == "error"])
            self._definitions[key] = d
        return self._definitions[key]

    def registry(self, s: Session) -> Registry:
        """The latest published flows; publishes the shipped files on a database that has none.
        The versions are looked up at most every few seconds: this is on every message's path."""
        if self._latest is not None and time.monotonic() - self._latest[0] < self.FRESH_SECONDS:
            latest = self._latest[1]
        else:
            latest = self.latest_versions(s)
            if not latest:
                self.publish_dir(s)
                latest = self.latest_versions(s)
            self._latest = (time.monotonic(), latest)
        key = tuple(sorted(latest.items()))
        if self._registry is None or self._registry[0] != key:
            self._registry = (key, Registry([self.definition(s, n, v) for n, v in key]))
        return self._registry[1]

    # -- publishing --------------------------------------------------------------------------
    def validate(self, s: Session, name: str, source: str, label: str | None = None) -> tuple[Definition | None, list[Problem]]:
        """Every problem of `source` as the new version of `name`, checked against the other
        published flows (trigger words, flows it starts)."""
        d, problems = load_text(source, label or f"{name}.yaml")
        if d is None:
            return None, problems
        if d.name != name:
            problems.append(Problem(d.source, d.line_of("name"), "error",
                                    f"this file defines flow '{d.name}', not '{name}'"))
        others = [self.definition(s, n, v) for n, v in self.latest_versions(s).items() if n != name]
        return d, problems + check_definition(d, others + [d])

    def publish(self, s: Session, name: str, source: str, user_id: int | None = None,
                label: str | None = None) -> int:
        """Publish `source` as the next version of `name`; raises FlowError with every problem."""
        _, problems = self.validate(s, name, source, label)
        errors = [p for p in problems if p.severity == "error"]
        if errors:
            raise FlowError(errors)
        return self._insert(s, name, source, user_id)

    def _insert(self, s: Session, name: str, source: str, user_id: int | None) -> int:
        self._latest = None
        version = (s.scalar(select(func.max(FlowVersion.version)).where(FlowVersion.name == name)) or 0) + 1
        s.add(FlowVersion(name=name, version=version, source=source, published_by_id=user_id))
        s.flush()
        return version

    def publish_dir(self, s: Session, names: list[str] | None = None, only_changed: bool = True,
                    user_id: int | None = None) -> list[tuple[str, int]]:
        """Publish the flow files (all, or `names`) whose text differs from the latest version.
        The folder is checked as a whole first (flows start each other), so one broken file
        publishes nothing."""
        from core.flows.registry import load_registry
        load_registry(self.flows_dir, check=True)
        published = []
        for path in sorted(self.flows_dir.glob("*.yaml")):
            name = path.stem
            if names and name not in names:
                continue
            source = path.read_text(encoding="utf-8")
            latest = s.scalar(select(FlowVersion).where(FlowVersion.name == name)
                              .order_by(FlowVersion.version.desc()).limit(1))
            if only_changed and latest is not None and latest.source == source:
                continue
            try:
                with s.begin_nested():
                    published.append((name, self._insert(s, name, source, user_id)))
            except IntegrityError:
                continue   # another process published the same version a moment ago
        return published

