"""SQLAlchemy models; importing this package registers every table on the metadata."""

from app.models.auth import IdempotencyKey, RevokedToken
from app.models.background import OutboxPosition, WorkerHeartbeat
from app.models.event import Event
from app.models.ticket import Activity, Message, Ticket
from app.models.user import Agent, User
from app.models.webhook import Webhook, WebhookDelivery

__all__ = [
    "Activity",
    "Agent",
    "Event",
    "IdempotencyKey",
    "Message",
    "OutboxPosition",
    "RevokedToken",
    "Ticket",
    "User",
    "Webhook",
    "WebhookDelivery",
    "WorkerHeartbeat",
]
