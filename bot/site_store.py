"""Resource sites in the database (shell): the locator's candidate query and the CSV import.

The query reads only the grid cells around a place, through the (cell_lat, cell_lon) index,
never every row; ranking and wording stay in the pure core.locator.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Callable

from sqlalchemy import literal, or_, select, update
from sqlalchemy.orm import Session

from core import locator
from core.services import LocateResult
from core.sites_import import Imported, Notice, Reject, count_rows, decode, iter_import
from db.models import Setting, Site
from db.types import utcnow
from db.session import Database

WHOLE_LIST_PRESETS = ("otp", "treatment", "health_centers")
DEFAULT_DIR = Path(__file__).resolve().parent / "content" / "sites"
DEFAULT_FILES = (("opioid_treatment_programs.csv", "otp"), ("substance_use_treatment.csv", "treatment"),
                 ("health_centers.csv", "health_centers"))
# Invented sites ("DEMO ...", 555-01xx phones): loaded by `flask demo load` (make run) only. A
# deploy's release never loads them and retires any an earlier release loaded: a person texting
# "narcan near 45410" must never be sent to 200 Demo Ave.
DEMO_FILES = (("local_demo.csv", "demo"),)


def record(site: Site) -> locator.SiteRecord:
    return locator.SiteRecord(site.id, site.name, tuple(site.kinds.split()), site.address, site.city,
                              site.state, site.zip, site.lat, site.lon, site.phone, site.hours,
                              site.timezone, site.notes, site.source, site.verified_on)


def candidates(s: Session, cells: locator.Cells) -> list[locator.SiteRecord]:
    stmt = select(Site).where(Site.active.is_(True), Site.cell_lat.in_(list(cells.lat_values())),
                              or_(*[Site.cell_lon.between(lo, hi) for lo, hi in cells.lon_ranges]))
    if cells.kinds:
        stmt = stmt.where(or_(*[(literal(" ") + Site.kinds + literal(" ")).like(f"% {k} %") for k in cells.kinds]))
    return [record(site) for site in s.scalars(stmt)]


class Locator:
    """The Services.locate the runtime hands the engine: the pure answer over the DB query."""

    def __init__(self, db: Database):
        self.db = db

    def _fetch(self) -> Callable:
        def fetch(cells):
            with self.db.session() as s:
                return candidates(s, cells)
        return fetch

    def locate(self, need, place_text, lang, last_place, now: datetime) -> LocateResult:
        return locator.answer(need, place_text, lang, self._fetch(), now, last_place=last_place)

    def more(self, lang, last_place, now: datetime) -> LocateResult:
        return locator.more(last_place, lang, self._fetch(), now)


# -- import --------------------------------------------------------------------------------------

@dataclass
class ImportReport:
    added: int = 0
    updated: int = 0
    deactivated: int = 0
    lines: list[str] = field(default_factory=list)   # file:line: reason, for rejects and notices
    summary: str = ""


def import_file(s: Session, path: Path, preset, verified_on: date | None = None, now: datetime | None = None,
                progress=None, label: str | None = None) -> ImportReport:
    """Upsert every good row on its source_key (a re-import updates, never duplicates). For the
    public directories (a whole national list per file) rows the file no longer has are
    deactivated, not deleted; a program's own CSVs only add and update."""
    label = label or str(path)
    text = decode(path.read_bytes())
    report, seen, stamp = ImportReport(), set(), now or utcnow()
    existing = {row.source_key: row for row in s.scalars(
        select(Site).where(Site.source_key.like(f"{preset.name}:%")))}
    rejects = notices = duplicates = 0
    for item in iter_import(text, preset, verified_on):
        if progress is not None:
            progress(1)
        if isinstance(item, (Reject, Notice)):
            report.lines.append(f"{label}:{item.line}: {'rejected' if isinstance(item, Reject) else 'note'}: {item.reason}")
            rejects += isinstance(item, Reject)
            duplicates += isinstance(item, Reject) and item.reason.startswith("duplicate")
            notices += isinstance(item, Notice)
            continue
        assert isinstance(item, Imported)
        site, key = item.site, item.source_key
        seen.add(key)
        cell_lat, cell_lon = locator.cell_of(site.lat, site.lon)
        values = dict(name=site.name[:200], kinds=" ".join(site.kinds), address=(site.address or "")[:200],
                      city=(site.city or "")[:100], state=(site.state or "")[:2], zip=site.zip or "",
                      lat=site.lat, lon=site.lon, cell_lat=cell_lat, cell_lon=cell_lon, phone=(site.phone or "")[:40], hours=site.hours, timezone=site.timezone,
                      notes=site.notes or "", source=site.source or preset.name, verified_on=site.verified_on,
                      active=True)
        row = existing.get(key)
        if row is not None and row.hidden_by_staff:
            values["active"] = False    # a supervisor hid it (closed, moved): the import does not undo that
        if row is None:
            s.add(Site(source_key=key, updated_at=stamp, **values))
            report.added += 1
        elif any(getattr(row, k) != v for k, v in values.items()):
            for k, v in values.items():
                setattr(row, k, v)
            row.updated_at = stamp
            report.updated += 1
    gone = [k for k, row in existing.items() if k not in seen and row.active] \
        if preset.name in WHOLE_LIST_PRESETS else []
    if gone:
        s.execute(update(Site).where(Site.source_key.in_(gone)).values(active=False))
    report.deactivated = len(gone)
    s.flush()
    report.summary = (f"{label}: {report.added} added, {report.updated} updated, "
                      f"{report.deactivated} no longer listed (deactivated), {duplicates} duplicates skipped, "
                      f"{rejects - duplicates} rejected, {notices} notes")
    return report


def retire_demo_sites(db: Database) -> int:
    """Deactivates the invented sites: those keyed `demo:`, and those an older release loaded
    with the `local` preset (every name starts "DEMO ", every note "Demo data, not a real ...")."""
    with db.session() as s:
        demo_rows = or_(Site.source_key.like("demo:%"),
                        (Site.source_key.like("local:%") & Site.name.like("DEMO %")
                         & Site.notes.like("Demo data%")))
        n = s.execute(update(Site).where(Site.active.is_(True), demo_rows).values(active=False)).rowcount
        for filename, _ in DEMO_FILES:
            seen = s.get(Setting, f"sites_import:{filename}")
            if seen is not None:
                s.delete(seen)      # a later `demo load` imports them again
    return n or 0


def file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


CHECKED_KEY = "sites_checked_at"


def import_defaults(db: Database, echo=print, progress_factory=None, now: datetime | None = None,
                    demo: bool = False) -> int:
    """The shipped site data, imported once per file version (`release` and make run call this
    every time): a file whose SHA-256 matches the one stored in settings is skipped, so an
    unchanged deploy costs a few hashes. The invented demo sites only with `demo` (make run);
    without it they are retired. Records when the files were last checked. Returns how many
    files were imported."""
    from core.sites_import import PRESETS
    imported = 0
    if not demo:
        retired = retire_demo_sites(db)
        if retired:
            echo(f"sites: {retired} demo sites retired (invented data is for `flask demo load` only)")
    for filename, preset in DEFAULT_FILES + (DEMO_FILES if demo else ()):
        path = DEFAULT_DIR / filename
        digest = file_digest(path)
        with db.session() as s:
            seen = s.get(Setting, f"sites_import:{filename}")
            if seen is not None and seen.value == digest:
                continue
            bar = progress_factory(count_rows(decode(path.read_bytes())), filename) if progress_factory else None
            report = import_file(s, path, PRESETS[preset], progress=bar.update if bar else None,
                                 label=f"bot/content/sites/{filename}")
            if bar:
                bar.close()
            if seen is None:
                s.add(Setting(key=f"sites_import:{filename}", value=digest))
            else:
                seen.value = digest
        imported += 1
        echo(report.summary)
    with db.session() as s:
        stamp = (now or utcnow()).isoformat(timespec="seconds")
        row = s.get(Setting, CHECKED_KEY)
        if row is None:
            s.add(Setting(key=CHECKED_KEY, value=stamp))
        else:
            row.value = stamp
    if not imported:
        echo("sites: the shipped files are already loaded (checksums match)")
    return imported


@dataclass(frozen=True)
class SitesStatus:
    """What the console and /healthz say about the sites: how many a text can reach, the
    newest verified date among them, and when the shipped files were last checked."""
    active: int
    program: int
    newest_verified: date | None
    checked_at: str | None


def sites_status(s: Session) -> SitesStatus:
    from sqlalchemy import func
    active, newest = s.execute(select(func.count(), func.max(Site.verified_on)).where(Site.active.is_(True))).one()
    program = s.scalar(select(func.count()).select_from(Site).where(
        Site.active.is_(True), or_(Site.source_key.startswith("program:"), Site.source_key.startswith("local:"))))
    checked = s.get(Setting, CHECKED_KEY)
    return SitesStatus(int(active or 0), int(program or 0), newest, checked.value if checked else None)
