"""The e-mail channel: users.email_notifications, mails, inbound_emails.

Revision ID: 0008
Revises: 0007

- users.email_notifications: whether a user gets notification mails (default true). Added with
  ALTER TABLE ADD COLUMN on both databases (a constant default needs no table rebuild).
- mails: one notification per (event, recipient), rendered, with its attempts.
- inbound_emails: the Message-IDs of mail taken in, so that a mail posted twice counts once.
- The `mail` outbox position starts at the newest event: upgrading does not mail anybody about
  what happened before mail existed.
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

PENDING = sa.text("status = 'pending'")


def upgrade():
    op.add_column(
        "users",
        sa.Column("email_notifications", sa.Boolean(), server_default=sa.true(), nullable=False),
    )
    op.create_table(
        "mails",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.BigInteger(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("recipient_id", sa.Integer(), nullable=False),
        sa.Column("recipient", sa.String(length=254), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("message_id", sa.String(length=255), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), server_default="pending", nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('pending', 'sent', 'failed')", name=op.f("ck_mails_status")
        ),
        sa.ForeignKeyConstraint(
            ["recipient_id"],
            ["users.id"],
            name=op.f("fk_mails_recipient_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mails")),
        sa.UniqueConstraint("event_id", "recipient_id", name="uq_mails_event_recipient"),
        sqlite_autoincrement=True,
    )
    op.create_index(
        "ix_mails_due", "mails", ["next_attempt_at"], postgresql_where=PENDING, sqlite_where=PENDING
    )
    op.create_index("ix_mails_message_id", "mails", ["message_id"], unique=True)
    op.create_index("ix_mails_ticket_id", "mails", ["ticket_id"])
    op.create_table(
        "inbound_emails",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.String(length=255), nullable=False),
        sa.Column("sender", sa.String(length=254), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=True),
        sa.Column("ticket_message_id", sa.Integer(), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbound_emails")),
        sa.UniqueConstraint("message_id", name="uq_inbound_emails_message_id"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_inbound_emails_ticket_id", "inbound_emails", ["ticket_id"])
    op.execute(
        "INSERT INTO outbox_positions (name, event_id, updated_at) "
        "SELECT 'mail', COALESCE(MAX(id), 0), CURRENT_TIMESTAMP FROM events"
    )


def downgrade():
    op.execute("DELETE FROM outbox_positions WHERE name = 'mail'")
    op.drop_index("ix_inbound_emails_ticket_id", table_name="inbound_emails")
    op.drop_table("inbound_emails")
    op.drop_index("ix_mails_ticket_id", table_name="mails")
    op.drop_index("ix_mails_message_id", table_name="mails")
    op.drop_index("ix_mails_due", table_name="mails")
    op.drop_table("mails")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("email_notifications")
