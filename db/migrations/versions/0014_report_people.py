"""The report's people by release date: reach and engagement join the people released on each
day to that day's windows after release, and without an index SQLite scanned every person
against every window (10,000 x 116 at 30 days); covering, so the join reads the index only

Revision ID: 0014_report_people
Revises: 0013_inbox_search
"""
from alembic import op

revision = "0014_report_people"
down_revision = "0013_inbox_search"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_participants_report_release", "participants",
                    ["release_date", "timezone", "status", "id"])


def downgrade() -> None:
    op.drop_index("ix_participants_report_release", table_name="participants")
