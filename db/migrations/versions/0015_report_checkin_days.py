"""The report's check-ins by day since release from a kept summary: report_checkin_days, one row
per person's time zone, local day and release date with the check-ins sent and answered, kept by
triggers in the transaction of every write that changes one (a check-in sent, refused by the
carrier, answered, moved by a merge; a person's release date or time zone edited, a record
merged). The report
read every check-in of the period (O(check-ins), 500,000 at 180 days); it now reads a few
thousand rows. Triggers, not calls in the write paths: a check-in's status changes in eight
places (dispatch's intent, chat, hold, failure, crash, record; Twilio's status callback; the
runtime's mark), and one missed would drift the numbers silently.

The local day: PostgreSQL's own time zone conversion; SQLite has none, so the app registers
homeward_local_date (db/checkins.local_date) on each connection (db/session.make_engine), and
this migration registers a frozen copy for its backfill. A zone neither knows (or none stored)
gives no day: those check-ins are not kept here and the report counts them from the messages.

Revision ID: 0015_report_checkin_days
Revises: 0014_report_people
"""
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from alembic import op
import sqlalchemy as sa

revision = "0015_report_checkin_days"
down_revision = "0014_report_people"
branch_labels = None
depends_on = None

TABLE = "report_checkin_days"
CHECKIN = "{m}.direction = 'out' AND {m}.kind IN ('nudge', 'welcome') AND {m}.status NOT IN ('failed', 'undelivered')"
# the net change per key, upserted in key order (PostgreSQL: concurrent writers lock rows in one order)
UPSERT = f"""INSERT INTO {TABLE} AS d (timezone, day, release_date, sent, answered)
SELECT timezone, day, release_date, sum(n), sum(a) FROM ({{changes}}) AS c
WHERE release_date IS NOT NULL AND day IS NOT NULL GROUP BY timezone, day, release_date
HAVING sum(n) <> 0 OR sum(a) <> 0 ORDER BY timezone, day, release_date
ON CONFLICT (timezone, day, release_date) DO UPDATE SET sent = d.sent + excluded.sent,
    answered = d.answered + excluded.answered"""
# message rows' contributions, under their person's release date and zone now; `source` names
# the rows (PostgreSQL: a transition table; SQLite: the trigger's OLD or NEW) and the person `p`
ROWS = """SELECT p.timezone AS timezone, homeward_local_date({r}.created_at, p.timezone) AS day,
       CASE WHEN p.status = 'merged' THEN NULL ELSE p.release_date END AS release_date, {sign} AS n,
       {sign} * (CASE WHEN {r}.answered_at IS NULL THEN 0 ELSE 1 END) AS a
{source} AND {checkin}"""
# one person's check-ins, under a release date and zone given (an edit moves them; a merged
# record, whose history moved to the one it joined, is not counted, as the report leaves it out)
PERSON = """SELECT {p}.timezone AS timezone, homeward_local_date(m.created_at, {p}.timezone) AS day,
       CASE WHEN {p}.status = 'merged' THEN NULL ELSE {p}.release_date END AS release_date, {sign} AS n,
       {sign} * (CASE WHEN m.answered_at IS NULL THEN 0 ELSE 1 END) AS a
FROM messages m WHERE m.participant_id = {p}.id AND {checkin}"""
BACKFILL = f"""INSERT INTO {TABLE} (timezone, day, release_date, sent, answered)
SELECT timezone, day, release_date, count(*), count(answered_at) FROM (
    SELECT p.timezone AS timezone, homeward_local_date(m.created_at, p.timezone) AS day,
           p.release_date AS release_date, m.answered_at AS answered_at
    FROM messages m JOIN participants p ON p.id = m.participant_id
    WHERE p.release_date IS NOT NULL AND p.status <> 'merged' AND {CHECKIN.format(m="m")}) AS c
WHERE day IS NOT NULL GROUP BY timezone, day, release_date"""


def _local_date(at, tz):
    """Frozen copy of db/checkins.local_date: SQLite's stored UTC text -> the local date."""
    try:
        when = at if isinstance(at, datetime) else datetime.fromisoformat(at)
        return when.replace(tzinfo=timezone.utc).astimezone(ZoneInfo(tz)).date().isoformat()
    except (TypeError, ValueError, KeyError, OSError):
        return None


def _person_changed(p_old: str, p_new: str) -> str:
    return " UNION ALL ".join((PERSON.format(p=p_old, sign=-1, checkin=CHECKIN.format(m="m")),
                               PERSON.format(p=p_new, sign=1, checkin=CHECKIN.format(m="m"))))


def _postgresql() -> list[str]:
    out = ["""CREATE FUNCTION homeward_local_date(at timestamp, tz text) RETURNS date LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN ((at AT TIME ZONE 'UTC') AT TIME ZONE tz)::date;
EXCEPTION WHEN OTHERS THEN
    RETURN NULL;      -- a zone PostgreSQL does not know: not kept, the report counts it itself
END $$"""]
    def rows(r: str, table: str, sign: int) -> str:
        return ROWS.format(r=r, sign=sign, checkin=CHECKIN.format(m=r),
                           source=f"FROM {table} {r} JOIN participants p ON p.id = {r}.participant_id WHERE true")
    changes = {"insert": rows("n", "new_rows", 1), "delete": rows("o", "old_rows", -1)}
    changes["update"] = changes["insert"] + " UNION ALL " + changes["delete"]
    tables = {"insert": "NEW TABLE AS new_rows", "delete": "OLD TABLE AS old_rows",
              "update": "OLD TABLE AS old_rows NEW TABLE AS new_rows"}
    for op_name, sql in changes.items():
        out.append(f"""CREATE FUNCTION {TABLE}_{op_name}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    {UPSERT.format(changes=sql)};
    RETURN NULL;
END $$""")
        out.append(f"CREATE TRIGGER {TABLE}_{op_name} AFTER {op_name.upper()} ON messages "
                   f"REFERENCING {tables[op_name]} FOR EACH STATEMENT EXECUTE FUNCTION {TABLE}_{op_name}()")
    out.append(f"""CREATE FUNCTION {TABLE}_person() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    {UPSERT.format(changes=_person_changed("OLD", "NEW"))};
    RETURN NULL;
END $$""")
    out.append(f"CREATE TRIGGER {TABLE}_person AFTER UPDATE OF release_date, timezone, status ON participants "
               f"FOR EACH ROW WHEN (OLD.release_date IS DISTINCT FROM NEW.release_date OR OLD.timezone IS DISTINCT "
               f"FROM NEW.timezone OR (OLD.status = 'merged') IS DISTINCT FROM (NEW.status = 'merged')) "
               f"EXECUTE FUNCTION {TABLE}_person()")
    return out


def _sqlite() -> list[str]:
    upsert = (UPSERT.replace(" AS d (", " (").replace("= d.sent", "= sent")     # no alias on a trigger's table
              .replace("= d.answered", "= answered"))
    def one(r: str, sign: int) -> str:      # a row's contribution (SQLite triggers are per row)
        return ROWS.format(r=r, sign=sign, checkin=CHECKIN.format(m=r),
                           source=f"FROM participants p WHERE p.id = {r}.participant_id")
    old, new = CHECKIN.format(m="OLD"), CHECKIN.format(m="NEW")
    same = ("OLD.participant_id = NEW.participant_id AND OLD.created_at = NEW.created_at "
            "AND (OLD.answered_at IS NULL) = (NEW.answered_at IS NULL)")
    return [
        f"CREATE TRIGGER {TABLE}_insert AFTER INSERT ON messages WHEN {new} BEGIN "
        f"{upsert.format(changes=one('NEW', 1))}; END",
        f"CREATE TRIGGER {TABLE}_delete AFTER DELETE ON messages WHEN {old} BEGIN "
        f"{upsert.format(changes=one('OLD', -1))}; END",
        f"CREATE TRIGGER {TABLE}_update AFTER UPDATE OF direction, kind, status, answered_at, participant_id, "
        f"created_at ON messages WHEN (({old}) OR ({new})) AND NOT (({old}) AND ({new}) AND {same}) BEGIN "
        f"{upsert.format(changes=one('NEW', 1) + ' UNION ALL ' + one('OLD', -1))}; END",
        f"CREATE TRIGGER {TABLE}_person AFTER UPDATE OF release_date, timezone, status ON participants "
        f"WHEN OLD.release_date IS NOT NEW.release_date OR OLD.timezone IS NOT NEW.timezone "
        f"OR (OLD.status = 'merged') IS NOT (NEW.status = 'merged') BEGIN "
        f"{upsert.format(changes=_person_changed('OLD', 'NEW'))}; END",
    ]


def upgrade() -> None:
    bind = op.get_bind()
    op.create_table(TABLE, sa.Column("timezone", sa.String(64), nullable=False),
                    sa.Column("day", sa.Date(), nullable=False), sa.Column("release_date", sa.Date(), nullable=False),
                    sa.Column("sent", sa.Integer(), nullable=False), sa.Column("answered", sa.Integer(), nullable=False),
                    sa.PrimaryKeyConstraint("timezone", "day", "release_date", name=f"pk_{TABLE}"),
                    sqlite_with_rowid=False)     # SQLite: rows kept in key order, read from the key alone
    if bind.dialect.name == "sqlite":
        bind.connection.dbapi_connection.create_function("homeward_local_date", 2, _local_date)
        statements = _sqlite()
    else:
        statements = _postgresql()
        op.execute(statements.pop(0))       # the local date, before the backfill uses it
    op.execute(BACKFILL)
    for sql in statements:
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
        op.execute("DROP FUNCTION homeward_local_date(timestamp, text)")
    op.drop_table(TABLE)
