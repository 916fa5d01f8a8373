"""Every simulated journey, on SQLite and PostgreSQL: the exact texts the person got and sent,
at their local times, and the rules no journey may break (tests/journeys/player.py)."""
from __future__ import annotations

import pytest

from tests.conftest import make_test_app
from tests.journeys import player

SCENARIOS = player.scenarios()


_APPS: dict = {}


@pytest.fixture
def journey_app(db_url, db):
    """One app per database for the whole set (the `db` fixture empties it before each journey)."""
    app = _APPS.get(db_url)
    if app is None:
        app = _APPS[db_url] = make_test_app(db_url, SENDER_RATE_PER_SECOND=1000.0, LOG_LEVEL="WARNING")
    app.extensions.pop("homeward.clock", None)
    app.extensions["homeward.runtime"]._facts = None
    with app.extensions["homeward.db"].session() as s:
        app.extensions["homeward.flows"].publish_dir(s, only_changed=False)
    return app


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_journey(path, journey_app):
    script = player.load(path)
    journey = player.Journey(script, journey_app)
    lines = journey.play()
    assert journey.check_rules(lines) == []
    assert journey.render(lines) == script["transcript"], \
        f"{path.name}: the texts differ (re-record with python -m tests.journeys.player DB_URL {path})"


def test_every_scenario_the_issue_names_is_here():
    names = {player.load(p)["name"] for p in SCENARIOS}
    assert {"enrolled by the API at release", "self-enrolled by text", "enrolled in the browser",
            "a preferred time of evening", "STOP on day 6 and START on day 9", "release date corrected on day 2",
            "pause and resume", "a new number and a merge", "a time zone that crosses a DST change",
            "quiet hours when the person writes first", "a Spanish speaker throughout"} <= names
