"""The queue's language filter from an index: the tab counts visit every open ticket whose
person speaks the language, and without an index on participants' language both databases
read every person to find them (SQLite then looked each one's tickets up; PostgreSQL hashed
them). With (language, id) the people of one language are an index range, ids included.

Revision ID: 0016_inbox_language
Revises: 0015_report_person_weeks (re-chained at merge after the report summaries)
"""
from alembic import op

revision = "0016_inbox_language"
down_revision = "0015_report_person_weeks"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_participants_language", "participants", ["language", "id"])


def downgrade() -> None:
    op.drop_index("ix_participants_language", table_name="participants")
