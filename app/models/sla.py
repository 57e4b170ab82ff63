"""SLA calendars (business hours) and SLA policies (which targets apply to which tickets)."""

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, false, func, text, true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.clock import now
from app.extensions import db
from app.models.types import SQLITE_AUTOINCREMENT, UTCDateTime

TARGET_PRIORITIES = ("critical", "high", "medium", "low")
CONDITION_KEYS = ("priority", "category", "requester_department")


class SlaCalendar(db.Model):
    __tablename__ = "sla_calendars"
    __table_args__ = SQLITE_AUTOINCREMENT

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    time_zone: Mapped[str] = mapped_column(String(64))
    # {"mon": [{"start": "09:00", "end": "17:00"}], ..., "sun": []}: all seven days, sorted.
    working_hours: Mapped[dict] = mapped_column(JSON)
    # [{"date": "2026-12-25", "name": "Christmas"}], sorted by date.
    holidays: Mapped[list] = mapped_column(JSON)
    holiday_country: Mapped[str | None] = mapped_column(String(8))
    holiday_subdivision: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(
        UTCDateTime, default=now, server_default=func.now()
    )
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime, default=now, onupdate=now, server_default=func.now()
    )


class SlaPolicy(db.Model):
    __tablename__ = "sla_policies"
    __table_args__ = (
        # At most one default policy (the migration creates it; nothing else may set the flag).
        Index(
            "uq_sla_policies_is_default",
            "is_default",
            unique=True,
            postgresql_where=text("is_default"),
            sqlite_where=text("is_default"),
        ),
        SQLITE_AUTOINCREMENT,
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    position: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    is_default: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # {"priority": [...], "category": [...], "requester_department": [...]}, each optional.
    conditions: Mapped[dict] = mapped_column(JSON)
    # NULL: business time is all time (24/7).
    calendar_id: Mapped[int | None] = mapped_column(
        ForeignKey("sla_calendars.id", ondelete="RESTRICT"), index=True
    )
    # {"critical": {"response_minutes": 15, "resolution_minutes": 240}, "high": ..., ...}
    targets: Mapped[dict] = mapped_column(JSON)
    # Loaded with the policy: its business time is what a policy is used for.
    calendar: Mapped[SlaCalendar | None] = relationship(lazy="joined")
    created_at: Mapped[datetime] = mapped_column(
        UTCDateTime, default=now, server_default=func.now()
    )
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime, default=now, onupdate=now, server_default=func.now()
    )


class SlaRecompute(db.Model):
    """A change of the SLA rules whose recompute of open tickets the worker still owes (when
    there are too many tickets to recompute within the request). Kept in the database so that
    a task lost with the queue is found again by the scan."""

    __tablename__ = "sla_recomputes"
    __table_args__ = SQLITE_AUTOINCREMENT

    id: Mapped[int] = mapped_column(primary_key=True)
    # Whose change it was: the actor of the `sla_policy_changed` activities it records.
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    requested_at: Mapped[datetime] = mapped_column(
        UTCDateTime, default=now, server_default=func.now()
    )
    # Set by the worker that took it; taken again once older than the lease.
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
