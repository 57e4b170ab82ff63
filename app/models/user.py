"""Users and their agent profiles."""

from datetime import datetime

from sqlalchemy import JSON, Boolean, CheckConstraint, ForeignKey, Integer, String, func, true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.clock import now
from app.extensions import db
from app.models.types import SQLITE_AUTOINCREMENT, UTCDateTime

ROLES = ("admin", "manager", "agent", "requester")
STAFF_ROLES = ("admin", "manager", "agent")
AVAILABILITIES = ("available", "busy", "away", "offline")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class User(db.Model):
    __tablename__ = "users"
    # Ids are never reused on SQLite either: a token or a link naming a deleted user must never
    # name the next one.
    __table_args__ = (CheckConstraint(_in("role", ROLES), name="role"), SQLITE_AUTOINCREMENT)

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(120), index=True)
    role: Mapped[str] = mapped_column(String(16), index=True)
    department: Mapped[str | None] = mapped_column(String(120))
    phone: Mapped[str | None] = mapped_column(String(40))
    password_hash: Mapped[str] = mapped_column(String(255))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    # Whether the user gets notification mails (API.md section 12).
    email_notifications: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    created_at: Mapped[datetime] = mapped_column(
        UTCDateTime, default=now, server_default=func.now(), index=True
    )
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime, default=now, onupdate=now, server_default=func.now()
    )

    agent: Mapped["Agent | None"] = relationship(back_populates="user", uselist=False)

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF_ROLES


class Agent(db.Model):
    __tablename__ = "agents"
    __table_args__ = (
        CheckConstraint(_in("availability", AVAILABILITIES), name="availability"),
        CheckConstraint("max_open_tickets >= 0", name="max_open_tickets"),
        SQLITE_AUTOINCREMENT,
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"), unique=True)
    team: Mapped[str | None] = mapped_column(String(60), index=True)
    skills: Mapped[list[str]] = mapped_column(JSON, default=list)
    availability: Mapped[str] = mapped_column(
        String(16), default="available", server_default="available", index=True
    )
    max_open_tickets: Mapped[int] = mapped_column(Integer, default=10, server_default="10")
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    created_at: Mapped[datetime] = mapped_column(
        UTCDateTime, default=now, server_default=func.now()
    )
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime, default=now, onupdate=now, server_default=func.now()
    )

    user: Mapped[User] = relationship(back_populates="agent", lazy="joined", innerjoin=True)

    @property
    def name(self) -> str:
        return self.user.name

    @property
    def email(self) -> str:
        return self.user.email
