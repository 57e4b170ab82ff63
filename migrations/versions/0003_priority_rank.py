"""tickets.priority_rank: the priority's severity as a generated column, indexed with id.

Revision ID: 0003
Revises: 0002

`GET /api/tickets?sort=-priority` sorted by a CASE expression, which no index serves: at 100,000
tickets every request sorted all matching rows (bench/http.py). A generated column keeps the
rank in step with `priority` without any application code; PostgreSQL stores it, SQLite computes
it on read (SQLite can add only VIRTUAL generated columns without rebuilding the table, which
would drop the full-text triggers).
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

RANK = (
    "CASE priority WHEN 'low' THEN 0 WHEN 'medium' THEN 1 WHEN 'high' THEN 2 "
    "WHEN 'critical' THEN 3 END"
)


def upgrade():
    kind = "STORED" if op.get_bind().dialect.name == "postgresql" else "VIRTUAL"
    op.execute(
        f"ALTER TABLE tickets ADD COLUMN priority_rank INTEGER GENERATED ALWAYS AS ({RANK}) {kind}"
    )
    op.create_index("ix_tickets_priority_rank_id", "tickets", ["priority_rank", "id"])


def downgrade():
    op.drop_index("ix_tickets_priority_rank_id", table_name="tickets")
    op.drop_column("tickets", "priority_rank")
