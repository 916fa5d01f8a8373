"""Engine and sessions. Framework-free so the worker, the CLI and tests share it."""
from __future__ import annotations

import fcntl
import threading
import time
from contextlib import contextmanager, nullcontext
from pathlib import Path

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import Session, sessionmaker

from db import checkins


_IDLE = 0   # psycopg.pq.TransactionStatus.IDLE (psycopg is imported only with a PostgreSQL URL)
SQLITE_MINIMUM = (3, 35)   # UPDATE/INSERT ... RETURNING and INSERT ... ON CONFLICT on the hot path


def make_engine(url: str, **kw) -> Engine:
    if url.startswith("sqlite"):
        import sqlite3
        if sqlite3.sqlite_version_info < SQLITE_MINIMUM:
            raise RuntimeError(
                f"Homeward needs SQLite {'.'.join(map(str, SQLITE_MINIMUM))} or newer; this Python has "
                f"{sqlite3.sqlite_version}. Use a newer Python build or set DATABASE_URL to PostgreSQL.")
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
            # the report's summary triggers need the local date (SQLite has no time zones)
            dbapi_conn.create_function(checkins.LOCAL_DATE, 2, checkins.local_date, deterministic=True)
        return engine
    engine = create_engine(url, pool_size=10, max_overflow=20, **kw)
    _ping_when_idle(engine)
    return engine


PING_AFTER_IDLE = 2.0   # seconds a pooled connection may sit unused before it is checked again


def _ping_when_idle(engine: Engine) -> None:
    """The pool's liveness check (pool_pre_ping), but only for a connection that sat unused for
    PING_AFTER_IDLE seconds: under load every connection is back in use within milliseconds, and
    the ping was one of every message's round trips. A server that went away within those two
    seconds fails one statement instead; SQLAlchemy then invalidates the whole pool, and a
    webhook's 500 is redelivered by Twilio (nothing is lost: the store is the first write)."""

    @event.listens_for(engine, "checkin")
    def _returned(dbapi_conn, record):
        record.info["homeward_returned"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_conn, record, proxy):
        returned = record.info.pop("homeward_returned", None)
        if returned is not None and time.monotonic() - returned < PING_AFTER_IDLE:
            return
        try:
            engine.dialect.do_ping(dbapi_conn)
        except Exception as exc:   # noqa: BLE001 - any failure: reconnect (the pool retries once)
            raise DisconnectionError(f"pooled connection failed its ping: {type(exc).__name__}") from exc


class WriterQueue:
    """SQLite writers of this and other processes (gunicorn workers, the worker) wait their turn
    in the kernel, woken when the lock is free, instead of polling in SQLite's busy handler,
    whose back-off sleeps put 100 ms and more on the slowest answers under load. Re-entrant in
    a thread. A database in memory has no other processes: the thread lock is enough."""

    def __init__(self, database: str | None):
        self.path = f"{database}.writers" if database and database != ":memory:" else None
        self._thread = threading.RLock()
        self._local = threading.local()

    def acquire(self) -> None:
        self._thread.acquire()
        depth = getattr(self._local, "depth", 0)
        if depth == 0 and self.path:
            try:
                self._local.file = open(self.path, "a+b")
                fcntl.flock(self._local.file, fcntl.LOCK_EX)
            except BaseException:
                self._thread.release()
                raise
        self._local.depth = depth + 1

    def release(self) -> None:
        self._local.depth -= 1
        try:
            if self._local.depth == 0 and self.path:
                self._local.file.close()   # closing the file releases its lock
        finally:
            self._thread.release()


class LazySession:
    """What the hot path hands its helpers as the session: `connection()` is the transaction's
    own connection, and an ORM Session (autoflush off, joined to that transaction) is made only
    when something asks for more (a ticket reopened, an opt-out or opt-in, consent, a replan).
    Most texts never make one. `finish()` flushes what a made session holds, before the
    transaction commits. `opened`: the first rows of the statements `Database.work` opened the
    unit with; `explicit`: the unit's BEGIN was sent as a statement (PostgreSQL), so its last
    batch may carry the COMMIT (`Database.batch`)."""
    __slots__ = ("_db", "_conn", "_session", "opened", "explicit", "committed")

    def __init__(self, db: "Database", conn, explicit: bool = False):
        self._db, self._conn, self._session = db, conn, None
        self.opened: list[dict | None] = []
        self.explicit, self.committed = explicit, False

    def connection(self):
        return self._conn

    @property
    def orm(self) -> Session:
        if self._session is None:
            self._session = self._db.Session(bind=self._conn, autoflush=False)
        return self._session

    def __getattr__(self, name: str):
        return getattr(self.orm, name)

    @property
    def made(self) -> bool:
        """Whether an ORM session was made (it has to be flushed before the COMMIT)."""
        return self._session is not None

    def finish(self) -> None:
        if self._session is not None:
            if self.committed:
                raise RuntimeError("an ORM session was made after the unit's last batch committed it")
            self._session.commit()      # joined to the connection's transaction: a flush

    def close(self) -> None:
        if self._session is not None:
            self._session.close()


@contextmanager
def _explicit(conn):
    """PostgreSQL: the driver in autocommit for a unit that sends its own BEGIN (and perhaps its
    COMMIT) as statements, so that they can share a round trip with the unit's first (last)
    statements; psycopg would send its BEGIN alone and wait for it. Inside the BEGIN the
    statements are one transaction as before: SQLAlchemy's commit or rollback at the end sends
    COMMIT or ROLLBACK while the server is in it (psycopg reads the server's transaction
    status, not the autocommit flag), and nothing when the last batch committed already. The
    flag is put back before the connection goes back to its pool or its pinning."""
    if conn.in_transaction():
        raise RuntimeError("an explicit unit of work on a connection inside a transaction")
    driver = conn.connection.driver_connection
    driver.autocommit = True
    try:
        yield
    finally:
        if not driver.closed:
            if driver.info.transaction_status != _IDLE:    # SQLAlchemy's own end did not reach it
                driver.rollback()
            driver.autocommit = False


def _begin_immediate(conn) -> None:
    """SQLite: take the write lock now (pysqlite would begin only at the first write)."""
    driver = conn.connection.driver_connection
    if not driver.in_transaction:
        driver.execute("BEGIN IMMEDIATE")


class Database:
    def __init__(self, url: str):
        self.url = url
        self.engine = make_engine(url)
        self.Session = sessionmaker(self.engine, expire_on_commit=False)
        self._pinned = threading.local()
        self._write_lock = WriterQueue(self.engine.url.database) if self.is_sqlite else None

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

    @contextmanager
    def transaction(self, write: bool = False):
        """A unit of work on the bare connection (this thread's pinned one, else a pooled one),
        no ORM session: for the hot path's statements (db/raw.py). Commits on success; the block
        may end it early with `conn.rollback()`. `write=True`: as `session(write=True)`, on
        SQLite the writer's turn and BEGIN IMMEDIATE before the first statement."""
        serialise = write and self.is_sqlite
        if serialise:
            self._write_lock.acquire()
        try:
            conn = getattr(self._pinned, "conn", None)
            if conn is None:
                with self.engine.connect() as conn, conn.begin():
                    if serialise:
                        _begin_immediate(conn)
                    yield conn
                return
            with conn.begin():
                if serialise:
                    _begin_immediate(conn)
                yield conn
        finally:
            if serialise:
                self._write_lock.release()

    @contextmanager
    def single(self):
        """PostgreSQL: a block that sends one statement (db/raw.py, on the driver) as its own
        transaction: the driver in autocommit for the block, so the statement commits when it
        completes, atomically as any statement does, without the BEGIN and COMMIT round trips
        (each a few tens of µs of this process's CPU, and the server's). On this thread's pinned
        connection (else a pooled one), which must not be in a transaction; SQLite: use
        `transaction`, whose writer's turn this does not take."""
        if self.is_sqlite:
            raise RuntimeError("Database.single is for PostgreSQL; SQLite's writers use transaction(write=True)")
        conn = getattr(self._pinned, "conn", None)
        if conn is None:
            with self.engine.connect() as conn:
                yield from self._single(conn)
            return
        yield from self._single(conn)

    @staticmethod
    def _single(conn):
        if conn.in_transaction():
            raise RuntimeError("Database.single on a connection inside a transaction")
        driver = conn.connection.driver_connection
        driver.autocommit = True
        try:
            yield conn
        finally:
            if not driver.closed:
                driver.autocommit = False

    @contextmanager
    def work(self, write: bool = False, opening=()):
        """`session(write)` for the hot path: a `transaction(write)` and a LazySession on it.
        Commits on success (what an ORM session made meanwhile holds, then the transaction);
        rolls everything back on error.

        `opening`: (Raw, params) pairs the unit starts with, run in order, their first rows in
        `s.opened`. On PostgreSQL they go with the BEGIN in one round trip (`_explicit`): each
        runs only after the one before it completed (a row lock is held before the next
        statement takes its snapshot), and the unit's last `batch` may carry its COMMIT."""
        if not opening or self.is_sqlite:
            with self.transaction(write=write) as conn:
                s = LazySession(self, conn)
                try:
                    s.opened = [raw.first(conn, **params) for raw, params in opening]
                    yield s
                    s.finish()
                finally:
                    s.close()
            return
        pinned = getattr(self._pinned, "conn", None)
        with (nullcontext(pinned) if pinned is not None else self.engine.connect()) as conn, \
                _explicit(conn), conn.begin():
            s = LazySession(self, conn, explicit=True)
            try:
                driver = conn.connection.driver_connection
                with driver.pipeline():
                    driver.execute(b"BEGIN", prepare=False)
                    sent = [raw.send(conn, **params) for raw, params in opening]
                s.opened = [one.first() for one in sent]
                yield s
                s.finish()
            finally:
                s.close()

    @contextmanager
    def autocommit(self):
        """A bare connection on which each statement is its own transaction, no ORM session: for
        reads, and writes of one statement, that every open page repeats (the sign-in check, the
        alert and thread polls, the queue). PostgreSQL's READ COMMITTED gives each statement its
        own snapshot inside a transaction too, so reads see nothing different; what goes is the
        BEGIN and COMMIT round trips. On SQLite, where a read never opens a transaction, a write
        commits at the end of the block. Not for a unit of work that must be atomic (`session`)."""
        pinned = getattr(self._pinned, "conn", None)
        if pinned is not None:         # this thread's pinned connection, left as it is
            if pinned.in_transaction():
                yield pinned
                return
            with pinned.begin():
                yield pinned
            return
        if self.is_sqlite:
            with self.engine.connect() as conn:
                yield conn
                conn.commit()
            return
        with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            yield conn

    @contextmanager
    def batch(self, conn, last: LazySession | None = None):
        """Statements that return nothing (INSERT without RETURNING, UPDATE), sent together:
        PostgreSQL's pipeline mode, so they cost one round trip, at the end of the block, where
        any error is raised. Nothing in the block may read a result (SQLAlchemy finds none).
        SQLite runs them as they come: its round trips are calls in this process.

        `last`: these are the last statements of `last`'s unit (nothing runs on it after the
        block). When its BEGIN was explicit and it made no ORM session, its COMMIT goes at the
        end of the batch, in the same round trip; the unit's own commit then finds nothing to do.
        A statement that fails aborts the rest, the COMMIT with them."""
        if self.is_sqlite:
            yield
            return
        driver = conn.connection.driver_connection
        with driver.pipeline():
            yield
            if last is not None and last.explicit and not last.made:
                driver.execute(b"COMMIT", prepare=False)
                last.committed = True

    @contextmanager
    def session(self, write: bool = False):
        """A unit of work: commit on success, roll back on error.

        `write=True` for a unit that reads, decides and writes (an inbound message, a timer). On
        SQLite it takes the write lock before the first read, so nothing it reads can change
        before it writes: writers queue in a `WriterQueue` (rather than sleeping in SQLite's busy
        handler, which backs off up to 100 ms a try), then BEGIN IMMEDIATE. (pysqlite itself
        begins a transaction only at the first write, so two quick messages from one person could
        otherwise both decide from the same state.) PostgreSQL needs neither: those callers lock
        rows (FOR NO KEY UPDATE)."""
        serialise = write and self.is_sqlite
        if serialise:
            self._write_lock.acquire()
        try:
            conn = getattr(self._pinned, "conn", None)
            s: Session = self.Session(bind=conn) if conn is not None else self.Session()
            try:
                if serialise:
                    _begin_immediate(s.connection())
                yield s
                s.commit()
            except BaseException:
                s.rollback()
                raise
            finally:
                s.close()
        finally:
            if serialise:
                self._write_lock.release()
