"""The transactional outbox of real-time events."""

from datetime import datetime

from sqlalchemy import JSON, Index, Integer, String, func
from sqlalchemy.orm import Mapped, mapped_column

from app.clock import now
from app.extensions import db
from app.models.types import SQLITE_AUTOINCREMENT, BigIntegerId, UTCDateTime


class Event(db.Model):
    """One event, written in the transaction of the change it reports.

    `payload` is the object as staff see it; `public_payload` is what the ticket's requester
    may see (None when they may not see the event at all, e.g. an internal note).
    """

    __tablename__ = "events"
    # Ids are never reused on SQLite either, even if the newest events were ever deleted.
    __table_args__ = (
        # Replay of one requester's events (streams.py) reads them in id order.
        Index("ix_events_requester_id_id", "requester_id", "id"),
        Index("ix_events_ticket_id_id", "ticket_id", "id"),
        SQLITE_AUTOINCREMENT,
    )

    id: Mapped[int] = mapped_column(BigIntegerId, primary_key=True, autoincrement=True)
    type: Mapped[str] = mapped_column(String(32))
    # Both None for the service's own control events (`session.ended`), which no client receives.
    ticket_id: Mapped[int | None] = mapped_column(Integer)
    requester_id: Mapped[int | None] = mapped_column(Integer)
    payload: Mapped[dict] = mapped_column(JSON)
    # SQL NULL (not JSON null) when the requester may not see it, so replay filters it in SQL.
    public_payload: Mapped[dict | None] = mapped_column(JSON(none_as_null=True))
    created_at: Mapped[datetime] = mapped_column(
        UTCDateTime, default=now, server_default=func.now()
    )
