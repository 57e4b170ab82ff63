"""Tickets store when their SLA clocks become at risk, and which alerts they have had.

Revision ID: 0007
Revises: 0006

- tickets.response_at_risk_at, tickets.resolution_at_risk_at: the first instant each clock has
  less than a quarter of its target left, in the policy's business time, so that the
  `at_risk` filter and reports compare instants in SQL. Existing tickets were all computed
  24/7 from the SLA_* settings, so their instants follow from their stored due times alone.
- tickets.sla_response_alert, tickets.sla_resolution_alert (NULL, 'warning', 'breached'): the
  alerts already emitted for each clock; tickets.sla_next_alert_at: when the scan must look at
  the ticket next (partial index: the scan reads only tickets with an alert to come). Clocks of
  open tickets already at risk or breached are marked as alerted, so upgrading does not send a
  burst of stale alerts; the first scan then works out each ticket's next alert.
- sla_recomputes: rule changes whose recompute of many open tickets the worker still owes.
- ticket_activities: actor_id nullable (the SLA scan acts for nobody) and the new actions
  sla_policy_changed, sla_warning and sla_breached.

SQLite cannot alter a column or a CHECK constraint in place: those two tables are rebuilt from
their own SQL with the changes made, keeping the full-text triggers, the generated priority_rank
column and the partial indexes that Alembic's batch mode would lose.
"""

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import op

from app.models.types import UTCDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

OLD_ACTIONS = (
    "created",
    "status_changed",
    "priority_changed",
    "category_changed",
    "assigned",
    "unassigned",
    "title_changed",
    "description_changed",
    "reopened",
    "message_edited",
    "message_deleted",
)
NEW_ACTIONS = (*OLD_ACTIONS, "sla_policy_changed", "sla_warning", "sla_breached")
ALERTS = ("warning", "breached")
OPEN_STATUSES = ("open", "in_progress", "pending")
BATCH = 5000
TICK = timedelta(microseconds=1)

tickets = sa.table(
    "tickets",
    sa.column("id", sa.Integer),
    sa.column("status", sa.String),
    sa.column("created_at", UTCDateTime),
    sa.column("first_response_at", UTCDateTime),
    sa.column("response_due_at", UTCDateTime),
    sa.column("resolution_due_at", UTCDateTime),
    sa.column("sla_paused_seconds", sa.Integer),
    sa.column("sla_paused_at", UTCDateTime),
    sa.column("response_at_risk_at", UTCDateTime),
    sa.column("resolution_at_risk_at", UTCDateTime),
    sa.column("sla_response_alert", sa.String),
    sa.column("sla_resolution_alert", sa.String),
    sa.column("sla_next_alert_at", UTCDateTime),
)


def _in(column: str, values: tuple) -> str:
    return f"{column} IN ({', '.join(repr(value) for value in values)})"


def upgrade():
    op.create_table(
        "sla_recomputes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("requested_by_id", sa.Integer(), nullable=True),
        sa.Column(
            "requested_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["requested_by_id"],
            ["users.id"],
            name=op.f("fk_sla_recomputes_requested_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sla_recomputes")),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_sla_recomputes_done_at"), "sla_recomputes", ["done_at"])
    for name in ("response_at_risk_at", "resolution_at_risk_at", "sla_next_alert_at"):
        op.add_column("tickets", sa.Column(name, sa.DateTime(timezone=True), nullable=True))
    for name in ("sla_response_alert", "sla_resolution_alert"):
        op.add_column("tickets", sa.Column(name, sa.String(length=16), nullable=True))
    _fill_instants()
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        first_check = "CONSTRAINT ck_tickets_category CHECK"
        alert_checks = "".join(
            f"CONSTRAINT ck_tickets_{name} CHECK ({name} IS NULL OR {_in(name, ALERTS)}), "
            for name in ("sla_response_alert", "sla_resolution_alert")
        )
        _rebuild_sqlite_table(
            "tickets",
            {
                "response_at_risk_at DATETIME,": "response_at_risk_at DATETIME NOT NULL,",
                "resolution_at_risk_at DATETIME,": "resolution_at_risk_at DATETIME NOT NULL,",
                first_check: alert_checks + first_check,
            },
        )
        _rebuild_sqlite_table(
            "ticket_activities",
            {
                "actor_id INTEGER NOT NULL,": "actor_id INTEGER,",
                f"CHECK ({_in('action', OLD_ACTIONS)})": f"CHECK ({_in('action', NEW_ACTIONS)})",
            },
        )
    else:
        for name in ("response_at_risk_at", "resolution_at_risk_at"):
            op.alter_column(
                "tickets", name, existing_type=sa.DateTime(timezone=True), nullable=False
            )
        for name in ("sla_response_alert", "sla_resolution_alert"):
            op.create_check_constraint(
                op.f(f"ck_tickets_{name}"), "tickets", f"{name} IS NULL OR {_in(name, ALERTS)}"
            )
        op.alter_column("ticket_activities", "actor_id", existing_type=sa.Integer(), nullable=True)
        op.drop_constraint(op.f("ck_ticket_activities_action"), "ticket_activities", type_="check")
        op.create_check_constraint(
            op.f("ck_ticket_activities_action"), "ticket_activities", _in("action", NEW_ACTIONS)
        )
    op.create_index(
        "ix_tickets_sla_next_alert_at",
        "tickets",
        ["sla_next_alert_at"],
        postgresql_where=sa.text("sla_next_alert_at IS NOT NULL"),
        sqlite_where=sa.text("sla_next_alert_at IS NOT NULL"),
    )


def downgrade():
    op.drop_index("ix_tickets_sla_next_alert_at", table_name="tickets")
    # System activities have no actor to give back to a NOT NULL column.
    op.execute(
        "DELETE FROM ticket_activities WHERE actor_id IS NULL OR "
        + _in("action", ("sla_policy_changed", "sla_warning", "sla_breached"))
    )
    if op.get_bind().dialect.name == "sqlite":
        _rebuild_sqlite_table(
            "ticket_activities",
            {
                "actor_id INTEGER,": "actor_id INTEGER NOT NULL,",
                f"CHECK ({_in('action', NEW_ACTIONS)})": f"CHECK ({_in('action', OLD_ACTIONS)})",
            },
        )
        for name in ("sla_response_alert", "sla_resolution_alert"):
            _rebuild_sqlite_table(
                "tickets",
                {
                    f"CONSTRAINT ck_tickets_{name} CHECK ({name} IS NULL OR {_in(name, ALERTS)}), ": ""
                },
            )
    else:
        op.drop_constraint(op.f("ck_ticket_activities_action"), "ticket_activities", type_="check")
        op.create_check_constraint(
            op.f("ck_ticket_activities_action"), "ticket_activities", _in("action", OLD_ACTIONS)
        )
        op.alter_column("ticket_activities", "actor_id", existing_type=sa.Integer(), nullable=False)
        for name in ("sla_response_alert", "sla_resolution_alert"):
            op.drop_constraint(op.f(f"ck_tickets_{name}"), "tickets", type_="check")
    for name in (
        "sla_response_alert",
        "sla_resolution_alert",
        "sla_next_alert_at",
        "resolution_at_risk_at",
        "response_at_risk_at",
    ):
        op.drop_column("tickets", name)
    op.drop_index(op.f("ix_sla_recomputes_done_at"), table_name="sla_recomputes")
    op.drop_table("sla_recomputes")


def _fill_instants() -> None:
    """At-risk instants from the stored due times (24/7: three quarters of each target, plus
    the time paused, plus a microsecond, as `sla.clock_instants` computes them), and the
    alerts an open ticket's clocks are already past."""
    bind = op.get_bind()
    now = datetime.now(UTC)
    last_id = 0
    while True:
        rows = bind.execute(
            sa.select(
                tickets.c.id,
                tickets.c.status,
                tickets.c.created_at,
                tickets.c.first_response_at,
                tickets.c.response_due_at,
                tickets.c.resolution_due_at,
                tickets.c.sla_paused_seconds,
                tickets.c.sla_paused_at,
            )
            .where(tickets.c.id > last_id)
            .order_by(tickets.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            return
        bind.execute(
            sa.update(tickets)
            .where(tickets.c.id == sa.bindparam("ticket_id"))
            .values(
                response_at_risk_at=sa.bindparam("response_at_risk_at"),
                resolution_at_risk_at=sa.bindparam("resolution_at_risk_at"),
                sla_response_alert=sa.bindparam("sla_response_alert"),
                sla_resolution_alert=sa.bindparam("sla_resolution_alert"),
                sla_next_alert_at=sa.bindparam("sla_next_alert_at"),
            ),
            [_instants(row, now) for row in rows],
        )
        last_id = rows[-1].id


def _instants(row, now: datetime) -> dict:
    paused = timedelta(seconds=row.sla_paused_seconds or 0)
    response_target = row.response_due_at - row.created_at
    resolution_target = row.resolution_due_at - row.created_at - paused
    response_at_risk = row.created_at + response_target * 3 / 4 + TICK
    resolution_at_risk = row.created_at + resolution_target * 3 / 4 + paused + TICK
    response_alert = resolution_alert = next_alert = None
    if row.status in OPEN_STATUSES:
        if row.first_response_at is None:
            response_alert = _alert(now, response_at_risk, row.response_due_at)
        clock = row.sla_paused_at or now
        resolution_alert = _alert(clock, resolution_at_risk, row.resolution_due_at)
        next_alert = now  # the first scan works out the next one
    return {
        "ticket_id": row.id,
        "response_at_risk_at": response_at_risk,
        "resolution_at_risk_at": resolution_at_risk,
        "sla_response_alert": response_alert,
        "sla_resolution_alert": resolution_alert,
        "sla_next_alert_at": next_alert,
    }


def _alert(clock: datetime, at_risk_at: datetime, due_at: datetime) -> str | None:
    if clock > due_at:
        return "breached"
    return "warning" if clock >= at_risk_at else None


def _rebuild_sqlite_table(table: str, replacements: dict[str, str]) -> None:
    """SQLite's way to change a table's definition (as in 0004): a new table from the old
    one's SQL with `replacements` made, the rows copied (ids kept), the old one dropped, the
    new one renamed, then the old one's indexes and triggers made again. Foreign keys are off
    meanwhile (env.py)."""
    bind = op.get_bind()
    create_sql = bind.scalar(
        sa.text("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = :name"),
        {"name": table},
    )
    others = (
        bind.execute(
            sa.text(
                "SELECT sql FROM sqlite_master WHERE type IN ('index', 'trigger') "
                "AND tbl_name = :name AND sql IS NOT NULL"
            ),
            {"name": table},
        )
        .scalars()
        .all()
    )
    new_sql = " ".join(create_sql.split())  # one space between tokens, whatever the layout
    for old, new in replacements.items():
        if new_sql.count(old) != 1:
            raise RuntimeError(f"{table}: expected {old!r} once in {create_sql!r}")
        new_sql = new_sql.replace(old, new)
    head, body = new_sql.split("(", 1)
    if head.strip() not in (f"CREATE TABLE {table}", f'CREATE TABLE "{table}"'):
        raise RuntimeError(f"{table}: unexpected definition {create_sql!r}")
    # Generated columns (hidden 2 or 3) are computed, not copied.
    columns = ", ".join(
        row[1] for row in bind.exec_driver_sql(f"PRAGMA table_xinfo({table})") if row[6] == 0
    )
    op.execute(f"CREATE TABLE _new_{table} ({body}")
    op.execute(f"INSERT INTO _new_{table} ({columns}) SELECT {columns} FROM {table}")
    op.execute(f"DROP TABLE {table}")
    op.execute(f"ALTER TABLE _new_{table} RENAME TO {table}")
    for sql in others:
        op.execute(sql)
