"""Engine and sessions. Framework-free so the worker, the CLI and tests share it."""
from __future__ import annotations

import threading
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker


def make_engine(url: str, **kw) -> Engine:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False}, **kw)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _):
            # WAL lets the web app read while the worker writes; foreign keys are off by default.
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20, **kw)


class Database:
    def __init__(self, url: str):
        self.url = url
        self.engine = make_engine(url)
        self.Session = sessionmaker(self.engine, expire_on_commit=False)
        self._pinned = threading.local()

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @contextmanager
    def pinned(self):
        """Run several units of work on one pooled connection (this thread's sessions use it):
        one checkout and one liveness ping instead of one per session, on the webhook's hot path.
        Each session still commits on its own."""
        if getattr(self._pinned, "conn", None) is not None:
            yield
            return
        with self.engine.connect() as conn:
            self._pinned.conn = conn
            try:
                yield
            finally:
                self._pinned.conn = None

    def lock_for_write(self, s: Session) -> None:
        """Take SQLite's write lock now, at the start of `s`'s transaction, so nothing it reads can
        change before it writes. (pysqlite begins a transaction only at the first write, so a
        read-decide-write sequence would otherwise read outside any lock, and two quick messages
        from one person could both decide from the same state.) PostgreSQL needs nothing here:
        its callers lock rows with FOR UPDATE."""
        if self.is_sqlite:
            conn = s.connection()
            if not conn.connection.driver_connection.in_transaction:
                conn.exec_driver_sql("BEGIN IMMEDIATE")

    @contextmanager
    def session(self):
        """A unit of work: commit on success, roll back on error."""
        conn = getattr(self._pinned, "conn", None)
        s: Session = self.Session(bind=conn) if conn is not None else self.Session()
        try:
            yield s
            s.commit()
        except BaseException:
            s.rollback()
            raise
        finally:
            s.close()
