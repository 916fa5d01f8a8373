"""The inbox's search by first name from an index: lower(first_name), which the search compares,
so a prefix reads the few people it names instead of every person. On PostgreSQL with
text_pattern_ops, the operator class LIKE 'abc%' can use whatever the database's collation;
SQLite uses it for the query's range on the lowered name (its LIKE cannot use an expression
index). And on PostgreSQL the last 4 digits of a number, from reverse(address): the reversed
digits are a prefix the same operator class can look up (SQLite has no reverse(); it reads the
contacts, in-process, in a few milliseconds).

Revision ID: 0013_inbox_search
Revises: 0012_report_speed
"""
from alembic import op
import sqlalchemy as sa

revision = "0013_inbox_search"
down_revision = "0012_report_speed"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pg = op.get_bind().dialect.name == "postgresql"
    ops = " text_pattern_ops" if pg else ""
    op.create_index("ix_participants_first_name_lower", "participants", [sa.text(f"lower(first_name){ops}")])
    if pg:
        op.create_index("ix_contacts_address_reversed", "contacts", [sa.text("reverse(address) text_pattern_ops")])


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index("ix_contacts_address_reversed", table_name="contacts")
    op.drop_index("ix_participants_first_name_lower", table_name="participants")
