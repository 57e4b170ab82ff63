"""Tickets, their messages and their audit trail."""

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Computed,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    false,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.clock import now
from app.extensions import db
from app.models.sla import SlaPolicy
from app.models.types import SQLITE_AUTOINCREMENT, UTCDateTime
from app.models.user import Agent, User, _in

STATUSES = ("open", "in_progress", "pending", "resolved", "closed")
OPEN_STATUSES = ("open", "in_progress", "pending")
PRIORITIES = ("low", "medium", "high", "critical")
CATEGORIES = ("hardware", "software", "network", "access", "other")
PRIORITY_RANK_SQL = (
    "CASE priority WHEN 'low' THEN 0 WHEN 'medium' THEN 1 WHEN 'high' THEN 2 "
    "WHEN 'critical' THEN 3 END"
)
STATUS_RANK_SQL = (
    "CASE status WHEN 'open' THEN 0 WHEN 'in_progress' THEN 1 WHEN 'pending' THEN 2 "
    "WHEN 'resolved' THEN 3 WHEN 'closed' THEN 4 END"
)
ACTIONS = (
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
    "sla_policy_changed",
    "sla_warning",
    "sla_breached",
)
# The alerts the SLA scan has emitted for a clock, in the order they come.
SLA_ALERTS = ("warning", "breached")


class Ticket(db.Model):
    __tablename__ = "tickets"
    __table_args__ = (
        CheckConstraint(_in("status", STATUSES), name="status"),
        CheckConstraint(_in("priority", PRIORITIES), name="priority"),
        CheckConstraint(_in("category", CATEGORIES), name="category"),
        *(
            CheckConstraint(f"{name} IS NULL OR {_in(name, SLA_ALERTS)}", name=name)
            for name in ("sla_response_alert", "sla_resolution_alert")
        ),
        Index("ix_tickets_requester_id_created_at", "requester_id", "created_at"),
        Index("ix_tickets_assigned_agent_id_status", "assigned_agent_id", "status"),
        Index("ix_tickets_status_created_at", "status", "created_at"),
        # Reports (migration 0002): open tickets by age, partial; PostgreSQL also carries the
        # columns aging and agent performance group by, for index-only scans.
        Index(
            "ix_tickets_open_created_at",
            "created_at",
            postgresql_where=db.text(_in("status", OPEN_STATUSES)),
            postgresql_include=["priority", "category", "status", "assigned_agent_id"],
            sqlite_where=db.text(_in("status", OPEN_STATUSES)),
        ),
        # Volume: resolved per period, and the backlog open when the window starts.
        Index("ix_tickets_resolved_at_created_at", "resolved_at", "created_at"),
        # Lists sorted by priority (migration 0003).
        Index("ix_tickets_priority_rank_id", "priority_rank", "id"),
        # Every list sort is a keyset scan on (key, id) (migration 0010); the status rank is an
        # expression index on the CASE text the list sorts by.
        Index("ix_tickets_created_at_id", "created_at", "id"),
        Index("ix_tickets_updated_at_id", "updated_at", "id"),
        Index("ix_tickets_resolution_due_at_id", "resolution_due_at", "id"),
        Index("ix_tickets_status_rank_id", db.text(STATUS_RANK_SQL), "id"),
        # The SLA scan reads only tickets with an alert to come (migration 0007).
        Index(
            "ix_tickets_sla_next_alert_at",
            "sla_next_alert_at",
            postgresql_where=db.text("sla_next_alert_at IS NOT NULL"),
            sqlite_where=db.text("sla_next_alert_at IS NOT NULL"),
        ),
        SQLITE_AUTOINCREMENT,
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="open", server_default="open")
    priority: Mapped[str] = mapped_column(
        String(16), default="medium", server_default="medium", index=True
    )
    category: Mapped[str] = mapped_column(
        String(16), default="other", server_default="other", index=True
    )
    requester_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    assigned_agent_id: Mapped[int | None] = mapped_column(
        ForeignKey("agents.id", ondelete="RESTRICT")
    )
    # The SLA policy the ticket's due times follow (migration 0006 puts existing tickets on
    # the default policy).
    sla_policy_id: Mapped[int | None] = mapped_column(
        ForeignKey("sla_policies.id", ondelete="RESTRICT"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(
        UTCDateTime, default=now, server_default=func.now(), index=True
    )
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime, default=now, server_default=func.now(), index=True
    )
    first_response_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    response_due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    resolution_due_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    # The first instant each clock has less than a quarter of its target left, in business
    # time: stored, so that filters and reports compare instants (sla.clock_instants).
    response_at_risk_at: Mapped[datetime] = mapped_column(UTCDateTime)
    resolution_at_risk_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The alerts emitted for each clock (NULL, "warning", "breached"), and when the SLA scan
    # must look at the ticket next (NULL: no alert to come).
    sla_response_alert: Mapped[str | None] = mapped_column(String(16))
    sla_resolution_alert: Mapped[str | None] = mapped_column(String(16))
    sla_next_alert_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sla_paused_seconds: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Set while the ticket is pending: the resolution clock is stopped from this moment.
    sla_paused_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    message_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    public_message_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Severity as a number, computed by the database, so that a sort by priority uses an index.
    priority_rank: Mapped[int] = mapped_column(Integer, Computed(PRIORITY_RANK_SQL))
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")

    # Joined so that one statement loads a page of tickets with what their dump needs.
    requester: Mapped[User] = relationship(lazy="joined", innerjoin=True)
    assigned_agent: Mapped[Agent | None] = relationship(lazy="joined")
    sla_policy: Mapped[SlaPolicy | None] = relationship(lazy="joined")

    __mapper_args__ = {"version_id_col": version}


class Message(db.Model):
    __tablename__ = "ticket_messages"
    __table_args__ = (
        Index("ix_ticket_messages_ticket_id_id", "ticket_id", "id"),
        SQLITE_AUTOINCREMENT,
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"), index=True)
    body: Mapped[str] = mapped_column(Text)
    is_internal: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(
        UTCDateTime, default=now, server_default=func.now()
    )
    edited_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")

    author: Mapped[User] = relationship(lazy="joined", innerjoin=True)

    __mapper_args__ = {"version_id_col": version}


class Activity(db.Model):
    __tablename__ = "ticket_activities"
    __table_args__ = (
        CheckConstraint(_in("action", ACTIONS), name="action"),
        Index("ix_ticket_activities_ticket_id_id", "ticket_id", "id"),
        SQLITE_AUTOINCREMENT,
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    # NULL for what the service does on its own (the SLA scan's alerts).
    actor_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="RESTRICT"), index=True
    )
    action: Mapped[str] = mapped_column(String(32))
    field: Mapped[str | None] = mapped_column(String(32))
    old_value: Mapped[str | None] = mapped_column(Text)
    new_value: Mapped[str | None] = mapped_column(Text)
    # True when the activity is about an internal note, which requesters must not learn of.
    about_internal_note: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false()
    )
    created_at: Mapped[datetime] = mapped_column(
        UTCDateTime, default=now, server_default=func.now()
    )

    actor: Mapped[User | None] = relationship(lazy="joined")


class TicketChange(db.Model):
    """Where a ticket stands in the order of changes: the outbox id of its latest change,
    upserted when the change commits (events.py); the incremental export reads in this order.
    The row outlives its ticket, marked `deleted`."""

    __tablename__ = "ticket_changes"
    __table_args__ = (Index("ix_ticket_changes_change_seq_ticket_id", "change_seq", "ticket_id"),)

    ticket_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    change_seq: Mapped[int] = mapped_column(BigInteger)
    deleted: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
