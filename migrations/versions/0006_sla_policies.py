"""SLA calendars and policies; the default policy; tickets.sla_policy_id.

Revision ID: 0006
Revises: 0005

- sla_calendars: business hours (time zone, weekly intervals, holidays) of a desk.
- sla_policies: ordered conditions on tickets and the targets they get; at most one default
  (partial unique index). The default policy is inserted here with today's targets, read from
  the SLA_<PRIORITY>_RESPONSE/RESOLUTION_MINUTES settings exactly as config.py reads them, so
  existing tickets keep their due times.
- tickets.sla_policy_id: nullable, indexed, every existing ticket on the default policy. On
  SQLite the column is added with ALTER TABLE ADD COLUMN and an inline REFERENCES clause
  (SQLite allows that for a column whose default is NULL): a batch rebuild of tickets would
  lose its full-text triggers and the generated priority_rank column (see 0003 and 0004).
"""

import sqlalchemy as sa
from alembic import op

from config import Config

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

TICKET_FK = "fk_tickets_sla_policy_id_sla_policies"


def upgrade():
    op.create_table(
        "sla_calendars",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("time_zone", sa.String(length=64), nullable=False),
        sa.Column("working_hours", sa.JSON(), nullable=False),
        sa.Column("holidays", sa.JSON(), nullable=False),
        sa.Column("holiday_country", sa.String(length=8), nullable=True),
        sa.Column("holiday_subdivision", sa.String(length=16), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sla_calendars")),
        sa.UniqueConstraint("name", name=op.f("uq_sla_calendars_name")),
        sqlite_autoincrement=True,
    )
    policies = op.create_table(
        "sla_policies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("position", sa.Integer(), server_default="0", nullable=False),
        sa.Column("is_active", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("is_default", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("conditions", sa.JSON(), nullable=False),
        sa.Column("calendar_id", sa.Integer(), nullable=True),
        sa.Column("targets", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.ForeignKeyConstraint(["calendar_id"], ["sla_calendars.id"], name=op.f("fk_sla_policies_calendar_id_sla_calendars"), ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sla_policies")),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_sla_policies_calendar_id"), "sla_policies", ["calendar_id"])
    op.create_index(
        "uq_sla_policies_is_default",
        "sla_policies",
        ["is_default"],
        unique=True,
        postgresql_where=sa.text("is_default"),
        sqlite_where=sa.text("is_default"),
    )
    op.bulk_insert(
        policies,
        [
            {
                "name": "Default",
                "position": 0,
                "is_active": True,
                "is_default": True,
                "conditions": {},
                "calendar_id": None,
                "targets": default_targets(),
            }
        ],
    )

    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            "ALTER TABLE tickets ADD COLUMN sla_policy_id INTEGER "
            f"CONSTRAINT {TICKET_FK} REFERENCES sla_policies (id) ON DELETE RESTRICT"
        )
    else:
        op.add_column("tickets", sa.Column("sla_policy_id", sa.Integer(), nullable=True))
        op.create_foreign_key(
            TICKET_FK, "tickets", "sla_policies", ["sla_policy_id"], ["id"], ondelete="RESTRICT"
        )
    op.create_index(op.f("ix_tickets_sla_policy_id"), "tickets", ["sla_policy_id"])
    op.execute(
        "UPDATE tickets SET sla_policy_id = (SELECT id FROM sla_policies WHERE is_default)"
    )


def downgrade():
    op.drop_index(op.f("ix_tickets_sla_policy_id"), table_name="tickets")
    if op.get_bind().dialect.name == "postgresql":
        op.drop_constraint(TICKET_FK, "tickets", type_="foreignkey")
    # SQLite (3.35+) drops a column that only a column constraint refers to.
    op.drop_column("tickets", "sla_policy_id")
    op.drop_index("uq_sla_policies_is_default", table_name="sla_policies")
    op.drop_index(op.f("ix_sla_policies_calendar_id"), table_name="sla_policies")
    op.drop_table("sla_policies")
    op.drop_table("sla_calendars")


def default_targets() -> dict:
    """Today's targets (config.py reads them from the environment): the default policy's."""
    return {
        priority: {"response_minutes": response, "resolution_minutes": resolution}
        for priority, (response, resolution) in Config.SLA_TARGETS.items()
    }
