"""What each role may see and change: visibility queries and writable-field rules."""

from sqlalchemy import Select, select

from app.errors import Conflict, NotFound, PermissionDenied
from app.extensions import db
from app.models.ticket import Ticket
from app.models.user import STAFF_ROLES, Agent, User

SELF_EDITABLE_USER_FIELDS = {"name", "department", "phone", "password", "email_notifications"}
REQUESTER_TICKET_CREATE_FIELDS = {"title", "description", "category", "priority"}
REQUESTER_TICKET_UPDATE_FIELDS = {"title", "description", "category", "status"}
AGENT_SELF_FIELDS = {"availability"}


def is_staff(user: User) -> bool:
    return user.role in STAFF_ROLES


def is_manager(user: User) -> bool:
    return user.role in ("admin", "manager")


def deny_fields(fields: set[str], allowed: set[str], whose: str) -> None:
    """403 naming the first field the caller may not set."""
    forbidden = sorted(set(fields) - allowed)
    if forbidden:
        raise PermissionDenied(
            f"You may not set {', '.join(forbidden)} on {whose}.",
            errors={name: ["You may not set this field."] for name in forbidden},
        )


def require(allowed: bool, detail: str) -> None:
    if not allowed:
        raise PermissionDenied(detail)


def check_user_update(caller: User, user: User, fields: set[str]) -> None:
    if caller.role == "admin":
        return
    require(caller.id == user.id, "Only an admin may change other users.")
    deny_fields(fields, SELF_EDITABLE_USER_FIELDS, "yourself")


def check_agent_update(caller: User, agent: Agent, fields: set[str]) -> None:
    if is_manager(caller):
        return
    require(agent.user_id == caller.id, "Only an admin or manager may change other agents.")
    deny_fields(fields, AGENT_SELF_FIELDS, "your agent profile")


def get_visible_agent(caller: User, agent_id: int) -> Agent:
    agent = db.session.get(Agent, agent_id)
    if agent is None or not is_staff(caller):
        raise NotFound(f"Agent {agent_id} not found.")
    return agent


def get_visible_user(caller: User, user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None or (not is_staff(caller) and user.id != caller.id):
        raise NotFound(f"User {user_id} not found.")
    return user


def visible_tickets(caller: User, stmt: Select | None = None) -> Select:
    """Tickets the caller may see: all for staff, their own for a requester."""
    return tickets_of(ticket_scope(caller), stmt)


def ticket_scope(caller: User) -> int | None:
    """Whose tickets the caller may see: None for every ticket, else a requester's id."""
    return None if is_staff(caller) else caller.id


def tickets_of(scope: int | None, stmt: Select | None = None) -> Select:
    stmt = stmt if stmt is not None else select(Ticket)
    if scope is not None:
        stmt = stmt.where(Ticket.requester_id == scope)
    return stmt


def can_see_ticket(caller: User, ticket: Ticket) -> bool:
    return is_staff(caller) or ticket.requester_id == caller.id


def mark_viewer(caller: User, tickets) -> None:
    """Let the dump show staff every message in `message_count`, requesters public ones."""
    staff = is_staff(caller)
    for ticket in tickets:
        ticket.viewer_is_staff = staff


def check_ticket_create(caller: User, fields: set[str]) -> None:
    if not is_staff(caller):
        deny_fields(fields, REQUESTER_TICKET_CREATE_FIELDS, "a ticket")


def check_ticket_update(caller: User, ticket: Ticket, fields: set[str], status: str | None) -> None:
    deny_fields(fields & {"requester_id"}, set(), "an existing ticket")
    if is_staff(caller):
        return
    deny_fields(fields, REQUESTER_TICKET_UPDATE_FIELDS, "a ticket")
    if status is not None and status not in ("open", "closed"):
        raise PermissionDenied(
            "A requester may only set status to closed (withdraw) or open (reopen).",
            errors={"status": ["Only closed or open."]},
        )
    if status == "open" and ticket.status in ("in_progress", "pending"):
        # `open` is a requester's reopen of a resolved ticket, not a way to move work back.
        raise PermissionDenied(
            "A requester may set status to open only to reopen a resolved ticket.",
            errors={"status": ["Only a resolved ticket can be reopened."]},
        )
    if ticket.status == "closed" and fields - {"status"}:
        raise Conflict("The ticket is closed; it can no longer be edited.")


def check_message_post(caller: User, data: dict) -> None:
    if data.get("is_internal") and not is_staff(caller):
        raise PermissionDenied(
            "Only staff may write internal notes.",
            errors={"is_internal": ["You may not set this field."]},
        )


def check_message_change(caller: User, message) -> None:
    require(
        message.author_id == caller.id or caller.role == "admin",
        "Only the author or an admin may change a message.",
    )
