"""users.session_version (revocable sign-in sessions) and token_participants (what an API
token may see)

Revision ID: 0007
Revises: 0003
"""
from alembic import op
import sqlalchemy as sa

revision = "0007"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("session_version", sa.Integer(), nullable=False, server_default="0"))
    op.create_table(
        "token_participants",
        sa.Column("token_id", sa.Integer(), nullable=False),
        sa.Column("participant_id", sa.Integer(), nullable=False),
        sa.Column("how", sa.String(length=10), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["token_id"], ["api_tokens.id"],
                                name=op.f("fk_token_participants_token_id_api_tokens")),
        sa.ForeignKeyConstraint(["participant_id"], ["participants.id"],
                                name=op.f("fk_token_participants_participant_id_participants")),
        sa.PrimaryKeyConstraint("token_id", "participant_id", name=op.f("pk_token_participants")),
    )
    op.create_index(op.f("ix_token_participants_participant_id"), "token_participants", ["participant_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_token_participants_participant_id"), table_name="token_participants")
    op.drop_table("token_participants")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("session_version")
