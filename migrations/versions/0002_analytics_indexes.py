"""Indexes for the reports: open tickets by age, and tickets by resolution time.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 03:30:00.000000

Measured with bench/analytics.py at 1,000,000 tickets (see bench/README.md):

- ix_tickets_open_created_at: the open tickets (open, in_progress, pending), by created_at.
  Aging reads every open ticket (about 30% of the desk) and its five oldest; agent performance
  counts each agent's open ones. Partial on both databases. On PostgreSQL it also carries
  (INCLUDE) the columns those reports group or filter by, so that they are index-only scans of a
  small index instead of a bitmap heap scan of a third of the table; SQLite has no INCLUDE.
- ix_tickets_resolved_at_created_at: volume's `resolved` per period (a range of resolved_at),
  and its opening backlog, counted as "unresolved and created before `from`" (resolved_at IS
  NULL, then a range of created_at) plus "resolved since `from`, created before it" (a range of
  resolved_at), index-only on PostgreSQL. Plain, on both databases.

Both are declared in app/models/ticket.py, so that `flask db check` sees no drift; autogenerate
compares index names and key columns only, not WHERE or INCLUDE.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

OPEN = "status IN ('open', 'in_progress', 'pending')"
OPEN_INCLUDE = ["priority", "category", "status", "assigned_agent_id"]


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.create_index(
            "ix_tickets_open_created_at",
            "tickets",
            ["created_at"],
            unique=False,
            postgresql_where=sa.text(OPEN),
            postgresql_include=OPEN_INCLUDE,
        )
    else:
        op.create_index(
            "ix_tickets_open_created_at",
            "tickets",
            ["created_at"],
            unique=False,
            sqlite_where=sa.text(OPEN),
        )
    op.create_index(
        "ix_tickets_resolved_at_created_at",
        "tickets",
        ["resolved_at", "created_at"],
        unique=False,
    )


def downgrade():
    op.drop_index("ix_tickets_resolved_at_created_at", table_name="tickets")
    op.drop_index("ix_tickets_open_created_at", table_name="tickets")
