"""SLA alerts: `ticket.sla_warning` when a clock becomes at risk and `ticket.sla_breached`
when it is breached, each once per clock, with its activity (API.md section 8).

Each ticket stores the alerts its clocks have had and when the next one comes
(`sla_next_alert_at`, kept by `sla`); the scan reads only tickets whose next alert has come,
through a partial index, and handles each under the ticket's lock in a transaction of its
own: several workers scanning at once, or a worker restarted mid-scan, emit each alert once.
"""

from datetime import datetime

from sqlalchemy import select

from app.extensions import db
from app.models.ticket import Ticket
from app.services import audit, events, sla, tickets

SCAN_BATCH = 500


def due_ticket_ids(now: datetime) -> list[int]:
    """Tickets whose next alert has come, soonest first."""
    return list(
        db.session.scalars(
            select(Ticket.id)
            .where(Ticket.sla_next_alert_at <= now)
            .order_by(Ticket.sla_next_alert_at)
            .limit(SCAN_BATCH)
        )
    )


def alert(ticket_id: int, now: datetime) -> int:
    """Emit the alerts the ticket's clocks have come to (in the caller's transaction, which
    should hold nothing else); returns how many."""
    tickets.lock_ticket(ticket_id)
    ticket = db.session.scalar(
        select(Ticket).where(Ticket.id == ticket_id).execution_options(populate_existing=True)
    )
    if ticket is None:
        return 0  # deleted meanwhile
    emitted = 0
    for name in sla.alerted_clocks(ticket):
        had, at_risk_at, due_at = sla.clock_values(ticket, name)
        reading = now if name == "response" else (ticket.sla_paused_at or now)
        kind = sla.alert_due(had, at_risk_at, due_at, reading)
        if kind is None:
            continue
        setattr(ticket, f"sla_{name}_alert", kind)
        action = "sla_warning" if kind == "warning" else "sla_breached"
        audit.record(ticket, None, action, name, None, _text(due_at), at=now)
        events.queue(f"ticket.{action}", ticket, {"clock": name, "due_at": due_at})
        emitted += 1
    ticket.sla_next_alert_at = sla.next_alert_at(ticket)
    return emitted


def _text(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")
