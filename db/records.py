"""Rows read with Core and changed like objects, written back as one UPDATE of what changed.

Every inbound message reads the person and their conversation and changes a few columns of
each; the ORM's identity map and unit of work cost more than everything else the message does.
A Record is the row as a plain object: no identity map, no autoflush, no lazy loading, and
`save()` writes only the columns that were assigned. The statements go straight to the driver
(db/raw.py): built once, no SQLAlchemy execute path per message.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Any, Mapping

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.engine import Connection

from db.raw import Raw


class Record:
    __slots__ = ("_table", "_values", "_changed")

    def __init__(self, table: Table, values: Mapping[str, Any]):
        object.__setattr__(self, "_table", table)
        object.__setattr__(self, "_values", dict(values))
        object.__setattr__(self, "_changed", set())

    def __getattr__(self, name: str) -> Any:
        try:
            return self._values[name]
        except KeyError:
            raise AttributeError(f"{self._table.name} has no column {name!r}") from None

    def __setattr__(self, name: str, value: Any) -> None:
        if name not in self._values:
            raise AttributeError(f"{self._table.name} has no column {name!r}")
        self._values[name] = value
        self._changed.add(name)

    @property
    def changed(self) -> dict[str, Any]:
        return {name: self._values[name] for name in sorted(self._changed)}

    def save(self, conn: Connection) -> None:
        """One UPDATE of the assigned columns (none: no statement)."""
        if self._changed:
            names = tuple(sorted(self._changed))
            params = {f"v_{n}": self._values[n] for n in names}
            params["v__id"] = self._values["id"]
            _update_of(self._table, names).execute(conn, **params)
            self._changed.clear()

    def __repr__(self) -> str:
        return f"<{self._table.name} record id={self._values.get('id')}>"


@lru_cache(maxsize=512)
def _update_of(table: Table, names: tuple[str, ...]) -> Raw:
    """`UPDATE table SET <names> WHERE id = :v__id`, built once per set of columns."""
    return Raw(update(table).where(table.c.id == bindparam("v__id"))
               .values({name: bindparam(f"v_{name}") for name in names}))


def by_id(table: Table, lock: bool = False) -> Raw:
    """A prepared `SELECT * FROM table WHERE id = :id`. With `lock`, PostgreSQL's
    FOR NO KEY UPDATE: it serialises writers of the row like FOR UPDATE but, unlike it, lets
    other transactions insert rows that reference this one (their foreign-key check takes
    FOR KEY SHARE), so storing a person's next text never waits on, or deadlocks with, the
    processing of their last. SQLite, which locks the whole database for a writer, renders none."""
    stmt = select(table).where(table.c.id == bindparam("id"))
    return Raw(stmt.with_for_update(key_share=True) if lock else stmt)


def load(conn: Connection, table: Table, stmt: Raw, cls: type[Record] = Record, **params) -> Record | None:
    """The one row `stmt` (a Raw select of `table`'s columns) finds, as a `cls`; None: no row."""
    row = stmt.first(conn, **params)
    return cls(table, row) if row is not None else None
