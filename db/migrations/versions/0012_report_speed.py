"""The program report within its budget: check-ins answered recorded on the check-in
(messages.answered_at, backfilled from the messages already stored) and two covering indexes,
a person's messages by direction and time (reach and engagement windows) and the period's
messages by direction and time (check-ins sent and answered)

Revision ID: 0012_report_speed
Revises: 0011_staff_phone
"""
from alembic import op
import sqlalchemy as sa

from db.checkins import recount_answered

revision = "0012_report_speed"
down_revision = "0011_staff_phone"
branch_labels = None
depends_on = None

COVERING = ("kind", "status", "answered_at")


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
