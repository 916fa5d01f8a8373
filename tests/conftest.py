"""Fixtures: an app per test on each real database (SQLite and PostgreSQL)."""
from __future__ import annotations

import os

import pytest

from tests import clock, dbs
from tests.twilio_signing import AUTH_TOKEN, BASE_URL

os.environ.setdefault("HOMEWARD_INSTANCE", "/tmp/homeward-test-instance")


@pytest.fixture(scope="session")
def _sqlite_url(tmp_path_factory):
    from db.migrate import upgrade
    from db.session import make_engine
    url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'homeward.db'}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    return url


@pytest.fixture(scope="session")
def _pg_url():
    from db.migrate import upgrade
    from db.session import make_engine
    if dbs.SKIP_PG:
        pytest.skip("HOMEWARD_SKIP_PG=1: PostgreSQL half skipped (never in CI)")
    try:
        url = dbs.create_pg_database()
    except dbs.PostgresMissing as exc:
        pytest.fail(str(exc), pytrace=False)
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    yield url
    dbs.drop_pg_database(url)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request):
    return request.getfixturevalue("_sqlite_url" if request.param == "sqlite" else "_pg_url")


def make_test_app(db_url, **overrides):
    from app import create_app
    cfg = {"DATABASE_URL": db_url, "TESTING": True, "SECRET_KEY": "test-secret",
           "TWILIO_AUTH_TOKEN": AUTH_TOKEN, "PUBLIC_BASE_URL": BASE_URL,
           "TWILIO_ACCOUNT_SID": "", "TWILIO_MESSAGING_SERVICE_SID": "", "TWILIO_FROM_NUMBER": "",
           "PROGRAM_NAME": "Homeward", "WTF_CSRF_ENABLED": False}
    cfg.update(overrides)
    application = create_app(cfg)
    # The app reads "now" from here; a test that needs another instant sets its own.
    application.extensions["homeward.clock"] = clock.pinned
    return application


@pytest.fixture
def db(db_url):
    """An empty database (schema migrated), without the app: for the worker and the core's shell."""
    from db.session import Database
    database = Database(db_url)
    dbs.wipe(database.engine)
    yield database
    database.engine.dispose()


@pytest.fixture
def app(db_url, db):
    application = make_test_app(db_url)
    yield application
    application.extensions["homeward.db"].engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture(scope="session")
def prism():
    from tests.prism import Prism
    server = Prism()
    yield server
    server.stop()


@pytest.fixture
def twilio_sender(prism):
    from bot.channels.sender import TwilioSender
    return TwilioSender("AC" + "1" * 32, "prism-token", messaging_service_sid="MG" + "2" * 32,
                        status_callback="https://homeward.example.org/twilio/status", api_base_url=prism.url)
