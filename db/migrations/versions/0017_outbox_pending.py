"""The outbox claim from an index in its own order (PostgreSQL): the pending rows by (due_at, id),
partial on state = 'pending'. The claim was one OR of "pending and due" and "claimed with an
expired lease", ordered by (due_at, id): no index serves that order, so PostgreSQL read and
sorted every open row for each claim of 50 (4.5 ms at 10,000 open rows, growing with the
queue, and every worker sorting the same rows), then read the whole table again to match the
ids. It is now two branches (scheduler/dispatch.py claim()): the expired leases from
ix_scheduled_messages_due (state, due_at; only the rows in flight are 'claimed'), then the
pending and due rows read from this index in order, stopping at the batch (0.7 ms at 10,000
rows). Partial, so a row leaves it when claimed, and the lease renewals (claimed_until only)
can stay HOT. SQLite needs none: its (state, due_at) index ends with the rowid, so
state = 'pending' is already read in (due_at, id) order. The staff texts' outbox (a handful of
rows) keeps its (state, due_at) index.

Revision ID: 0017_outbox_pending
Revises: 0016_inbox_language
"""
from alembic import op
import sqlalchemy as sa

revision = "0017_outbox_pending"
down_revision = "0016_inbox_language"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.create_index("ix_scheduled_messages_pending", "scheduled_messages", ["due_at", "id"],
                        postgresql_where=sa.text("state = 'pending'"))


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index("ix_scheduled_messages_pending", table_name="scheduled_messages")
