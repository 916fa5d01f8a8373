"""Indexes for the program report: a person's messages by time (reach and engagement after
release), tickets by when they opened and were resolved (the period's tickets)

Revision ID: 0010
Revises: 0003
"""
from alembic import op

revision = "0010"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_messages_participant_created", "messages", ["participant_id", "created_at"])
    op.create_index("ix_escalations_created_at", "escalations", ["created_at"])
    op.create_index("ix_escalations_resolved_at", "escalations", ["resolved_at"])


def downgrade() -> None:
    op.drop_index("ix_escalations_resolved_at", table_name="escalations")
    op.drop_index("ix_escalations_created_at", table_name="escalations")
    op.drop_index("ix_messages_participant_created", table_name="messages")
