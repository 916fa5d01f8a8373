"""`flask --app app flows check|publish|list`: supervisors' flows, checked before they go live."""
from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from core import intents
from core.flows import checker
from core.flows.registry import FlowError


@click.group("flows", help="Check and publish the conversation flows (bot/content/flows/*.yaml).")
def flows_group():
    pass


@flows_group.command("check", help="Report every problem as file:line: message; exit 1 on any error.")
@click.argument("paths", nargs=-1, type=click.Path(exists=True))
@with_appcontext
def check(paths):
    """Flows, then the understanding step's intents, entities and answers (bot/content/). A path
    in an intents folder (bot/content/intents or a copy being edited) checks that folder's intents."""
    from pathlib import Path
    intent_dirs = sorted({str(p if Path(p).is_dir() else Path(p).parent) for p in paths
                          if "intents" in (Path(p).name, Path(p).parent.name)})
    flow_paths = [p for p in paths if "intents" not in (Path(p).name, Path(p).parent.name)]
    rc = checker.main(flow_paths or [current_app.config["FLOWS_DIR"]]) if flow_paths or not paths else 0
    for folder in intent_dirs or ([] if paths else [None]):
        rc = max(rc, intents.main(Path(folder) if folder else intents.INTENTS_DIR))
    raise SystemExit(rc)


@flows_group.command("publish", help="Publish flow files as new versions (conversations in progress keep theirs).")
@click.argument("names", nargs=-1)
@click.option("--all", "all_", is_flag=True, help="Every flow in the folder.")
@click.option("--if-changed", is_flag=True, help="Only flows whose text differs from the latest version.")
@with_appcontext
def publish(names, all_, if_changed):
    if not names and not all_:
        raise click.UsageError("name the flows to publish, or pass --all")
    store, db = current_app.extensions["homeward.flows"], current_app.extensions["homeward.db"]
    _, problems = intents.load()
    if any(p.severity == "error" for p in problems):    # flows that route to broken intents stay unpublished
        for problem in problems:
            click.echo(str(problem), err=True)
        raise SystemExit(1)
    try:
        with db.session() as s:
            done = store.publish_dir(s, list(names) or None, only_changed=if_changed)
    except FlowError as exc:
        for problem in exc.problems:
            click.echo(str(problem), err=True)
        raise SystemExit(1)
    for name, version in done:
        click.echo(f"published {name} version {version}")
    if not done:
        click.echo("nothing to publish: the published versions match the files")


@flows_group.command("list", help="The published flows and their latest versions.")
@with_appcontext
def list_flows():
    store, db = current_app.extensions["homeward.flows"], current_app.extensions["homeward.db"]
    with db.session() as s:
        for name, version in sorted(store.latest_versions(s).items()):
            click.echo(f"{name:<12} v{version}")
