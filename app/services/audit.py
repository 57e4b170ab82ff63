"""The audit trail: an activity (and its event) for every change, in the caller's transaction."""

from datetime import datetime

from app import clock
from app.extensions import db
from app.models.ticket import Activity, Ticket
from app.models.user import User
from app.services import events


def _text(value) -> str | None:
    return None if value is None else str(value)


def record(
    ticket: Ticket,
    actor: User | None,
    action: str,
    field: str | None = None,
    old=None,
    new=None,
    *,
    about_internal_note: bool = False,
    at: datetime | None = None,
) -> Activity:
    """`actor` None: the service acting on its own. `at`: the instant the change took effect,
    when the change used one (the SLA pause replays status changes at their instants)."""
    activity = Activity(
        ticket_id=ticket.id,
        actor=actor,
        action=action,
        field=field,
        old_value=_text(old),
        new_value=_text(new),
        about_internal_note=about_internal_note,
        created_at=at or clock.now(),
    )
    db.session.add(activity)
    events.queue("activity.created", ticket, activity)
    return activity
