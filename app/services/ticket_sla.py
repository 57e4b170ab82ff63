"""A ticket's SLA policy and clocks: the policy it matches, its pauses from the audit trail,
and the recompute of open tickets when the rules change (API.md section 10).

A recompute is a replay: each open ticket's clocks are worked out again from its `created_at`,
priority, category, first response and the pauses its status changes recorded, exactly as
the live path would have worked them out had the new rules applied from the start (the live
path records each status change at the instant it paused or resumed the clock, and both add
up pauses in whole business seconds, `sla.business_seconds_between`).
"""

from collections import defaultdict
from datetime import datetime, timedelta

from flask import current_app
from psycopg2.extras import execute_values
from sqlalchemy import Integer, bindparam, or_, select, update
from sqlalchemy.orm import lazyload
from sqlalchemy.orm.attributes import set_committed_value

from app import clock
from app.extensions import db
from app.models.sla import CONDITION_KEYS, SlaPolicy, SlaRecompute
from app.models.ticket import OPEN_STATUSES, Activity, Ticket
from app.models.user import User
from app.services import audit, events, sla

BATCH = 500
RECOMPUTE_LEASE = timedelta(minutes=5)
# A request older than this that no worker has taken was lost with the queue.
RECOMPUTE_GRACE = timedelta(seconds=30)
_RECOMPUTE_QUEUED = "sla_recompute_queued"


# --- which policy ------------------------------------------------------------------------------


def default_policy() -> SlaPolicy:
    """The policy of tickets that no other active policy matches (there is always exactly one)."""
    return db.session.scalars(select(SlaPolicy).where(SlaPolicy.is_default)).one()


def policies_in_order() -> list[SlaPolicy]:
    """The active non-default policies by position then id, then the default policy."""
    ordered = db.session.scalars(
        select(SlaPolicy)
        .where(SlaPolicy.is_active | SlaPolicy.is_default)
        .order_by(SlaPolicy.is_default, SlaPolicy.position, SlaPolicy.id)
    ).all()
    return list(ordered)


def match(
    priority: str,
    category: str,
    requester_department: str | None,
    policies: list[SlaPolicy] | None = None,
) -> SlaPolicy:
    """The first active non-default policy, by position then id, whose conditions all match;
    else the default policy. A condition missing or with an empty list matches anything;
    departments compare without regard to case or surrounding spaces."""
    values = {
        "priority": priority,
        "category": category,
        "requester_department": _department_key(requester_department),
    }
    for policy in policies if policies is not None else policies_in_order():
        if policy.is_default or all(
            _condition_holds(policy.conditions, key, values[key]) for key in CONDITION_KEYS
        ):
            return policy
    raise LookupError("no default SLA policy")  # migration 0006 creates it; it cannot go


def _condition_holds(conditions: dict, key: str, value: str | None) -> bool:
    allowed = (conditions or {}).get(key) or []
    if not allowed:
        return True
    if key == "requester_department":
        return value in {_department_key(item) for item in allowed}
    return value in allowed


def _department_key(department: str | None) -> str | None:
    return department.strip().casefold() if department else None


# --- one ticket, live ----------------------------------------------------------------------------


def start(ticket: Ticket) -> None:
    """A new ticket: its policy, and both clocks from `created_at`."""
    ticket.sla_paused_seconds = 0
    policy = match(ticket.priority, ticket.category, ticket.requester.department)
    sla.set_clocks(ticket, policy)


def rematch(ticket: Ticket, actor: User) -> None:
    """Priority or category changed: the policy is matched again and the clocks replayed (with
    no flush midway, so that the ticket is written once)."""
    with db.session.no_autoflush:
        _replay(ticket, policies_in_order(), _pauses_of([ticket]).get(ticket.id, []), actor.id)


# --- pauses from the audit trail -----------------------------------------------------------------


def pauses(ticket: Ticket) -> list[tuple[datetime, datetime | None]]:
    """The ticket's pauses, oldest first: (start, end), end None for the pause going on."""
    return _pauses_of([ticket]).get(ticket.id, [])


def _pauses_of(tickets: list[Ticket]) -> dict[int, list[tuple[datetime, datetime | None]]]:
    """Each ticket's pauses, from its status changes into and out of `pending` (one query). A
    ticket created as pending has no status change for its first pause: it began at
    `created_at`. The pause going on began at `sla_paused_at`."""
    by_id = {ticket.id: ticket for ticket in tickets}
    rows = db.session.execute(
        select(Activity.ticket_id, Activity.old_value, Activity.new_value, Activity.created_at)
        .where(
            Activity.ticket_id.in_(by_id),
            Activity.field == "status",
            or_(Activity.old_value == "pending", Activity.new_value == "pending"),
        )
        .order_by(Activity.ticket_id, Activity.id)
    )
    found: dict[int, list] = defaultdict(list)
    started: dict[int, datetime] = {}
    for ticket_id, old, new, at in rows:
        if old == "pending":
            begun = started.pop(ticket_id, by_id[ticket_id].created_at)
            found[ticket_id].append((begun, at))
        if new == "pending":
            started[ticket_id] = at
    for ticket in tickets:
        if ticket.status == "pending":
            found[ticket.id].append((ticket.sla_paused_at or ticket.created_at, None))
    return found


# --- replay ------------------------------------------------------------------------------------


def _replay(
    ticket: Ticket,
    policies: list[SlaPolicy],
    ticket_pauses: list[tuple[datetime, datetime | None]],
    actor_id: int | None,
) -> bool:
    """Put the ticket on the policy it matches, with its clocks worked out from the start;
    record `sla_policy_changed` when the policy changed. True when anything changed."""
    policy = match(ticket.priority, ticket.category, ticket.requester.department, policies)
    calendar = sla.calendar_of(policy.calendar)
    before = _clock_fields(ticket)
    old_policy_id = ticket.sla_policy_id
    ticket.sla_paused_seconds = sum(
        sla.business_seconds_between(calendar, begun, ended)
        for begun, ended in ticket_pauses
        if ended is not None
    )
    sla.set_clocks(ticket, policy)
    if old_policy_id != policy.id:
        audit.record(
            ticket,
            db.session.get(User, actor_id) if actor_id else None,
            "sla_policy_changed",
            "sla_policy_id",
            old_policy_id,
            policy.id,
        )
    return _clock_fields(ticket) != before


def _clock_fields(ticket: Ticket) -> tuple:
    return (
        ticket.sla_policy_id if ticket.sla_policy is None else ticket.sla_policy.id,
        ticket.sla_paused_seconds,
        *(getattr(ticket, name) for name in sla.ClockInstants._fields),
    )


def recompute_batch(after_id: int, actor_id: int | None, policy_id: int | None = None):
    """Replay the next `BATCH` open tickets with ids above `after_id` (only those on
    `policy_id` if given), each changed one with its `ticket.updated` event. Returns the last
    id done, or None when there were none. The rows are held against concurrent writers until
    the caller commits: locked on PostgreSQL, SQLite's write lock taken before reading."""
    if db.session.get_bind().dialect.name == "sqlite":
        table = Ticket.__table__
        db.session.execute(update(table).where(table.c.id == -1).values(version=table.c.version))
    policies = policies_in_order()
    stmt = (
        select(Ticket)
        .where(Ticket.status.in_(OPEN_STATUSES), Ticket.id > after_id)
        .order_by(Ticket.id)
        .limit(BATCH)
        .with_for_update(of=Ticket)
        # A ticket's policy is one of `policies`, already in the session: joining it (with its
        # calendar and their JSON) to every row cost more than the replay itself.
        .options(lazyload(Ticket.sla_policy))
    )
    if policy_id is not None:
        stmt = stmt.where(Ticket.sla_policy_id == policy_id)
    batch = db.session.scalars(stmt).unique().all()
    if not batch:
        return None
    found = _pauses_of(batch)
    # No flush midway (loading the actor for an activity would autoflush): `_store` writes.
    with db.session.no_autoflush:
        changed = [
            ticket
            for ticket in batch
            if _replay(ticket, policies, found.get(ticket.id, []), actor_id)
        ]
        _store(changed)
    for ticket in changed:
        events.queue("ticket.updated", ticket)
    return batch[-1].id


# What a replay changes on a ticket, stored by `_store` (sla_policy_id from `sla_policy`).
_STORED = ("sla_paused_seconds", *sla.ClockInstants._fields, "sla_next_alert_at")
_TICKETS = Ticket.__table__
_STORE_STATEMENT = (
    update(_TICKETS)
    .where(
        _TICKETS.c.id == bindparam("b_id", type_=Integer),
        _TICKETS.c.version == bindparam("b_version", type_=Integer),
    )
    .values(
        version=_TICKETS.c.version + 1,
        sla_policy_id=bindparam("b_sla_policy_id", type_=Integer),
        # Typed, so that SQLite gets the timestamps in the text form every other write uses.
        **{name: bindparam(f"b_{name}", type_=_TICKETS.c[name].type) for name in _STORED},
    )
)


_POSTGRESQL_NAMES = ("id", "version", "sla_policy_id", *_STORED)
_POSTGRESQL_STORE = (
    "UPDATE tickets SET version = tickets.version + 1, "
    + ", ".join(f"{name} = given.{name}" for name in _POSTGRESQL_NAMES[2:])
    + f" FROM (VALUES %s) AS given ({', '.join(_POSTGRESQL_NAMES)})"
    " WHERE tickets.id = given.id AND tickets.version = given.version"
)
# Typed, so that a column NULL in every row is not taken for text.
_POSTGRESQL_ROW = "(%s, %s, %s, %s" + ", %s::timestamptz" * (len(_STORED) - 1) + ")"


def _store_postgresql(rows: list[dict]) -> int:
    """The same UPDATE as one statement over a VALUES list, built by psycopg2's
    `execute_values`: psycopg2's executemany sends one statement per row (a round trip each),
    and compiling a SQLAlchemy VALUES construct of 500 rows took a fifth of a recompute."""
    cursor = db.session.connection().connection.dbapi_connection.cursor()
    try:
        execute_values(
            cursor,
            _POSTGRESQL_STORE,
            [tuple(row[f"b_{name}"] for name in _POSTGRESQL_NAMES) for row in rows],
            template=_POSTGRESQL_ROW,
            page_size=len(rows),
        )
        return cursor.rowcount
    finally:
        cursor.close()


def _store(tickets: list[Ticket]) -> None:
    """Write the replayed tickets with one UPDATE a batch instead of the unit of work's
    statement per ticket (it never batches versioned rows: 48% of a profiled 10,000-ticket
    recompute; 100,000 open tickets on PostgreSQL took 79.4 s before, 68.7 s after, 55.3 s
    once PostgreSQL's statement was built by execute_values), then
    make the objects hold the written values as committed, so that the flush has nothing left
    to write and the outbox dumps the tickets as stored. The same version bump and compare as
    the unit of work's; the rows are locked since they were read, so no compare can fail."""
    if not tickets:
        return
    rows = []
    for ticket in tickets:
        # What the before_flush hook of app/services/sla.py would have set.
        ticket.sla_next_alert_at = sla.next_alert_at(ticket)
        row = {f"b_{name}": getattr(ticket, name) for name in _STORED}
        row.update(b_id=ticket.id, b_version=ticket.version, b_sla_policy_id=ticket.sla_policy.id)
        rows.append(row)
    if db.session.get_bind().dialect.name == "postgresql":
        written = _store_postgresql(rows)
    else:
        written = db.session.execute(_STORE_STATEMENT, rows).rowcount
    if written not in (-1, len(rows)):
        raise RuntimeError(f"SLA recompute: {written} of {len(rows)} tickets written")
    for ticket, row in zip(tickets, rows, strict=True):
        for name in _STORED:
            set_committed_value(ticket, name, row[f"b_{name}"])
        set_committed_value(ticket, "sla_policy", ticket.sla_policy)
        set_committed_value(ticket, "sla_policy_id", row["b_sla_policy_id"])
        set_committed_value(ticket, "version", row["b_version"] + 1)


def recompute_open(actor_id: int | None, policy_id: int | None = None) -> None:
    """Replay every open ticket (on `policy_id` if given), in the caller's transaction."""
    after_id = 0
    while (after_id := recompute_batch(after_id, actor_id, policy_id)) is not None:
        pass


def move_done_tickets(policy: SlaPolicy, actor: User) -> None:
    """Resolved and closed tickets of a policy about to be deleted go to the default policy,
    keeping their due times (they are measured already)."""
    default = default_policy()
    done = db.session.scalars(
        select(Ticket).where(Ticket.sla_policy_id == policy.id).with_for_update(of=Ticket)
    ).unique()
    for ticket in done:
        ticket.sla_policy = default
        audit.record(ticket, actor, "sla_policy_changed", "sla_policy_id", policy.id, default.id)
        events.queue("ticket.updated", ticket)


def rules_changed(actor: User) -> None:
    """A calendar or policy was created, changed or deleted (flushed, in the caller's
    transaction): replay every open ticket now when they are few, else leave a request that
    the worker carries out after the commit (`app/tasks/sla.py`)."""
    inline_max = current_app.config["SLA_RECOMPUTE_INLINE_MAX"]
    open_ids = select(Ticket.id).where(Ticket.status.in_(OPEN_STATUSES)).limit(inline_max + 1)
    if len(db.session.scalars(open_ids).all()) <= inline_max:
        recompute_open(actor.id)
        return
    db.session.add(SlaRecompute(requested_by_id=actor.id, requested_at=clock.now()))
    db.session.info[_RECOMPUTE_QUEUED] = True


def recompute_queued(session) -> bool:
    """Whether the transaction that `session` just committed left a recompute request."""
    return bool(session.info.pop(_RECOMPUTE_QUEUED, False))


def claim_recompute() -> SlaRecompute | None:
    """Take the newest request no worker holds (or whose worker's lease ran out), with every
    older one: one replay serves them all."""
    now = clock.now()
    newest = db.session.scalar(
        select(SlaRecompute)
        .where(
            SlaRecompute.done_at.is_(None),
            or_(
                SlaRecompute.claimed_at.is_(None),
                SlaRecompute.claimed_at < now - RECOMPUTE_LEASE,
            ),
        )
        .order_by(SlaRecompute.id.desc())
        .limit(1)
    )
    if newest is None:
        return None
    db.session.execute(
        update(SlaRecompute)
        .where(SlaRecompute.id <= newest.id, SlaRecompute.done_at.is_(None))
        .values(claimed_at=now)
    )
    return newest


def finish_recompute(request: SlaRecompute) -> None:
    db.session.execute(
        update(SlaRecompute)
        .where(SlaRecompute.id <= request.id, SlaRecompute.done_at.is_(None))
        .values(done_at=clock.now())
    )


def recompute_waiting() -> bool:
    """A request that no worker took within the grace period, or whose lease ran out."""
    now = clock.now()
    return (
        db.session.scalar(
            select(SlaRecompute.id)
            .where(
                SlaRecompute.done_at.is_(None),
                or_(
                    (SlaRecompute.claimed_at.is_(None))
                    & (SlaRecompute.requested_at < now - RECOMPUTE_GRACE),
                    SlaRecompute.claimed_at < now - RECOMPUTE_LEASE,
                ),
            )
            .limit(1)
        )
        is not None
    )
