"""Urgent tickets past their SLA text the supervisors on shift: a staff member's own phone
number, and the outbox for texts to staff (one row per staff member and ticket, so a sweep run
twice, or after a crash, queues nothing new); and the queue's order index, which also holds what
its views filter on, so a deep page of 10,000 open tickets walks the index instead of sorting them

Revision ID: 0011_staff_phone
Revises: 0010
"""
from alembic import op
import sqlalchemy as sa

revision = "0011_staff_phone"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("phone", sa.String(length=20), nullable=True))
    op.create_table(
        "staff_texts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("escalation_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("dedupe_key", sa.String(length=80), nullable=False),
        sa.Column("due_at", sa.DateTime(), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("claimed_by", sa.String(length=80), nullable=True),
        sa.Column("claimed_until", sa.DateTime(), nullable=True),
        sa.Column("provider_sid", sa.String(length=64), nullable=True),
        sa.Column("last_error", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_staff_texts_user_id_users"),
        sa.ForeignKeyConstraint(["escalation_id"], ["escalations.id"], name="fk_staff_texts_escalation_id_escalations"),
        sa.PrimaryKeyConstraint("id", name="pk_staff_texts"),
        sa.UniqueConstraint("user_id", "dedupe_key", name="uq_staff_texts_dedupe"),
    )
    op.create_index("ix_staff_texts_due", "staff_texts", ["state", "due_at"])
    op.create_index("ix_staff_texts_escalation_id", "staff_texts", ["escalation_id"])
    op.create_index("ix_escalations_queue_order", "escalations",
                    ["status", "priority_rank", "sla_due_at", "id", "snoozed_until", "assignee_id",
                     "first_response_at", "reason"])
    op.drop_index("ix_escalations_queue", table_name="escalations")     # its first three columns


def downgrade() -> None:
    op.create_index("ix_escalations_queue", "escalations", ["status", "priority_rank", "sla_due_at"])
    op.drop_index("ix_escalations_queue_order", table_name="escalations")
    op.drop_index("ix_staff_texts_escalation_id", table_name="staff_texts")
    op.drop_index("ix_staff_texts_due", table_name="staff_texts")
    op.drop_table("staff_texts")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("phone")
