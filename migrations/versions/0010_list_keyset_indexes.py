"""Indexes that make every ticket list sort a keyset scan: (sort key, id).

Revision ID: 0010
Revises: 0009

Lists are ordered by their sort key and then by id, and a cursor page reads the rows after
the previous page's last (key, id) pair. With an index on exactly that pair the database
reads the page's rows from the index in order, at any depth; with an index on the key alone
it must sort every tied row by id first. `priority_rank, id` exists since 0003. The status
rank is an expression index on the same CASE text the list sorts by
(app/services/tickets.py), so that PostgreSQL matches it.
"""

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

STATUS_RANK = (
    "CASE status WHEN 'open' THEN 0 WHEN 'in_progress' THEN 1 WHEN 'pending' THEN 2 "
    "WHEN 'resolved' THEN 3 WHEN 'closed' THEN 4 END"
)
COLUMN_INDEXES = {
    "ix_tickets_created_at_id": "created_at",
    "ix_tickets_updated_at_id": "updated_at",
    "ix_tickets_resolution_due_at_id": "resolution_due_at",
}


def upgrade():
    for name, column in COLUMN_INDEXES.items():
        op.create_index(name, "tickets", [column, "id"])
    op.execute(f"CREATE INDEX ix_tickets_status_rank_id ON tickets (({STATUS_RANK}), id)")


def downgrade():
    op.execute("DROP INDEX ix_tickets_status_rank_id")
    for name in COLUMN_INDEXES:
        op.drop_index(name, table_name="tickets")
