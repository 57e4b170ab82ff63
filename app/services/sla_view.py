"""`GET /api/tickets/{id}/sla`: how a ticket's SLA stands, and why (API.md section 10)."""

from datetime import datetime

from app.models.ticket import Ticket
from app.services import sla, ticket_sla


def ticket_sla_view(ticket: Ticket, now: datetime) -> dict:
    """The ticket's policy and calendar, both clocks in business time, and its pauses."""
    policy = ticket.sla_policy
    calendar = sla.calendar_of(policy.calendar)
    response_minutes, resolution_minutes = sla.targets_for(policy, ticket.priority)
    pauses = [
        {
            "started_at": started,
            "ended_at": ended,
            "business_seconds": sla.business_seconds_between(calendar, started, ended or now),
        }
        for started, ended in ticket_sla.pauses(ticket)
    ]
    response_end = ticket.first_response_at or now
    # The resolution clock stands still while paused: its time paused is not elapsed time.
    resolution_end = ticket.resolved_at or ticket.sla_paused_at or now
    return {
        "policy": policy,
        "calendar": policy.calendar,
        "response": _clock(
            response_minutes,
            ticket.response_due_at,
            ticket.first_response_at,
            sla.response_breached(ticket, now),
            sla.business_seconds_between(calendar, ticket.created_at, response_end),
        ),
        "resolution": _clock(
            resolution_minutes,
            ticket.resolution_due_at,
            ticket.resolved_at,
            sla.resolution_breached(ticket, now),
            sla.business_seconds_between(calendar, ticket.created_at, resolution_end)
            - ticket.sla_paused_seconds,
        ),
        "pauses": pauses,
    }


def _clock(target_minutes, due_at, completed_at, breached, elapsed) -> dict:
    return {
        "target_minutes": target_minutes,
        "due_at": due_at,
        "completed_at": completed_at,
        "breached": breached,
        "business_seconds_elapsed": elapsed,
        "business_seconds_remaining": target_minutes * 60 - elapsed,
    }
