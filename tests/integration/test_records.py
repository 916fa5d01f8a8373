"""Records (db/records.py): the hot path's rows, written back as one UPDATE of what changed."""
from __future__ import annotations

import pytest

from db import records
from db.models import Participant

PEOPLE = Participant.__table__


def _person(db, **values) -> int:
    with db.session() as s:
        person = Participant(status="active", fields={}, **values)
        s.add(person)
        s.flush()
        return person.id


def test_a_message_writes_back_only_the_columns_it_changed(db):
    """A peer renames the person while their text is being handled: the text's change (their
    language) and the peer's (the name) both survive."""
    pid = _person(db, first_name="Dee", language="en")
    with db.session() as s:
        person = records.load(s.connection(), PEOPLE, records.by_id(PEOPLE), id=pid)
    with db.session() as s:
        s.get(Participant, pid).first_name = "Deandra"
    person.language = "es"
    person.fields = {"consent": True}
    with db.session() as s:
        person.save(s.connection())
    with db.session() as s:
        saved = s.get(Participant, pid)
        assert (saved.first_name, saved.language, saved.fields) == ("Deandra", "es", {"consent": True})


def test_a_record_refuses_a_column_the_table_does_not_have(db):
    pid = _person(db)
    with db.session() as s:
        person = records.load(s.connection(), PEOPLE, records.by_id(PEOPLE), id=pid)
    with pytest.raises(AttributeError, match="participants has no column 'nickname'"):
        person.nickname = "D"
    with db.engine.connect() as conn:
        assert records.load(conn, PEOPLE, records.by_id(PEOPLE), id=pid + 1000) is None


def test_a_raw_statement_reads_and_writes_what_sqlalchemy_would(db):
    """db/raw.py sends the hot path's statements straight to the driver: the row it reads back
    is the one SQLAlchemy's execute returns (aware datetimes, JSON, booleans), and what it writes
    SQLAlchemy reads back unchanged; constants and scalar defaults are filled in."""
    from datetime import datetime, timezone

    from sqlalchemy import bindparam, insert, select, update

    from db.raw import Raw
    at = datetime(2026, 12, 1, 18, 30, 0, tzinfo=timezone.utc)    # no microseconds: SQLite's text form
    add = Raw(insert(PEOPLE).returning(PEOPLE.c.id), keys=("first_name", "fields", "opted_out_at", "created_at"))
    with db.engine.begin() as conn:
        pid = add.first(conn, first_name="Ana", fields={"zip": "60601", "é": [1]}, opted_out_at=at,
                        created_at=at)["id"]
        mine = records.by_id(PEOPLE).first(conn, id=pid)
        theirs = dict(conn.execute(select(PEOPLE).where(PEOPLE.c.id == pid)).mappings().one())
        assert mine == theirs and mine["opted_out_at"] == at and mine["language"] == "en"
        touched = Raw(update(PEOPLE).where(PEOPLE.c.id == bindparam("pid"), PEOPLE.c.status == "prospect")
                      .values(first_name=bindparam("name")))
        assert touched.execute(conn, pid=pid, name="Ann") == 1
        assert touched.execute(conn, pid=pid + 1000, name="Ann") == 0


def test_a_raw_statement_raises_sqlalchemys_errors(db):
    from datetime import datetime, timezone

    from sqlalchemy import insert
    from sqlalchemy.exc import IntegrityError

    from db.raw import Raw
    add = Raw(insert(PEOPLE), keys=("first_name", "timezone", "fields", "created_at"))
    with pytest.raises(IntegrityError):
        with db.engine.begin() as conn:
            add.execute(conn, first_name="Bo", timezone=None, fields={},
                        created_at=datetime(2026, 12, 1, tzinfo=timezone.utc))


def test_autocommit_reads_what_is_committed_and_keeps_a_one_statement_write(db):
    """The polls' bare connection (Database.autocommit): no transaction to begin or end, yet a
    write of one statement is kept, and the connection goes back to the pool as it came."""
    from sqlalchemy import select, update
    pid = _person(db, first_name="Dee", language="en")
    with db.autocommit() as conn:
        assert conn.execute(select(PEOPLE.c.first_name).where(PEOPLE.c.id == pid)).scalar() == "Dee"
        conn.execute(update(PEOPLE).where(PEOPLE.c.id == pid).values(first_name="Deandra"))
    with db.session() as s:
        assert s.get(Participant, pid).first_name == "Deandra"
        assert s.connection().get_isolation_level() != "AUTOCOMMIT"   # a session still gets a transaction


def test_a_unit_opened_with_its_first_statements_is_one_transaction_to_its_last_batch(db):
    """Database.work(opening=...), the inbound text's processing: on PostgreSQL the BEGIN goes
    with the first statements and the COMMIT with the last batch, the driver in autocommit in
    between. It is still one transaction, on a pooled or a pinned connection: an error in the
    last batch, or after a batch that did not carry the COMMIT (an ORM session was made), leaves
    nothing of the unit written, and the connection goes back as it came."""
    from contextlib import nullcontext
    from datetime import datetime, timezone

    from sqlalchemy import bindparam, insert, select, update

    from db.raw import Raw
    pid = _person(db, first_name="Dee", language="en")
    lock = records.by_id(PEOPLE, lock=True)
    rename = Raw(update(PEOPLE).where(PEOPLE.c.id == bindparam("pid")).values(first_name=bindparam("name")))
    broken = Raw(insert(PEOPLE), keys=("first_name", "timezone", "fields", "created_at"))   # timezone NOT NULL

    def name() -> tuple[str, str]:
        with db.session() as s:
            return s.execute(select(PEOPLE.c.first_name, PEOPLE.c.language).where(PEOPLE.c.id == pid)).one()

    for pinning in (nullcontext, db.pinned):
        with pinning():
            with db.work(write=True, opening=[(lock, {"id": pid}), (lock, {"id": pid + 1000})]) as s:
                assert s.opened[0]["first_name"] in ("Dee", "Deandra") and s.opened[1] is None
                with db.batch(s.connection(), last=s):
                    rename.execute(s.connection(), pid=pid, name="Deandra")
            assert name() == ("Deandra", "en")
            with pytest.raises(Exception, match="timezone"):
                with db.work(write=True, opening=[(lock, {"id": pid})]) as s:
                    rename.execute(s.connection(), pid=pid, name="First")
                    with db.batch(s.connection(), last=s):
                        rename.execute(s.connection(), pid=pid, name="Second")
                        broken.execute(s.connection(), first_name="Bo", timezone=None, fields={},
                                       created_at=datetime(2026, 12, 1, tzinfo=timezone.utc))
            assert name() == ("Deandra", "en")
            with pytest.raises(RuntimeError, match="after the batch"):
                with db.work(write=True, opening=[(lock, {"id": pid})]) as s:
                    s.get(Participant, pid).language = "es"     # an ORM session: the batch cannot commit
                    with db.batch(s.connection(), last=s):
                        rename.execute(s.connection(), pid=pid, name="Third")
                    raise RuntimeError("after the batch")
            assert name() == ("Deandra", "en")
            with db.session() as s:
                assert s.connection().get_isolation_level() != "AUTOCOMMIT"
                if not db.is_sqlite:
                    assert s.connection().connection.driver_connection.autocommit is False
