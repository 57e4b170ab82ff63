"""Login sessions, the per-user stream count, ids never reused, and control events.

Revision ID: 0004
Revises: 0003

- auth_sessions replaces revoked_tokens: every token carries its session's id and is good only
  while that row lives and has not ended. The rows go with their user, so a deleted user's
  tokens can never authenticate anyone, also not a later user given the same id.
- event_streams counts the open event streams of each user across workers and hosts.
- SQLite hands out max(id) + 1 unless a table is AUTOINCREMENT, so a deleted user's id went to
  the next user created. Every table with an integer id is rebuilt as AUTOINCREMENT (SQLite
  cannot alter a primary key in place); PostgreSQL's sequences never reuse ids.
- events.ticket_id and requester_id become nullable for the service's own control events
  (`session.ended`, which end open streams on every worker); `public_payload` holds SQL NULL
  instead of JSON null where the requester may not see an event, so replay filters in SQL.
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

AUTOINCREMENT_TABLES = (
    "users",
    "agents",
    "tickets",
    "ticket_messages",
    "ticket_activities",
    "idempotency_keys",
)


def upgrade():
    op.drop_table("revoked_tokens")
    op.create_table(
        "auth_sessions",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_auth_sessions_user_id_users"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_auth_sessions")),
    )
    op.create_index(op.f("ix_auth_sessions_user_id"), "auth_sessions", ["user_id"])
    op.create_index(op.f("ix_auth_sessions_expires_at"), "auth_sessions", ["expires_at"])
    op.create_table(
        "event_streams",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_event_streams_user_id_users"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_event_streams")),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_event_streams_user_id_expires_at", "event_streams", ["user_id", "expires_at"])

    op.execute("UPDATE events SET public_payload = NULL WHERE CAST(public_payload AS TEXT) = 'null'")
    if op.get_bind().dialect.name == "sqlite":
        for table in AUTOINCREMENT_TABLES:
            _rebuild_sqlite_table(table, _autoincrement_id(table))
        _rebuild_sqlite_table(
            "events",
            {
                "ticket_id INTEGER NOT NULL,": "ticket_id INTEGER,",
                "requester_id INTEGER NOT NULL,": "requester_id INTEGER,",
            },
        )
    else:
        op.alter_column("events", "ticket_id", existing_type=sa.Integer(), nullable=True)
        op.alter_column("events", "requester_id", existing_type=sa.Integer(), nullable=True)
    op.drop_index("ix_events_ticket_id", table_name="events")
    op.create_index("ix_events_ticket_id_id", "events", ["ticket_id", "id"])
    op.create_index("ix_events_requester_id_id", "events", ["requester_id", "id"])


def downgrade():
    op.drop_index("ix_events_requester_id_id", table_name="events")
    op.drop_index("ix_events_ticket_id_id", table_name="events")
    op.create_index("ix_events_ticket_id", "events", ["ticket_id"])
    op.execute("DELETE FROM events WHERE ticket_id IS NULL")
    with op.batch_alter_table("events", table_kwargs={"sqlite_autoincrement": True}) as batch_op:
        batch_op.alter_column("ticket_id", existing_type=sa.Integer(), nullable=False)
        batch_op.alter_column("requester_id", existing_type=sa.Integer(), nullable=False)
    op.drop_index("ix_event_streams_user_id_expires_at", table_name="event_streams")
    op.drop_table("event_streams")
    op.drop_table("auth_sessions")
    op.create_table(
        "revoked_tokens",
        sa.Column("jti", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_revoked_tokens_user_id_users"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("jti", name=op.f("pk_revoked_tokens")),
    )
    op.create_index(op.f("ix_revoked_tokens_expires_at"), "revoked_tokens", ["expires_at"])
    op.create_index(op.f("ix_revoked_tokens_user_id"), "revoked_tokens", ["user_id"])


def _autoincrement_id(table: str) -> dict[str, str]:
    return {
        "( id INTEGER NOT NULL,": f"( id INTEGER NOT NULL CONSTRAINT pk_{table} PRIMARY KEY AUTOINCREMENT,",
        f"CONSTRAINT pk_{table} PRIMARY KEY (id),": "",
    }


def _rebuild_sqlite_table(table: str, replacements: dict[str, str]) -> None:
    """SQLite's way to change a table's definition: a new table from the old one's SQL with
    `replacements` made, the rows copied (ids kept), the old one dropped, the new one renamed,
    then the old one's indexes and triggers (the full-text ones on tickets) made again.
    Alembic's batch mode would rebuild the table from reflection, which loses the generated
    priority_rank column and the partial index. Foreign keys are off meanwhile (env.py)."""
    bind = op.get_bind()
    create_sql = bind.scalar(
        sa.text("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = :name"),
        {"name": table},
    )
    others = bind.execute(
        sa.text(
            "SELECT sql FROM sqlite_master WHERE type IN ('index', 'trigger') "
            "AND tbl_name = :name AND sql IS NOT NULL"
        ),
        {"name": table},
    ).scalars().all()
    new_sql = " ".join(create_sql.split())  # one space between tokens, whatever the layout
    for old, new in replacements.items():
        if new_sql.count(old) != 1:
            raise RuntimeError(f"{table}: expected {old!r} once in {create_sql!r}")
        new_sql = new_sql.replace(old, new)
    prefix = f"CREATE TABLE {table} ("
    if not new_sql.startswith(prefix):
        raise RuntimeError(f"{table}: unexpected definition {create_sql!r}")
    new_sql = f"CREATE TABLE _new_{table} (" + new_sql[len(prefix):]
    # Generated columns (hidden 2 or 3) are computed, not copied.
    columns = [
        row[1] for row in bind.exec_driver_sql(f"PRAGMA table_xinfo({table})") if row[6] == 0
    ]
    column_list = ", ".join(columns)
    op.execute(new_sql)
    op.execute(f"INSERT INTO _new_{table} ({column_list}) SELECT {column_list} FROM {table}")
    op.execute(f"DROP TABLE {table}")
    op.execute(f"ALTER TABLE _new_{table} RENAME TO {table}")
    for sql in others:
        op.execute(sql)
