"""`flask --app app sites import FILE --preset NAME | --map SPEC`: resource sites from a CSV."""
from __future__ import annotations

from datetime import date, datetime, timezone
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from tqdm import tqdm

from bot.site_store import import_defaults, import_file
from core.sites_import import PRESETS, count_rows, decode, parse_map


@click.group("sites", help="Places to get naloxone, harm-reduction services and treatment.")
def sites_group():
    pass


@sites_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--preset", type=click.Choice(sorted(PRESETS)), help="A known file layout.")
@click.option("--map", "mapping", help='Any other layout: "name=COL,address=COL+COL,city=COL,state=COL,'
                                      'zip=COL,lat=COL,lon=COL,phone=COL,kinds=naloxone|vending_machine"')
@click.option("--verified-on", help="YYYY-MM-DD: when this list was last checked.")
@with_appcontext
def import_command(file: Path, preset: str | None, mapping: str | None, verified_on: str | None):
    if bool(preset) == bool(mapping):
        raise click.UsageError("give exactly one of --preset or --map")
    try:
        layout = PRESETS[preset] if preset else parse_map(mapping)
        verified = date.fromisoformat(verified_on) if verified_on else None
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    db = current_app.extensions["homeward.db"]
    total = count_rows(decode(file.read_bytes()))
    try:
        with db.session() as s, tqdm(total=total, unit="row", desc=file.name, leave=False) as bar:
            report = import_file(s, file, layout, verified, datetime.now(timezone.utc), progress=bar.update)
    except ValueError as exc:   # the header lacks the layout's columns: nothing was written
        raise click.ClickException(f"{file}: {exc}") from None
    for line in report.lines:
        click.echo(line)
    click.echo(report.summary)


def load_default_sites(db, demo: bool = False) -> None:
    """The shipped site data with a progress bar per file; the invented demo sites only for
    make run's `demo load`."""
    import_defaults(db, click.echo, lambda total, name: tqdm(total=total, unit="row", desc=name, leave=False),
                    demo=demo)


@sites_group.command("load-defaults", help="Import the shipped site data (skips files whose checksum is unchanged); "
                                           "the Procfile's release runs it on every deploy.")
@with_appcontext
def load_defaults():
    load_default_sites(current_app.extensions["homeward.db"])
