"""The transactional outbox of real-time events."""

from datetime import datetime

from sqlalchemy import JSON, Integer, String, func
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.models.types import BigIntegerId, UTCDateTime
from app.services.clock import now


class Event(db.Model):
    """One event, written in the transaction of the change it reports.

    `payload` is the object as staff see it; `public_payload` is what the ticket's requester
    may see (None when they may not see the event at all, e.g. an internal note).
    """

    __tablename__ = "events"
    # Ids are never reused on SQLite either, even if the newest events were ever deleted.
    __table_args__ = {"sqlite_autoincrement": True}

    id: Mapped[int] = mapped_column(BigIntegerId, primary_key=True, autoincrement=True)
    type: Mapped[str] = mapped_column(String(32))
    ticket_id: Mapped[int] = mapped_column(Integer, index=True)
    requester_id: Mapped[int] = mapped_column(Integer)
    payload: Mapped[dict] = mapped_column(JSON)
    public_payload: Mapped[dict | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(
        UTCDateTime, default=now, server_default=func.now()
    )
