"""Reach and engagement from a kept summary: report_person_weeks, a row per person and week since
release (0 to 12, on the person's calendar) with the texts they sent in it, those in its first
three days (the 72 hours), and the check-ins sent in it that were answered. The report probed
every person's 16 windows after release in the messages (O(people released x windows): 110,867
person-windows at 180 days); it now reads at most 13 rows a person. Kept by triggers, as
report_checkin_days is (0015_report_checkin_days, whose homeward_local_date it uses), in the
transaction of each write: a text stored, a check-in answered or refused, messages moved by a
merge; a release date or zone edited, a record merged (the person's rows counted again).

Revision ID: 0015_report_person_weeks
Revises: 0015_report_checkin_days
"""
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from alembic import op
import sqlalchemy as sa

revision = "0015_report_person_weeks"
down_revision = "0015_report_checkin_days"
branch_labels = None
depends_on = None

TABLE = "report_person_weeks"
FOLLOWED_DAYS = 91          # 13 weeks
CHECKIN = "{m}.direction = 'out' AND {m}.kind IN ('nudge', 'welcome') AND {m}.status NOT IN ('failed', 'undelivered')"
COUNTED = "({m}.direction = 'in' OR ({checkin} AND {m}.answered_at IS NOT NULL))"
SINCE = {"postgresql": "homeward_local_date({r}.created_at, {p}.timezone) - {p}.release_date",
         "sqlite": "CAST(julianday(homeward_local_date({r}.created_at, {p}.timezone)) - julianday({p}.release_date) "
                   "AS INTEGER)"}
# a message's part, as (person, day since release, text, answered), for the person `p` (now)
PART = """SELECT {p}.id AS participant_id, {since} AS d, {sign} * (CASE WHEN {r}.direction = 'in' THEN 1 ELSE 0 END) AS t,
       {sign} * (CASE WHEN {r}.direction = 'out' THEN 1 ELSE 0 END) AS a
{source} AND {p}.status <> 'merged' AND {p}.release_date IS NOT NULL AND {counted}"""
UPSERT = f"""INSERT INTO {TABLE} AS w (participant_id, week, texts, early, answered)
SELECT participant_id, d / 7, sum(t), sum(CASE WHEN d < 3 THEN t ELSE 0 END), sum(a) FROM ({{parts}}) AS c
WHERE d >= 0 AND d < {FOLLOWED_DAYS} GROUP BY participant_id, d / 7
HAVING sum(t) <> 0 OR sum(a) <> 0 ORDER BY participant_id, d / 7
ON CONFLICT (participant_id, week) DO UPDATE SET texts = w.texts + excluded.texts,
    early = w.early + excluded.early, answered = w.answered + excluded.answered"""


def _local_date(at, tz):
    """Frozen copy of db/checkins.local_date (as 0015_report_checkin_days registers it)."""
    try:
        when = at if isinstance(at, datetime) else datetime.fromisoformat(at)
        return when.replace(tzinfo=timezone.utc).astimezone(ZoneInfo(tz)).date().isoformat()
    except (TypeError, ValueError, KeyError, OSError):
        return None


def part(dialect: str, r: str, p: str, sign: int, source: str) -> str:
    return PART.format(p=p, r=r, sign=sign, source=source, since=SINCE[dialect].format(r=r, p=p),
                       counted=COUNTED.format(m=r, checkin=CHECKIN.format(m=r)))


def person_parts(dialect: str, p: str) -> str:
    """All of one person's messages, as the person `p` (OLD or NEW in a trigger) now is."""
    return part(dialect, "m", p, 1, f"FROM messages m WHERE m.participant_id = {p}.id")


def backfill(dialect: str) -> str:
    return UPSERT.format(parts=part(dialect, "m", "p", 1, "FROM messages m JOIN participants p ON p.id = "
                                                         "m.participant_id WHERE true"))


def _postgresql() -> list[str]:
    def rows(r: str, table: str, sign: int) -> str:
        return part("postgresql", r, "p", sign, f"FROM {table} {r} JOIN participants p ON p.id = {r}.participant_id "
                                                "WHERE true")
    parts = {"insert": rows("n", "new_rows", 1), "delete": rows("o", "old_rows", -1)}
    parts["update"] = parts["insert"] + " UNION ALL " + parts["delete"]
    tables = {"insert": "NEW TABLE AS new_rows", "delete": "OLD TABLE AS old_rows",
              "update": "OLD TABLE AS old_rows NEW TABLE AS new_rows"}
    out = []
    for op_name, sql in parts.items():
        out.append(f"""CREATE FUNCTION {TABLE}_{op_name}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    {UPSERT.format(parts=sql)};
    RETURN NULL;
END $$""")
        out.append(f"CREATE TRIGGER {TABLE}_{op_name} AFTER {op_name.upper()} ON messages "
                   f"REFERENCING {tables[op_name]} FOR EACH STATEMENT EXECUTE FUNCTION {TABLE}_{op_name}()")
    out.append(f"""CREATE FUNCTION {TABLE}_person() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM {TABLE} WHERE participant_id = OLD.id;
    {UPSERT.format(parts=person_parts("postgresql", "NEW"))};
    RETURN NULL;
END $$""")
    out.append(f"CREATE TRIGGER {TABLE}_person AFTER UPDATE OF release_date, timezone, status ON participants "
               f"FOR EACH ROW WHEN (OLD.release_date IS DISTINCT FROM NEW.release_date OR OLD.timezone IS DISTINCT "
               f"FROM NEW.timezone OR (OLD.status = 'merged') IS DISTINCT FROM (NEW.status = 'merged')) "
               f"EXECUTE FUNCTION {TABLE}_person()")
    return out


def _sqlite() -> list[str]:
    upsert = UPSERT.replace(" AS w (", " (")
    for col in ("texts", "early", "answered"):
        upsert = upsert.replace(f"= w.{col}", f"= {col}")     # no alias on a trigger's table

    def one(r: str, sign: int) -> str:
        return part("sqlite", r, "p", sign, f"FROM participants p WHERE p.id = {r}.participant_id")
    old = COUNTED.format(m="OLD", checkin=CHECKIN.format(m="OLD"))
    new = COUNTED.format(m="NEW", checkin=CHECKIN.format(m="NEW"))
    same = "OLD.participant_id = NEW.participant_id AND OLD.created_at = NEW.created_at AND OLD.direction = NEW.direction"
    return [
        f"CREATE TRIGGER {TABLE}_insert AFTER INSERT ON messages WHEN {new} BEGIN "
        f"{upsert.format(parts=one('NEW', 1))}; END",
        f"CREATE TRIGGER {TABLE}_delete AFTER DELETE ON messages WHEN {old} BEGIN "
        f"{upsert.format(parts=one('OLD', -1))}; END",
        f"CREATE TRIGGER {TABLE}_update AFTER UPDATE OF direction, kind, status, answered_at, participant_id, "
        f"created_at ON messages WHEN ({old} OR {new}) AND NOT ({old} AND {new} AND {same}) BEGIN "
        f"{upsert.format(parts=one('NEW', 1) + ' UNION ALL ' + one('OLD', -1))}; END",
        f"CREATE TRIGGER {TABLE}_person AFTER UPDATE OF release_date, timezone, status ON participants "
        f"WHEN OLD.release_date IS NOT NEW.release_date OR OLD.timezone IS NOT NEW.timezone "
        f"OR (OLD.status = 'merged') IS NOT (NEW.status = 'merged') BEGIN "
        f"DELETE FROM {TABLE} WHERE participant_id = OLD.id; {upsert.format(parts=person_parts('sqlite', 'NEW'))}; END",
    ]


def upgrade() -> None:
    bind = op.get_bind()
    op.create_table(TABLE, sa.Column("participant_id", sa.Integer(), nullable=False),
                    sa.Column("week", sa.Integer(), nullable=False), sa.Column("texts", sa.Integer(), nullable=False),
                    sa.Column("early", sa.Integer(), nullable=False), sa.Column("answered", sa.Integer(), nullable=False),
                    sa.PrimaryKeyConstraint("participant_id", "week", name=f"pk_{TABLE}"),
                    sqlite_with_rowid=False)     # SQLite: rows kept in key order, read from the key alone
    if bind.dialect.name == "sqlite":
        bind.connection.dbapi_connection.create_function("homeward_local_date", 2, _local_date)
    op.execute(backfill(bind.dialect.name))
    for sql in _sqlite() if bind.dialect.name == "sqlite" else _postgresql():
        op.execute(sql)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name in ("insert", "delete", "update", "person"):
            op.execute(f"DROP TRIGGER {TABLE}_{name}")
    else:
        for name in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER {TABLE}_{name} ON messages")
        op.execute(f"DROP TRIGGER {TABLE}_person ON participants")
        for name in ("insert", "delete", "update", "person"):
            op.execute(f"DROP FUNCTION {TABLE}_{name}()")
    op.drop_table(TABLE)
