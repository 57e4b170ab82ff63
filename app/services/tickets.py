"""Tickets: list with filters, create, update (workflow, SLA, audit, events), delete."""

from sqlalchemy import Integer, func, literal_column, or_, select, update

from app import clock
from app.errors import Conflict, NotFound, ValidationFailed
from app.extensions import db
from app.models.ticket import Ticket
from app.models.user import Agent, User
from app.services import (
    audit,
    events,
    pagination,
    permissions,
    search,
    sla,
    ticket_dumps,
    ticket_sla,
    workflow,
)

# Workflow order, as SQL that migration 0010 indexes with the id (the same text, so that
# PostgreSQL matches the index's expression): a sort by status is a keyset scan too.
STATUS_RANK_SQL = (
    "CASE tickets.status WHEN 'open' THEN 0 WHEN 'in_progress' THEN 1 WHEN 'pending' THEN 2 "
    "WHEN 'resolved' THEN 3 WHEN 'closed' THEN 4 END"
)
STATUS_RANK = literal_column(STATUS_RANK_SQL, Integer)
SORT_COLUMNS = {
    "created_at": Ticket.created_at,
    "updated_at": Ticket.updated_at,
    "priority": Ticket.priority_rank,
    "resolution_due_at": Ticket.resolution_due_at,
    "status": STATUS_RANK,
}
TRACKED_FIELDS = ("title", "description", "priority", "category")


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
    """A page of the tickets the caller may see, dumped (ticket_dumps: a page reads its
    tickets' dump keys, and loads only the tickets whose dump is not cached)."""
    scope = permissions.ticket_scope(caller)

    def build() -> pagination.PageQuery:
        return pagination.page_query(
            filter_tickets(permissions.tickets_of(scope), args),
            pagination.sort_order(args["sort"], SORT_COLUMNS, Ticket.id),
            args,
            list_name="tickets",
            page_select=ticket_dumps.key_select,
        )

    # The statements follow from the arguments and the scope alone, except for filters on
    # SLA values, which compare with the time of the request; a cursor is seldom asked twice.
    if args.get("cursor") or any(name in args for name in ("sla_status", "breached")):
        query = build()
    else:
        key = ("tickets", scope, pagination.max_offset_objects(), _hashable(args))
        query = pagination.cached_query(key, build)
    page = pagination.run(query, item=lambda row: row[: len(ticket_dumps.KEY_COLUMNS)])
    page["items"] = ticket_dumps.dumps(caller, page["items"], clock.now())
    return page


def _hashable(args: dict) -> tuple:
    return tuple(
        sorted(
            (name, tuple(value) if isinstance(value, list) else value)
            for name, value in args.items()
        )
    )


def count_tickets(caller: User, args: dict) -> int:
    """How many tickets the list with these filters holds, exactly."""
    condition = filter_tickets(permissions.visible_tickets(caller, select(Ticket.id)), args)
    return db.session.scalar(select(func.count()).select_from(condition.subquery()))


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
    sla.annotate([ticket], clock.now())
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
    sla.annotate([ticket], now)
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
    sla.annotate([ticket], now)
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
