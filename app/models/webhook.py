"""Webhook subscriptions and their deliveries (the delivery state lives here, not in the queue)."""

from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    func,
    text,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.clock import now
from app.extensions import db
from app.models.types import UTCDateTime

DELIVERY_STATUSES = ("pending", "succeeded", "failed")
PING = "ping"
# The event types a webhook may subscribe to (API.md section 8); "*" means all of them.
EVENT_TYPES = (
    "ticket.created",
    "ticket.updated",
    "message.created",
    "message.updated",
    "message.deleted",
    "activity.created",
    "ticket.sla_warning",
    "ticket.sla_breached",
)


class Webhook(db.Model):
    __tablename__ = "webhooks"
    __table_args__ = {"sqlite_autoincrement": True}

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(String(2048))
    # Event types of the outbox, or ["*"] for every deliverable type.
    events: Mapped[list[str]] = mapped_column(JSON)
    description: Mapped[str | None] = mapped_column(String(500))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    # Kept in clear: each delivery is signed with it.
    secret: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(
        UTCDateTime, default=now, server_default=func.now()
    )
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime, default=now, onupdate=now, server_default=func.now()
    )


class WebhookDelivery(db.Model):
    """One event (or ping) for one webhook, with its attempts.

    The unique (webhook_id, event_id) makes a second delivery of an event to a webhook
    impossible, whatever the number of workers creating them. Pings have no event (NULL, which
    the constraint does not compare). `round_attempts` counts the attempts since the delivery
    was created or redelivered and indexes the retry schedule; `attempts` counts them all and
    identifies the attempt that a worker claimed (see services/deliveries.py).
    """

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("webhook_id", "event_id", name="uq_webhook_deliveries_webhook_event"),
        CheckConstraint(
            "status IN (" + ", ".join(repr(s) for s in DELIVERY_STATUSES) + ")", name="status"
        ),
        # The delivery log, newest first.
        Index("ix_webhook_deliveries_webhook_id_id", "webhook_id", "id"),
        # The sweep: pending deliveries that are due. Partial: finished ones are most rows.
        Index(
            "ix_webhook_deliveries_due",
            "next_attempt_at",
            postgresql_where=text("status = 'pending'"),
            sqlite_where=text("status = 'pending'"),
        ),
        # Retention keeps the events that pending deliveries still need.
        Index(
            "ix_webhook_deliveries_pending_event_id",
            "event_id",
            postgresql_where=text("status = 'pending'"),
            sqlite_where=text("status = 'pending'"),
        ),
        # Receivers deduplicate by delivery id: never reuse one, on SQLite either.
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    webhook_id: Mapped[int] = mapped_column(ForeignKey("webhooks.id", ondelete="CASCADE"))
    # No foreign key: retention deletes old events, and the log keeps naming them.
    event_id: Mapped[int | None] = mapped_column(BigInteger)
    event_type: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="pending", server_default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    round_attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(String(500))
    # When the next attempt is due (NULL once succeeded or failed).
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Set while a worker makes an attempt; past it, the attempt counts as lost.
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(
        UTCDateTime, default=now, server_default=func.now()
    )
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    webhook: Mapped[Webhook] = relationship()
