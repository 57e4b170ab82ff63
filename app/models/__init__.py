"""SQLAlchemy models; importing this package registers every table on the metadata."""

from app.models.auth import AuthSession, EventStream, IdempotencyKey
from app.models.event import Event
from app.models.ticket import Activity, Message, Ticket
from app.models.user import Agent, User

__all__ = [
    "Activity",
    "Agent",
    "AuthSession",
    "Event",
    "EventStream",
    "IdempotencyKey",
    "Message",
    "Ticket",
    "User",
]
