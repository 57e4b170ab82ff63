"""Tickets: list with filters, create, update (workflow, SLA, audit, events), delete."""

from functools import lru_cache
from types import SimpleNamespace

from sqlalchemy import Select, case, func, or_, select, update

from app.errors import Conflict, NotFound, ValidationFailed
from app.extensions import db
from app.models.sla import SlaPolicy
from app.models.ticket import STATUSES, Ticket
from app.models.user import Agent, User
from app.services import (
    audit,
    clock,
    events,
    pagination,
    permissions,
    search,
    sla,
    ticket_sla,
    workflow,
)

STATUS_RANK = case({name: rank for rank, name in enumerate(STATUSES)}, value=Ticket.status)
SORT_COLUMNS = {
    "created_at": Ticket.created_at,
    "updated_at": Ticket.updated_at,
    "priority": Ticket.priority_rank,
    "resolution_due_at": Ticket.resolution_due_at,
    "status": STATUS_RANK,
}
TRACKED_FIELDS = ("title", "description", "priority", "category")

# A list page is read as plain rows, the people on each ticket joined as the columns their
# summaries show: identity-mapped ORM objects for a page of 25 cost an eighth of the request's
# CPU (bench/README.md). Built once, from the tables, because building and hashing the select
# of 23 columns on every request was the next largest cost.
_TICKETS = Ticket.__table__
_REQUESTER = User.__table__.alias("requester")
_AGENTS = Agent.__table__
_AGENT_USER = User.__table__.alias("agent_user")
_POLICIES = SlaPolicy.__table__
_LIST_PAGE = select(
    *(column for column in _TICKETS.c if column.key not in ("priority_rank", "version")),
    _REQUESTER.c.name.label("requester_name"),
    _REQUESTER.c.email.label("requester_email"),
    _AGENTS.c.team.label("agent_team"),
    _AGENT_USER.c.name.label("agent_name"),
    _POLICIES.c.name.label("sla_policy_name"),
).select_from(
    _TICKETS.join(_REQUESTER, _REQUESTER.c.id == _TICKETS.c.requester_id)
    .outerjoin(_AGENTS, _AGENTS.c.id == _TICKETS.c.assigned_agent_id)
    .outerjoin(_AGENT_USER, _AGENT_USER.c.id == _AGENTS.c.user_id)
    .outerjoin(_POLICIES, _POLICIES.c.id == _TICKETS.c.sla_policy_id)
)
_LIST_COUNT = select(func.count()).select_from(_TICKETS)


def filter_tickets(stmt, args: dict):
    """Add the list filters of the contract to `stmt`; shared by lists and analytics."""
    for name in ("status", "priority", "category"):
        if args.get(name):
            stmt = stmt.where(getattr(Ticket, name).in_(args[name]))
    if args.get("assigned_agent_id"):
        ids = [int(value) for value in args["assigned_agent_id"] if value != "none"]
        conditions = [Ticket.assigned_agent_id.in_(ids)] if ids else []
        if "none" in args["assigned_agent_id"]:
            conditions.append(Ticket.assigned_agent_id.is_(None))
        stmt = stmt.where(or_(*conditions))
    if args.get("requester_id"):
        stmt = stmt.where(Ticket.requester_id.in_(args["requester_id"]))
    if args.get("created_from"):
        stmt = stmt.where(Ticket.created_at >= args["created_from"])
    if args.get("created_to"):
        stmt = stmt.where(Ticket.created_at < args["created_to"])
    if args.get("q"):
        stmt = stmt.where(search.matches(args["q"]))
    now = clock.now()
    if args.get("sla_status"):
        stmt = stmt.where(or_(*(sla.sla_status_condition(s, now) for s in args["sla_status"])))
    if "breached" in args:
        breached = sla.breached_sql(now)
        stmt = stmt.where(breached if args["breached"] else ~breached)
    return stmt


def list_tickets(caller: User, args: dict) -> dict:
    """A page of the tickets the caller may see, as objects the ticket schema dumps."""
    scope = permissions.ticket_scope(caller)
    if "sla_status" in args or "breached" in args:  # compared with the time of the request
        stmt, count = _list_statements(scope, args)
    else:
        stmt, count = _cached_list_statements(scope, _frozen(args))
    rows, total = pagination.plain_rows_and_total(stmt, count, args["page"])
    staff = scope is None
    items = [_list_item(row, staff) for row in rows]
    return pagination.envelope(items, args["page"], args["per_page"], total)


def _list_statements(scope: int | None, args: dict) -> tuple[Select, Select]:
    """The page's select and its count, for the caller's scope and `args`."""
    condition = filter_tickets(permissions.tickets_of(scope, select(Ticket.id)), args)
    count, stmt = _LIST_COUNT, _LIST_PAGE
    if condition.whereclause is not None:
        count, stmt = count.where(condition.whereclause), stmt.where(condition.whereclause)
    stmt = pagination.apply_sort(stmt, args["sort"], SORT_COLUMNS, Ticket.id)
    return pagination.page_with_total(stmt, count, args["page"], args["per_page"]), count


@lru_cache(maxsize=256)
def _cached_list_statements(scope: int | None, frozen_args: tuple) -> tuple[Select, Select]:
    # A statement object built once also keeps its SQL cache key: building the list's select
    # and computing that key were a seventh of the CPU of a list request (bench/README.md).
    # Clients ask for the same lists over and over (a desk's views, polling).
    return _list_statements(scope, dict(frozen_args))


def _frozen(args: dict) -> tuple:
    return tuple(
        sorted(
            (name, tuple(value) if isinstance(value, list) else value)
            for name, value in args.items()
        )
    )


def _list_item(row, staff: bool) -> SimpleNamespace:
    item = SimpleNamespace(**dict(zip(row._fields, row, strict=True)))
    item.requester = SimpleNamespace(
        id=item.requester_id, name=item.requester_name, email=item.requester_email
    )
    item.assigned_agent = None
    if item.assigned_agent_id is not None:
        item.assigned_agent = SimpleNamespace(
            id=item.assigned_agent_id, name=item.agent_name, team=item.agent_team
        )
    item.sla_policy = SimpleNamespace(id=item.sla_policy_id, name=item.sla_policy_name)
    item.viewer_is_staff = staff
    return item


def get_ticket(caller: User, ticket_id: int, *, for_update: bool = False) -> Ticket:
    """The ticket if the caller may see it, else 404; `for_update` locks it first and reads
    it again under the lock, so that concurrent writers queue up instead of colliding."""
    stmt = permissions.visible_tickets(caller).where(Ticket.id == ticket_id)
    if for_update:
        lock_ticket(ticket_id)
        stmt = stmt.execution_options(populate_existing=True)
    ticket = db.session.scalar(stmt)
    if ticket is None:
        raise NotFound(f"Ticket {ticket_id} not found.")
    permissions.mark_viewer(caller, [ticket])
    return ticket


def lock_ticket(ticket_id: int) -> None:
    """Hold the ticket against other writers until this transaction ends.

    PostgreSQL locks the row. SQLite ignores FOR UPDATE, so two requests could both read one
    version of the ticket and the later flush would fail its version check (a 500); a no-op
    UPDATE takes SQLite's write lock instead, and the other writer waits for our commit.
    """
    if db.session.get_bind().dialect.name == "sqlite":
        table = Ticket.__table__
        db.session.execute(
            update(table).where(table.c.id == ticket_id).values(version=table.c.version)
        )
    else:
        db.session.execute(select(Ticket.id).where(Ticket.id == ticket_id).with_for_update())


def _active_agent(agent_id: int | None) -> Agent | None:
    if agent_id is None:
        return None
    agent = db.session.get(Agent, agent_id)
    if agent is None or not agent.is_active or not agent.user.is_active:
        raise ValidationFailed(
            "Tickets can only be assigned to an active agent.",
            errors={"assigned_agent_id": [f"No active agent {agent_id}."]},
        )
    return agent


def _requester(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None or not user.is_active:
        raise ValidationFailed(
            "The requester must be an active user.",
            errors={"requester_id": [f"No active user {user_id}."]},
        )
    return user


def create_ticket(caller: User, data: dict) -> Ticket:
    permissions.check_ticket_create(caller, set(data))
    now = clock.now()
    status = data.pop("status", "open")
    requester = _requester(data.pop("requester_id")) if "requester_id" in data else caller
    agent = _active_agent(data.pop("assigned_agent_id", None))
    ticket = Ticket(
        **data,
        requester=requester,
        assigned_agent=agent,
        status="open",
        created_at=now,
        updated_at=now,
        sla_paused_seconds=0,
        message_count=0,
        public_message_count=0,
    )
    ticket_sla.start(ticket)
    workflow.enter_status(ticket, status, now)
    db.session.add(ticket)
    db.session.flush()
    events.queue("ticket.created", ticket)
    audit.record(ticket, caller, "created")
    permissions.mark_viewer(caller, [ticket])
    return ticket


def update_ticket(caller: User, ticket: Ticket, data: dict) -> Ticket:
    permissions.check_ticket_update(caller, ticket, set(data), data.get("status"))
    now = clock.now()
    changed = rematch = False
    for name in TRACKED_FIELDS:
        if name in data and data[name] != getattr(ticket, name):
            old = getattr(ticket, name)
            setattr(ticket, name, data[name])
            audit.record(ticket, caller, f"{name}_changed", name, old, data[name])
            changed = True
            rematch = rematch or name in ("priority", "category")
    if rematch:
        ticket_sla.rematch(ticket, caller)
    if "assigned_agent_id" in data and data["assigned_agent_id"] != ticket.assigned_agent_id:
        old_id = ticket.assigned_agent_id
        ticket.assigned_agent = _active_agent(data["assigned_agent_id"])
        action = "assigned" if ticket.assigned_agent else "unassigned"
        audit.record(ticket, caller, action, "assigned_agent_id", old_id, data["assigned_agent_id"])
        changed = True
    if "status" in data and data["status"] != ticket.status:
        change_status(caller, ticket, data["status"], now)
        changed = True
    if changed:
        ticket.updated_at = now
        events.queue("ticket.updated", ticket)
    return ticket


def change_status(caller: User, ticket: Ticket, new_status: str, now) -> None:
    workflow.check_transition(
        ticket,
        new_status,
        actor_role=caller.role,
        is_requester=ticket.requester_id == caller.id and not permissions.is_staff(caller),
    )
    old = ticket.status
    workflow.enter_status(ticket, new_status, now)
    action = "reopened" if workflow.is_reopen(old, new_status) else "status_changed"
    audit.record(ticket, caller, action, "status", old, new_status, at=now)


def delete_ticket(ticket: Ticket) -> None:
    """Remove the ticket with its messages and activities (the database cascades them); the
    export learns of it from a tombstone (events.TICKET_DELETED)."""
    events.queue_control(events.TICKET_DELETED, {"ticket_id": ticket.id}, db.session)
    db.session.delete(ticket)
    db.session.flush()


def ensure_not_closed(ticket: Ticket, action: str) -> None:
    if ticket.status == "closed":
        raise Conflict(f"The ticket is closed; you cannot {action}.")
