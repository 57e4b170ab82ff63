"""Real-time events: the transactional outbox.

Services queue events while they change things; just before the transaction commits, the
queued events are written to the `events` table with the REST objects as they are at commit.
On PostgreSQL a transaction-scoped advisory lock serialises those inserts until commit, so event
ids increase in commit order: a reader that has seen id N can never later meet a smaller id.
"""

from functools import cache

from sqlalchemy import event, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from app import clock
from app.models.event import Event
from app.models.ticket import Activity, Message, Ticket, TicketChange
from app.services import sla

OUTBOX_LOCK = 7_310_001
NOTIFY_CHANNEL = "servicedesk_events"
_PENDING = "pending_events"
# A control event: the ticket `{"ticket_id"}` was deleted (for the export's tombstones).
TICKET_DELETED = "internal.ticket_deleted"


def queue(event_type: str, ticket: Ticket, obj=None) -> None:
    """Publish `event_type` about `obj` (the ticket itself when None; a dict: the data of an
    SLA alert beside the ticket) when the session commits."""
    from app.extensions import db

    db.session.info.setdefault(_PENDING, []).append((event_type, ticket, obj))


def queue_control(event_type: str, payload: dict, session: Session) -> None:
    """Write a control event for the dispatchers (no ticket; no client ever receives it)."""
    session.info.setdefault(_PENDING, []).append((event_type, None, payload))


@cache
def _schemas() -> dict:
    """One instance of each dump schema: building a marshmallow schema costs more than a dump
    (a recompute of 100,000 tickets spent 5.5 of its 12.5 profiled seconds on them)."""
    from app.schemas.message import ActivitySchema, MessageSchema
    from app.schemas.ticket import SlaAlertSchema, TicketSchema

    return {
        "activity": ActivitySchema(),
        "message": MessageSchema(),
        "alert": SlaAlertSchema(),
        "ticket": TicketSchema(),
    }


def _payloads(ticket: Ticket | None, obj) -> tuple[dict, dict | None]:
    """The object as staff see it, and as the ticket's requester may (None: not at all)."""
    schemas = _schemas()
    if ticket is None:
        return obj, None  # a control event
    sla.annotate([ticket], clock.now())
    if isinstance(obj, dict):  # an SLA alert: staff only
        viewer = getattr(ticket, "viewer_is_staff", False)
        ticket.viewer_is_staff = True
        payload = schemas["alert"].dump({"ticket": ticket, **obj})
        ticket.viewer_is_staff = viewer
        return payload, None
    if isinstance(obj, Message):
        payload = schemas["message"].dump(obj)
        return payload, None if obj.is_internal else payload
    if isinstance(obj, Activity):
        payload = schemas["activity"].dump(obj)
        return payload, None if obj.about_internal_note else payload
    viewer = getattr(ticket, "viewer_is_staff", False)
    ticket.viewer_is_staff = True
    staff = schemas["ticket"].dump(ticket)
    ticket.viewer_is_staff = viewer  # the response of this request dumps the caller's view
    # The requester's view differs only in counting public messages (TicketSchema's
    # message_count): one dump serves both, half the outbox's cost of a ticket change.
    return staff, {**staff, "message_count": ticket.public_message_count}


@event.listens_for(Session, "before_commit")
def _write_outbox(session: Session) -> None:
    # Ids and defaults of the objects the events carry; flushing may queue control events.
    session.flush()
    pending = session.info.pop(_PENDING, None)
    if not pending:
        return
    bind = session.get_bind()
    if bind.dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": OUTBOX_LOCK})
    written = []
    for event_type, ticket, obj in pending:
        payload, public_payload = _payloads(ticket, obj)
        written.append(
            Event(
                type=event_type,
                ticket_id=ticket.id if ticket else None,
                requester_id=ticket.requester_id if ticket else None,
                payload=payload,
                public_payload=public_payload,
            )
        )
    session.add_all(written)
    session.flush()
    _number_changes(session, written)
    if bind.dialect.name == "postgresql":
        session.execute(text(f"NOTIFY {NOTIFY_CHANNEL}"))


def _number_changes(session: Session, written: list[Event]) -> None:
    """Each changed or deleted ticket's place in the order of changes: its newest event's id,
    under the outbox lock, so that the export's order is commit order."""
    latest: dict[int, dict] = {}
    for written_event in written:
        if written_event.ticket_id is not None:
            latest[written_event.ticket_id] = {
                "ticket_id": written_event.ticket_id,
                "change_seq": written_event.id,
                "deleted": False,
            }
        elif written_event.type == TICKET_DELETED:
            ticket_id = written_event.payload["ticket_id"]
            latest[ticket_id] = {
                "ticket_id": ticket_id,
                "change_seq": written_event.id,
                "deleted": True,
            }
    if not latest:
        return
    upsert = _insert_for(session)(TicketChange.__table__)
    session.execute(
        upsert.on_conflict_do_update(
            index_elements=["ticket_id"],
            set_={"change_seq": upsert.excluded.change_seq, "deleted": upsert.excluded.deleted},
        ),
        list(latest.values()),
    )


def _insert_for(session: Session):
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert
    return sqlite.insert


@event.listens_for(Session, "after_transaction_end")
def _forget_outbox(session: Session, transaction) -> None:
    # Events queued in a transaction that ended without commit must never be published.
    if transaction.parent is None:
        session.info.pop(_PENDING, None)
