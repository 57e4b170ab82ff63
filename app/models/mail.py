"""Mail: notifications out (one row per event and recipient) and mail taken in."""

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.clock import now
from app.extensions import db
from app.models.types import SQLITE_AUTOINCREMENT, UTCDateTime

MAIL_STATUSES = ("pending", "sent", "failed")
PENDING = text("status = 'pending'")


class Mail(db.Model):
    """A notification to one user about one outbox event, rendered when it was made, with its
    attempts: the record of what was sent to whom.

    The unique (event_id, recipient_id) makes a second mail about an event to a user impossible,
    whatever the number of workers making them. An attempt is claimed as webhook deliveries'
    are (services/mail_outbox.py): `attempts` identifies the claimed one, `locked_until` leases it.
    """

    __tablename__ = "mails"
    __table_args__ = (
        UniqueConstraint("event_id", "recipient_id", name="uq_mails_event_recipient"),
        CheckConstraint(
            "status IN (" + ", ".join(repr(s) for s in MAIL_STATUSES) + ")", name="status"
        ),
        Index("ix_mails_due", "next_attempt_at", postgresql_where=PENDING, sqlite_where=PENDING),
        # Inbound threading by In-Reply-To/References looks mails up by their Message-ID.
        Index("ix_mails_message_id", "message_id", unique=True),
        Index("ix_mails_ticket_id", "ticket_id"),
        SQLITE_AUTOINCREMENT,
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # No foreign keys to events or tickets: retention deletes old events and a deleted ticket
    # goes, but the record of what was sent stays.
    event_id: Mapped[int] = mapped_column(BigInteger)
    ticket_id: Mapped[int] = mapped_column(Integer)
    recipient_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    recipient: Mapped[str] = mapped_column(String(254))
    kind: Mapped[str] = mapped_column(String(32))
    subject: Mapped[str] = mapped_column(String(300))
    message_id: Mapped[str] = mapped_column(String(255))
    # The whole message as sent (RFC 5322 bytes as text).
    content: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="pending", server_default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_error: Mapped[str | None] = mapped_column(String(500))
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(
        UTCDateTime, default=now, server_default=func.now()
    )
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class InboundEmail(db.Model):
    """A mail taken in through POST /api/inbound/email: its Message-ID (the same mail posted
    twice is taken in once) and what it became."""

    __tablename__ = "inbound_emails"
    __table_args__ = (
        UniqueConstraint("message_id", name="uq_inbound_emails_message_id"),
        Index("ix_inbound_emails_ticket_id", "ticket_id"),
        SQLITE_AUTOINCREMENT,
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[str] = mapped_column(String(255))
    sender: Mapped[str] = mapped_column(String(254))
    action: Mapped[str] = mapped_column(String(32))
    # Set once the mail became a message or a ticket (the row is written first: see
    # services/inbound_mail.py).
    ticket_id: Mapped[int | None] = mapped_column(Integer)
    ticket_message_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(
        UTCDateTime, default=now, server_default=func.now()
    )
