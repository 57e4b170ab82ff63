"""Ticket list items, dumped once per version of what they show and then reused.

A list reads the same first pages far more often than their tickets change, and loading a
ticket as ORM objects and dumping it is most of what a page costs (bench/scale.py). So a
page first reads each ticket's dump key: the ticket's version (every write of a ticket row
raises it), what the dump shows of its requester, agent and policy, and whether the viewer
is staff (`message_count`). Only tickets whose key this worker has not dumped yet are
loaded and dumped; the others come from an LRU cache bounded in bytes. A dump also holds
until the next of the ticket's stored SLA instants, when one of its SLA values moves.

Ids are never reused, so a key names one dump for the life of the database; restoring a
backup under running workers is the exception: restart them.
"""

from dataclasses import dataclass
from datetime import datetime

from flask import Flask, current_app
from sqlalchemy import Select, select

from app.extensions import db
from app.models.sla import SlaPolicy
from app.models.ticket import Ticket
from app.models.user import Agent, User
from app.schemas.ticket import TicketSchema
from app.services import permissions, sla
from app.shared_lru import SharedLRU


def _of_ticket(column, *conditions):
    return select(column).where(*conditions).scalar_subquery()


# What a list row reads instead of the whole ticket: the parts of its dump's key. Subqueries
# rather than joins: PostgreSQL plans a five-table join in about 2 ms, longer than it takes
# to run it (pgbench on the 100,000-ticket desk: 2.2 ms a page against 0.8 ms).
KEY_COLUMNS = (
    Ticket.id,
    Ticket.version,
    _of_ticket(User.name, User.id == Ticket.requester_id).label("requester_name"),
    _of_ticket(User.email, User.id == Ticket.requester_id).label("requester_email"),
    _of_ticket(User.name, Agent.id == Ticket.assigned_agent_id, User.id == Agent.user_id).label(
        "agent_name"
    ),
    _of_ticket(Agent.team, Agent.id == Ticket.assigned_agent_id).label("agent_team"),
    _of_ticket(SlaPolicy.name, SlaPolicy.id == Ticket.sla_policy_id).label("policy_name"),
)
_SCHEMA = TicketSchema()
_EXTENSION = "ticket_dumps"


@dataclass(frozen=True)
class _Dump:
    item: dict
    valid_until: datetime | None  # None: no SLA value of it moves any more
    size: int


class DumpCache(SharedLRU):
    """Dumps, bounded in (approximate) bytes."""

    def __init__(self, max_bytes: int):
        super().__init__(max_bytes, getsizeof=lambda dump: dump.size)


def init_app(app: Flask) -> None:
    app.extensions[_EXTENSION] = DumpCache(app.config["TICKET_DUMP_CACHE_MB"] * 1024 * 1024)


def cache() -> DumpCache:
    return current_app.extensions[_EXTENSION]


def key_select(stmt: Select) -> Select:
    """`stmt` (a select of tickets) reading the dump keys instead of the tickets."""
    return stmt.with_only_columns(*KEY_COLUMNS)


def dumps(caller: User, rows: list, now: datetime) -> list[dict]:
    """The dumps of the tickets whose key rows (KEY_COLUMNS) are `rows`, as of `now`, in order;
    one statement loads those not cached. A ticket deleted meanwhile is left out."""
    staff, dumped = permissions.is_staff(caller), cache()
    keys = [(*row, staff) for row in rows]
    found = {}
    for key, dump in zip(keys, dumped.get_many(keys), strict=True):
        if dump is not None and (dump.valid_until is None or now < dump.valid_until):
            found[key[0]] = dump.item
    missing = [key[0] for key in keys if key[0] not in found]
    if missing:
        tickets = list(db.session.scalars(select(Ticket).where(Ticket.id.in_(missing))))
        permissions.mark_viewer(caller, tickets)
        sla.annotate(tickets, now)
        for ticket in tickets:
            found[ticket.id] = _SCHEMA.dump(ticket)
            # About 2.7 KB for a sample ticket's dump and its entry (tracemalloc), most not text.
            size = len(ticket.description) + len(ticket.title) + 2500
            dump = _Dump(found[ticket.id], _valid_until(ticket, now), size)
            dumped.put(_key_of(ticket, staff), dump)
    return [found[key[0]] for key in keys if key[0] in found]


def _key_of(ticket: Ticket, staff: bool) -> tuple:
    agent, policy = ticket.assigned_agent, ticket.sla_policy
    return (
        ticket.id,
        ticket.version,
        ticket.requester.name,
        ticket.requester.email,
        agent.name if agent else None,
        agent.team if agent else None,
        policy.name if policy else None,
        staff,
    )


def _valid_until(ticket: Ticket, now: datetime) -> datetime | None:
    """The first of the ticket's SLA instants not before `now`: until then its SLA values
    (breached, at risk) stay as they are now. One equal to `now` makes the dump stale at once:
    a breach comes just after its instant."""
    instants = (
        ticket.response_at_risk_at,
        ticket.response_due_at,
        ticket.resolution_at_risk_at,
        ticket.resolution_due_at,
    )
    coming = [instant for instant in instants if instant is not None and instant >= now]
    return min(coming, default=None)
