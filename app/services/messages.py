"""Messages on tickets: list, post (first response, reopen, counts), edit, delete."""

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from app import clock
from app.errors import NotFound
from app.extensions import db
from app.models.ticket import Message, Ticket
from app.models.user import User
from app.services import audit, events, pagination, permissions, tickets

# Lists show each author as a summary: load only those columns (not, say, the password hash).
AUTHOR_SUMMARY = joinedload(Message.author).load_only(User.name, User.role)


def visible_messages(caller: User, ticket: Ticket):
    stmt = select(Message).where(Message.ticket_id == ticket.id)
    if not permissions.is_staff(caller):
        stmt = stmt.where(Message.is_internal.is_(False))
    return stmt


def list_messages(caller: User, ticket: Ticket, args: dict) -> dict:
    stmt = visible_messages(caller, ticket)
    if args.get("after_id") is not None:
        stmt = stmt.where(Message.id > args["after_id"])
    order = pagination.Order(((Message.created_at, False), (Message.id, False)))
    return pagination.paginate(
        stmt, order, args, list_name=f"messages:{ticket.id}", options=[AUTHOR_SUMMARY]
    )


def get_message(caller: User, message_id: int, *, for_update: bool = False) -> Message:
    """The message if the caller may see it, else 404.

    `for_update` locks its ticket first and reads the message again under that lock, so that
    concurrent edits and deletes queue up and each sees the version the previous one left.
    """
    message = db.session.get(Message, message_id)
    if message is not None and for_update:
        tickets.lock_ticket(message.ticket_id)
        message = db.session.get(Message, message_id, populate_existing=True)
    if message is not None:
        ticket = db.session.get(Ticket, message.ticket_id, populate_existing=for_update)
        if permissions.can_see_ticket(caller, ticket) and (
            permissions.is_staff(caller) or not message.is_internal
        ):
            return message
    raise NotFound(f"Message {message_id} not found.")


def post_message(caller: User, data: dict) -> Message:
    ticket = tickets.get_ticket(caller, data["ticket_id"], for_update=True)
    permissions.check_message_post(caller, data)
    tickets.ensure_not_closed(ticket, "post messages on it")
    now = clock.now()
    message = Message(
        ticket_id=ticket.id,
        author=caller,
        body=data["body"],
        is_internal=data["is_internal"],
        created_at=now,
    )
    db.session.add(message)
    ticket.message_count = Ticket.message_count + 1
    if not message.is_internal:
        ticket.public_message_count = Ticket.public_message_count + 1
    ticket.updated_at = now
    ticket_changed = False
    is_requester = caller.id == ticket.requester_id
    if not message.is_internal and ticket.first_response_at is None:
        if permissions.is_staff(caller) and not is_requester:
            ticket.first_response_at = now
            ticket_changed = True
    if not message.is_internal and is_requester and ticket.status == "resolved":
        tickets.change_status(caller, ticket, "open", now)
        ticket_changed = True
    db.session.flush()
    db.session.refresh(ticket, ["message_count", "public_message_count"])
    events.queue("message.created", ticket, message)
    if ticket_changed:
        events.queue("ticket.updated", ticket)
    return message


def _ticket_for_change(caller: User, message: Message, action: str) -> Ticket:
    ticket = tickets.get_ticket(caller, message.ticket_id, for_update=True)
    permissions.check_message_change(caller, message)
    tickets.ensure_not_closed(ticket, action)
    return ticket


def edit_message(caller: User, message: Message, body: str | None) -> Message:
    """Change the body (None, or the same text, changes nothing and records nothing)."""
    ticket = _ticket_for_change(caller, message, "edit its messages")
    if body is None or body == message.body:
        return message
    old = message.body
    message.body = body
    message.edited_at = clock.now()
    audit.record(
        ticket, caller, "message_edited", "body", old, body, about_internal_note=message.is_internal
    )
    events.queue("message.updated", ticket, message)
    return message


def delete_message(caller: User, message: Message) -> None:
    ticket = _ticket_for_change(caller, message, "delete its messages")
    ticket.message_count = Ticket.message_count - 1
    if not message.is_internal:
        ticket.public_message_count = Ticket.public_message_count - 1
    audit.record(
        ticket,
        caller,
        "message_deleted",
        "body",
        message.body,
        None,
        about_internal_note=message.is_internal,
    )
    events.queue("message.deleted", ticket, message)
    db.session.delete(message)
    db.session.flush()
