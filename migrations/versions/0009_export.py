"""Incremental export: each ticket's place in the order of changes, and deleted tickets.

Revision ID: 0009
Revises: 0008

- tickets.change_seq: the outbox id of the ticket's latest change (its newest event), set in
  the transaction of the change. Outbox ids increase in commit order, so an export that has
  read up to N never later meets a change numbered N or less. Existing tickets take their
  newest event's id, or 0 (ADD COLUMN with a constant default: no table rebuild on SQLite).
- ticket_tombstones: deleted tickets, numbered the same way, for the export's
  `{"id", "deleted": true}` items.
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column(
        "tickets", sa.Column("change_seq", sa.BigInteger(), server_default="0", nullable=False)
    )
    op.execute(
        "UPDATE tickets SET change_seq = COALESCE("
        "(SELECT MAX(events.id) FROM events WHERE events.ticket_id = tickets.id), 0)"
    )
    op.create_index("ix_tickets_change_seq_id", "tickets", ["change_seq", "id"])
    op.create_table(
        "ticket_tombstones",
        sa.Column("ticket_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("change_seq", sa.BigInteger(), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("ticket_id", name=op.f("pk_ticket_tombstones")),
    )
    op.create_index(
        op.f("ix_ticket_tombstones_change_seq"), "ticket_tombstones", ["change_seq"]
    )


def downgrade():
    op.drop_index(op.f("ix_ticket_tombstones_change_seq"), table_name="ticket_tombstones")
    op.drop_table("ticket_tombstones")
    op.drop_index("ix_tickets_change_seq_id", table_name="tickets")
    op.drop_column("tickets", "change_seq")
