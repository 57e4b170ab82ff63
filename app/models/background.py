"""Bookkeeping of the background worker: heartbeats, and positions in the event outbox."""

from datetime import datetime

from sqlalchemy import BigInteger, String, func
from sqlalchemy.orm import Mapped, mapped_column

from app.clock import now
from app.extensions import db
from app.models.types import UTCDateTime


class WorkerHeartbeat(db.Model):
    """One row per running `flask worker` process, touched every WORKER_HEARTBEAT_SECONDS."""

    __tablename__ = "worker_heartbeats"

    worker_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now, index=True)


FANOUT = "webhooks"
RETENTION = "retention"
MAIL = "mail"


class OutboxPosition(db.Model):
    """How far a reader of the `events` outbox has gone, by event id.

    `webhooks`: the last event turned into deliveries (the fan-out's high-water mark; its row
    is also the lock that serialises fan-outs). `mail`: the same for notification mails.
    `retention`: the last event deleted by
    retention (a stream resuming from below it may have missed events).
    """

    __tablename__ = "outbox_positions"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    event_id: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime, default=now, onupdate=now, server_default=func.now()
    )
