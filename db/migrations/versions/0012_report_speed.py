"""The program report within its budget: check-ins answered recorded on the check-in
(messages.answered_at, backfilled from the messages already stored) and two covering indexes,
a person's messages by direction and time (reach and engagement windows) and the period's
messages by direction and time (check-ins sent and answered)

Revision ID: 0012_report_speed
Revises: 0011_staff_phone
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy import and_, exists, func, or_, select, update

revision = "0012_report_speed"
down_revision = "0011_staff_phone"
branch_labels = None
depends_on = None

COVERING = ("kind", "status", "answered_at")

# A frozen copy of db/checkins.recount_answered as it was at this revision: a migration runs the
# statements of its own time, whatever the live code becomes (the rule: 24 hours, and no later
# than the next check-in; check-ins the carrier refused are not check-ins).
CHECKIN_KINDS = ("nudge", "welcome")
NOT_SENT = ("failed", "undelivered")
WINDOW_SECONDS = 24 * 3600
MESSAGES = sa.table("messages", sa.column("id", sa.Integer), sa.column("participant_id", sa.Integer),
                    sa.column("direction", sa.String), sa.column("kind", sa.String),
                    sa.column("status", sa.String), sa.column("created_at", sa.DateTime),
                    sa.column("answered_at", sa.DateTime))


def _is_checkin(m):
    return and_(m.c.direction == "out", m.c.kind.in_(CHECKIN_KINDS), m.c.status.not_in(NOT_SENT))


def _plus_window(column, dialect: str):
    """`column` + 24 hours exactly (SQLite: the six fraction digits carried over as text)."""
    if dialect == "sqlite":
        return (func.strftime("%Y-%m-%d %H:%M:%S", column, f"+{WINDOW_SECONDS} seconds")
                .op("||")(func.substr(column, 20)))
    return column + sa.text(f"interval '{WINDOW_SECONDS} seconds'")


def recount_answered(conn) -> None:
    n, r, nxt = MESSAGES, MESSAGES.alias("reply"), MESSAGES.alias("next_checkin")
    later = or_(nxt.c.created_at > n.c.created_at, and_(nxt.c.created_at == n.c.created_at, nxt.c.id > n.c.id))
    first_reply = (select(func.min(r.c.created_at))
                   .where(r.c.participant_id == n.c.participant_id, r.c.direction == "in",
                          r.c.created_at > n.c.created_at,
                          r.c.created_at <= _plus_window(n.c.created_at, conn.dialect.name),
                          ~exists().where(nxt.c.participant_id == n.c.participant_id, _is_checkin(nxt), later,
                                          nxt.c.created_at < r.c.created_at).correlate(n, r))
                   .correlate(n).scalar_subquery())
    conn.execute(update(n).where(_is_checkin(n)).values(answered_at=first_reply))


def upgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("answered_at", sa.DateTime(), nullable=True))
    op.create_index("ix_messages_report_person", "messages",
                    ["participant_id", "direction", "created_at", *COVERING])
    op.create_index("ix_messages_report_sent", "messages",
                    ["direction", "created_at", "participant_id", *COVERING])
    recount_answered(op.get_bind())


def downgrade() -> None:
    op.drop_index("ix_messages_report_sent", table_name="messages")
    op.drop_index("ix_messages_report_person", table_name="messages")
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("answered_at")
