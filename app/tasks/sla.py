"""SLA tasks: the scan for clocks that became at risk or breached, and the recompute of open
tickets after a change of the SLA rules."""

from sqlalchemy import event
from sqlalchemy.orm import Session

from app import clock
from app.extensions import db
from app.services import sla_alerts, ticket_sla
from app.tasks.queue import enqueue_quietly, every, task


@every("SLA_SCAN_SECONDS")
def scan_sla_clocks() -> int:
    """Alerts for every ticket whose next alert has come, one transaction per ticket; then a
    recompute request that no worker took (its task lost with the queue) is queued again."""
    emitted = 0
    now = clock.now()
    ticket_ids = sla_alerts.due_ticket_ids(now)
    db.session.rollback()
    for ticket_id in ticket_ids:
        emitted += sla_alerts.alert(ticket_id, now)
        db.session.commit()
    waiting = ticket_sla.recompute_waiting()
    db.session.rollback()
    if waiting:
        enqueue_quietly(recompute_sla)
    return emitted


@task()
def recompute_sla() -> None:
    """Replay every open ticket in batches, one transaction each, for the newest request."""
    request = ticket_sla.claim_recompute()
    db.session.commit()
    if request is None:
        return
    actor_id, after_id = request.requested_by_id, 0
    while (after_id := ticket_sla.recompute_batch(after_id, actor_id)) is not None:
        db.session.commit()
    ticket_sla.finish_recompute(request)
    db.session.commit()


@event.listens_for(Session, "after_commit")
def _queue_recompute(session: Session) -> None:
    if ticket_sla.recompute_queued(session):
        enqueue_quietly(recompute_sla)
