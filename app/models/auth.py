"""Login sessions, open event streams and stored idempotent responses."""

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column

from app.clock import now
from app.extensions import db
from app.models.types import UTCDateTime


class AuthSession(db.Model):
    """One login: its refresh token and every access and stream token made from it carry its id.

    A token is good only while its session row exists and has not ended, so ending the row ends
    them all, on every worker; deleting the user deletes the rows, so a token can never outlive
    its user (nor be taken for a later user's).
    """

    __tablename__ = "auth_sessions"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(
        UTCDateTime, default=now, server_default=func.now()
    )
    # When its refresh token expires: after that the row is of no use and may be deleted.
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class EventStream(db.Model):
    """An open event stream, counted against its user's cap on every worker and host.

    A stream deletes its row when it ends. A worker killed outright leaves its rows behind, so a
    row only counts until `expires_at`, past which the stream would have ended anyway.
    """

    __tablename__ = "event_streams"
    __table_args__ = (
        Index("ix_event_streams_user_id_expires_at", "user_id", "expires_at"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)


class IdempotencyKey(db.Model):
    """The first response to a POST sent with an Idempotency-Key, replayed for 24 hours."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (
        UniqueConstraint("user_id", "key", "endpoint", name="uq_idempotency_keys_user_key"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(255))
    endpoint: Mapped[str] = mapped_column(String(64))
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    response_body: Mapped[str] = mapped_column(Text)
    location: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(
        UTCDateTime, default=now, server_default=func.now(), index=True
    )
