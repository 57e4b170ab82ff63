"""Ticket status transitions and the timestamps each status sets or clears."""

from datetime import datetime

from app.errors import InvalidTransition
from app.models.ticket import Ticket
from app.services import sla

TRANSITIONS = {
    "open": {"in_progress", "resolved"},
    "in_progress": {"open", "pending", "resolved"},
    "pending": {"in_progress", "resolved"},
    "resolved": {"open", "closed"},
    "closed": set(),
}
REOPEN_FROM = ("resolved", "closed")


def check_transition(ticket: Ticket, new_status: str, *, actor_role: str, is_requester: bool):
    """409 unless the workflow allows `ticket.status -> new_status` for this actor."""
    old = ticket.status
    if new_status == old:
        return
    if new_status in TRANSITIONS[old]:
        return
    if old == "closed" and new_status == "open" and actor_role in ("admin", "manager"):
        return
    if is_requester and new_status == "closed" and old != "closed":
        return  # a requester may withdraw their own ticket
    allowed = sorted(TRANSITIONS[old])
    raise InvalidTransition(
        f"A ticket cannot go from {old} to {new_status}"
        + (f"; allowed: {', '.join(allowed)}." if allowed else "; closed is final."),
        errors={"status": [f"Not allowed from {old}."]},
    )


def enter_status(ticket: Ticket, new_status: str, at: datetime) -> None:
    """Move to `new_status`, keeping the SLA pause and the status timestamps right."""
    old = ticket.status
    if old == "pending" and new_status != "pending":
        sla.resume(ticket, at)
    if new_status == "pending" and old != "pending":
        sla.pause(ticket, at)
    if new_status == "resolved":
        ticket.resolved_at = at
    if new_status == "closed":
        ticket.closed_at = at
        ticket.resolved_at = ticket.resolved_at or at
    if new_status == "open" and old in REOPEN_FROM:
        ticket.resolved_at = None
        ticket.closed_at = None
    ticket.status = new_status


def is_reopen(old: str, new: str) -> bool:
    return new == "open" and old in REOPEN_FROM
