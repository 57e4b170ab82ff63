"""Incremental export of tickets (API.md section 13): every ticket changed since a cursor, in
the order of changes, and deleted tickets as tombstones.

The order is `ticket_changes.change_seq`, the outbox id of a ticket's latest change, which
increases in commit order (events.py): a reader that has seen up to N can never later meet a
change numbered N or less committed after its read, whatever timestamps the writers used. The
cursor is the last (change_seq, ticket id) read, signed so that clients cannot forge one.
"""

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import and_, or_, select

from app import clock
from app.errors import ServiceError
from app.extensions import db
from app.models.ticket import Ticket, TicketChange
from app.services import sla

PAGE_SIZE = 1000
START = (-1, 0)  # before every ticket: tickets older than the export start at change_seq 0


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["JWT_SECRET_KEY"], salt="ticket-export")


def encode_cursor(position: tuple[int, int]) -> str:
    return _serializer().dumps(list(position))


def decode_cursor(cursor: str | None) -> tuple[int, int]:
    if cursor is None:
        return START
    try:
        seq, ticket_id = _serializer().loads(cursor)
        return int(seq), int(ticket_id)
    except (BadSignature, ValueError, TypeError) as error:
        raise ServiceError(
            "This cursor was not made by this export; start without one.",
            errors={"cursor": ["Not a cursor of /api/export/tickets."]},
        ) from error


def _after(seq_column, id_column, position: tuple[int, int]):
    seq, ticket_id = position
    return or_(seq_column > seq, and_(seq_column == seq, id_column > ticket_id))


def export_page(cursor: str | None) -> dict:
    """The next tickets after `cursor` in the order of changes (deleted ones as
    `{"id", "deleted": True}`), the cursor to continue from, and whether this was the end."""
    position = decode_cursor(cursor)
    page_size = PAGE_SIZE
    changes = db.session.scalars(
        select(TicketChange)
        .where(_after(TicketChange.change_seq, TicketChange.ticket_id, position))
        .order_by(TicketChange.change_seq, TicketChange.ticket_id)
        .limit(page_size + 1)  # one more: whether the stream goes on
    ).all()
    page = changes[:page_size]
    # A second query, not an outer join: a ticket's people are inner-joined to it.
    wanted = [change.ticket_id for change in page if not change.deleted]
    found = {
        ticket.id: ticket
        for ticket in db.session.scalars(select(Ticket).where(Ticket.id.in_(wanted))).unique()
    }
    sla.annotate(list(found.values()), clock.now())
    items = []
    for change in page:
        ticket = found.get(change.ticket_id)
        if ticket is None:  # deleted
            items.append({"id": change.ticket_id, "deleted": True})
        else:
            ticket.viewer_is_staff = True
            items.append(ticket)
    last = (page[-1].change_seq, page[-1].ticket_id) if page else position
    return {
        "items": items,
        "next_cursor": encode_cursor(last),
        "end_of_stream": len(changes) <= page_size,
    }
