"""The two real databases every database test runs on.

SQLite: a file per test session. PostgreSQL: a database per test process created from the
server in HOMEWARD_TEST_PG (default: the local server's `test` database), migrated once and
truncated between tests. PostgreSQL is required: when it is missing the PostgreSQL half of every
database test FAILS with a message saying how to start it (HOMEWARD_SKIP_PG=1 turns that into a
skip for a laptop without PostgreSQL; CI never sets it).
"""
from __future__ import annotations

import os
import uuid

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

PG_SERVER = os.environ.get("HOMEWARD_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
SKIP_PG = os.environ.get("HOMEWARD_SKIP_PG") == "1" and os.environ.get("CI") != "true"


class PostgresMissing(RuntimeError):
    pass


def create_pg_database() -> str:
    """Create a throwaway database on the PostgreSQL server; return its URL."""
    server = make_url(PG_SERVER)
    name = f"homeward_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    try:
        admin = create_engine(server, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
    except Exception as exc:
        raise PostgresMissing(
            f"PostgreSQL is required for the database tests and is not reachable at "
            f"{server.render_as_string(hide_password=True)} ({type(exc).__name__}). Start it "
            f"(pg_ctlcluster 15 main start) or point HOMEWARD_TEST_PG at one.") from exc
    return server.set(database=name).render_as_string(hide_password=False)


def drop_pg_database(url: str) -> None:
    server = make_url(PG_SERVER)
    name = make_url(url).database
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def wipe(engine) -> None:
    """Empty every table between tests (keeps the schema and the migration stamp)."""
    from db.models import Base
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE"))
        else:
            for t in tables:
                conn.execute(text(f'DELETE FROM "{t}"'))
