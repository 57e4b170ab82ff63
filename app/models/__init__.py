"""SQLAlchemy models; importing this package registers every table on the metadata."""

from app.models.auth import AuthSession, EventStream, IdempotencyKey
from app.models.background import OutboxPosition, WorkerHeartbeat
from app.models.event import Event
from app.models.mail import InboundEmail, Mail
from app.models.sla import SlaCalendar, SlaPolicy, SlaRecompute
from app.models.ticket import Activity, Message, Ticket, TicketChange
from app.models.user import Agent, User
from app.models.webhook import Webhook, WebhookDelivery

__all__ = [
    "Activity",
    "Agent",
    "AuthSession",
    "Event",
    "EventStream",
    "IdempotencyKey",
    "InboundEmail",
    "Mail",
    "Message",
    "OutboxPosition",
    "SlaCalendar",
    "SlaPolicy",
    "SlaRecompute",
    "Ticket",
    "TicketChange",
    "User",
    "Webhook",
    "WebhookDelivery",
    "WorkerHeartbeat",
]
