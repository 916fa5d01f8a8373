"""the peer inbox: the alert sound preference, when a ticket was claimed and until when it
is snoozed, who has a person open (collision), and the indexes behind the
queue's preview of each person's last text, its counts and the urgent-alert poll

Revision ID: 0008
Revises: 0003
"""
from alembic import op
import sqlalchemy as sa


revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("alert_sound", sa.Boolean(), nullable=False, server_default=sa.true()))
    with op.batch_alter_table("escalations") as batch:
        batch.add_column(sa.Column("claimed_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("snoozed_until", sa.DateTime(), nullable=True))
    op.create_index("ix_messages_person_direction", "messages", ["participant_id", "direction", "id"])
    op.create_index("ix_escalations_waiting", "escalations",
                    ["status", "assignee_id", "snoozed_until", "first_response_at"])
    op.create_index("ix_escalations_snoozed", "escalations", ["snoozed_until", "status"])
    op.create_index("ix_escalations_alerts", "escalations",
                    ["status", "priority_rank", "first_response_at", "snoozed_until", "id"])
    op.create_table(
        "staff_presence",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("participant_id", sa.Integer(), nullable=False),
        sa.Column("replying", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("seen_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_staff_presence_user_id_users"),
        sa.ForeignKeyConstraint(["participant_id"], ["participants.id"],
                                name="fk_staff_presence_participant_id_participants"),
        sa.PrimaryKeyConstraint("user_id", "participant_id", name="pk_staff_presence"),
    )
    op.create_index("ix_staff_presence_participant_id", "staff_presence", ["participant_id"])


def downgrade() -> None:
    op.drop_index("ix_staff_presence_participant_id", table_name="staff_presence")
    op.drop_table("staff_presence")
    op.drop_index("ix_escalations_alerts", table_name="escalations")
    op.drop_index("ix_escalations_snoozed", table_name="escalations")
    op.drop_index("ix_escalations_waiting", table_name="escalations")
    op.drop_index("ix_messages_person_direction", table_name="messages")
    with op.batch_alter_table("escalations") as batch:
        batch.drop_column("snoozed_until")
        batch.drop_column("claimed_at")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("alert_sound")
