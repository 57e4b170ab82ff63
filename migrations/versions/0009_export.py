"""Incremental export: each ticket's place in the order of changes.

Revision ID: 0009
Revises: 0008

- ticket_changes: one row per ticket, deleted ones included, with `change_seq`, the outbox id of
  the ticket's latest change (its newest event), upserted in the transaction of the change.
  Outbox ids increase in commit order, so an export that has read up to N never later meets a
  change numbered N or less. A narrow table of its own, not a column of tickets: a second
  write of the wide, much-indexed tickets row on every change would double its index upkeep.
  Existing tickets take their newest event's id, or 0.
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "ticket_changes",
        sa.Column("ticket_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("change_seq", sa.BigInteger(), nullable=False),
        sa.Column("deleted", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.PrimaryKeyConstraint("ticket_id", name=op.f("pk_ticket_changes")),
    )
    op.create_index(
        "ix_ticket_changes_change_seq_ticket_id", "ticket_changes", ["change_seq", "ticket_id"]
    )
    op.execute(
        "INSERT INTO ticket_changes (ticket_id, change_seq, deleted) "
        "SELECT tickets.id, COALESCE((SELECT MAX(events.id) FROM events "
        "WHERE events.ticket_id = tickets.id), 0), false FROM tickets"
    )


def downgrade():
    op.drop_index("ix_ticket_changes_change_seq_ticket_id", table_name="ticket_changes")
    op.drop_table("ticket_changes")
