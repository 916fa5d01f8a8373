"""Statements compiled once and sent straight to the driver (sqlite3, psycopg): the hot path's.

An inbound text runs a handful of statements, and on a CPU-bound box SQLAlchemy's execute path
(the cache key, the execution context, binding, the result object) cost more CPU than the
statements themselves (docs/benchmarks.md, "Inbound webhook"). A `Raw` is still written as a
SQLAlchemy statement, so there is one spelling of each; it is compiled once per dialect, and
each execution does only what is left: fill in the constants and defaults, run the type
processors SQLAlchemy would run (the same bytes reach the database and the same values come
back), and call the driver's cursor on the connection's current transaction. psycopg prepares a
statement it sees repeatedly on its own (prepare_threshold), and in a `Database.batch` the
statements are pipelined.

Limits, checked when a statement is compiled: no statement whose parameters are rendered into
its text (expanding IN, literal_execute), no column default that must be called (a callable
default: the caller passes the value). Errors come back as SQLAlchemy's exceptions, and a lost
connection is invalidated, as SQLAlchemy's own execute does.
"""
from __future__ import annotations

import re
from typing import Any, Callable, Iterable, Mapping

from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError

# The profiler's statement count (bench/webhook_profile.py): called with the SQL text when set.
on_execute: Callable[[str], None] | None = None
_NAMED = re.compile(r"%\(([^)]+)\)s")


class _Compiled:
    __slots__ = ("sql", "names", "base", "binders", "keys", "loaders", "positional", "dialect", "reuse")

    def __init__(self, stmt, dialect, keys: Iterable[str] | None):
        compiled = stmt.compile(dialect=dialect, column_keys=list(keys) if keys is not None else None)
        self.dialect, self.sql, self.positional = dialect, compiled.string, compiled.positional
        self.reuse = dialect.driver == "psycopg"     # the connection's cursor (_cursor)
        names = compiled.positiontup
        rendered = (*compiled.literal_execute_params, *compiled.post_compile_params)
        if rendered:
            # Constants the dialect renders into the text (IN a constant list; LIMIT 1): once.
            if any(b.required for b in rendered):
                raise ValueError("a raw statement cannot render a parameter given at execution into its text")
            expanded = compiled._process_parameters_for_postcompile(
                {n: None if b.required else b.effective_value for n, b in compiled.binds.items()})
            self.sql, names = expanded.statement, expanded.positiontup
            constants = {n: v for n, v in expanded.parameters.items() if n not in compiled.binds}
        else:
            constants = {}
        if self.positional:
            self.names = tuple(names)
        else:
            if compiled.escaped_bind_names:
                raise ValueError("a raw statement's parameter names must not need escaping")
            self.names = tuple(dict.fromkeys(_NAMED.findall(self.sql)))
        wanted = set(self.names)
        # Scalar column defaults, then the constants bound in the statement (status = 'open').
        prefetch = (*compiled.insert_prefetch, *compiled.update_prefetch)
        self.base = {column.key: column.default.arg for column in prefetch
                     if column.default is not None and column.default.is_scalar}   # others: the caller's
        skip = {column.key for column in prefetch}
        for name, b in compiled.binds.items():
            if name in wanted and name not in skip and not b.required and b.callable is None:
                self.base[name] = b.effective_value
        self.base.update((n, v) for n, v in constants.items() if n in wanted)   # an IN list's items
        processors = compiled._bind_processors
        self.binders = tuple((name, processors.get(name)) for name in self.names)
        self.keys = tuple(c[0] for c in compiled._result_columns)
        self.loaders = tuple(c[3]._cached_result_processor(dialect, None) for c in compiled._result_columns)

    def bind(self, values: Mapping[str, Any]):
        v = {**self.base, **values} if self.base else values
        if self.positional:
            return tuple(v[n] if p is None else p(v[n]) for n, p in self.binders)
        return {n: v[n] if p is None else p(v[n]) for n, p in self.binders}

    def load(self, row) -> dict:
        return {k: (x if f is None or x is None else f(x)) for k, f, x in zip(self.keys, self.loaders, row)}


class Raw:
    """One statement, compiled for each dialect the first time it runs there. `keys`: for an
    INSERT, the columns given (each execution gives all of them; scalar defaults fill the rest)."""

    def __init__(self, stmt, keys: Iterable[str] | None = None):
        self.stmt, self.keys = stmt, tuple(keys) if keys is not None else None
        self._compiled: dict[str, _Compiled] = {}

    def _for(self, conn: Connection) -> _Compiled:
        name = conn.dialect.name
        c = self._compiled.get(name)
        if c is None:
            c = self._compiled[name] = _Compiled(self.stmt, conn.dialect, self.keys)
        return c

    def _run(self, conn: Connection, c: _Compiled, params, many: bool = False):
        driver = conn.connection.driver_connection
        if on_execute is not None:
            on_execute(c.sql)
        cursor = _cursor(driver) if c.reuse else driver.cursor()
        try:
            if many:
                cursor.executemany(c.sql, params)
            else:
                cursor.execute(c.sql, params)
        except Exception as exc:
            translated = _translated(conn, c, params, exc, cursor)
            if translated is exc:
                raise
            raise translated from exc
        return cursor

    def rows(self, conn: Connection, **values) -> list[dict]:
        c = self._for(conn)
        cursor = self._run(conn, c, c.bind(values))
        try:
            return [c.load(row) for row in cursor.fetchall()]
        finally:
            _done(c, cursor)

    def first(self, conn: Connection, **values) -> dict | None:
        c = self._for(conn)
        cursor = self._run(conn, c, c.bind(values))
        try:
            row = cursor.fetchone()
            return c.load(row) if row is not None else None
        finally:
            _done(c, cursor)

    def send(self, conn: Connection, **values) -> "Sent":
        """Run the statement and read its first row later (`Sent.first()`): in a `Database.batch`
        on PostgreSQL it goes with the batch's other statements, and its row is there once the
        batch has ended (one round trip for them all)."""
        c = self._for(conn)
        return Sent(c, self._run(conn, c, c.bind(values)))

    def execute(self, conn: Connection, **values) -> int:
        """A statement whose rows are not read (an UPDATE, an INSERT): its rowcount, or -1 inside
        a `Database.batch` on PostgreSQL, where the count is not known until the batch ends."""
        c = self._for(conn)
        cursor = self._run(conn, c, c.bind(values))
        count = cursor.rowcount
        _done(c, cursor)
        return count

    def executemany(self, conn: Connection, rows: Iterable[Mapping[str, Any]]) -> None:
        c = self._for(conn)
        params = [c.bind(r) for r in rows]
        if params:
            _done(c, self._run(conn, c, params, many=True))


class Sent:
    """A statement `Raw.send` ran, whose first row is read when asked for."""
    __slots__ = ("_c", "_cursor")

    def __init__(self, c: _Compiled, cursor):
        self._c, self._cursor = c, cursor

    def first(self) -> dict | None:
        try:
            row = self._cursor.fetchone()
            return self._c.load(row) if row is not None else None
        finally:
            _done(self._c, self._cursor)


def _cursor(driver):
    """The driver connection's own reused cursor on psycopg outside a pipeline (making and closing
    a cursor for each statement was a few µs of Python a statement); a new one otherwise (in a
    pipeline each statement keeps its own results until the batch ends; sqlite3's cost nothing)."""
    if driver._pipeline is not None:
        return driver.cursor()
    cursor = getattr(driver, "_homeward_cursor", None)
    if cursor is None or cursor.closed:
        cursor = driver._homeward_cursor = driver.cursor()
    return cursor


def _done(c: _Compiled, cursor) -> None:
    """Close a statement's cursor, unless it is the connection's reused one (left for the next)."""
    if not c.reuse or getattr(cursor.connection, "_homeward_cursor", None) is not cursor:
        cursor.close()


def _translated(conn: Connection, c: _Compiled, params, exc: Exception, cursor) -> Exception:
    """The driver's error as SQLAlchemy would raise it (IntegrityError, OperationalError ...);
    a connection the error shows to be lost is invalidated, so the pool does not hand it out."""
    dbapi = c.dialect.loaded_dbapi
    if not isinstance(exc, dbapi.Error):
        return exc
    if c.dialect.is_disconnect(exc, conn.connection.dbapi_connection, cursor):
        conn.invalidate(exc)
    return DBAPIError.instance(c.sql, params, exc, dbapi.Error, dialect=c.dialect)
