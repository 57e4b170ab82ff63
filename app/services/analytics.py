"""The reports: SLA adherence, aging, volume and agent performance, as SQL aggregates.

Each report runs a small, fixed number of queries whatever the number of tickets, groups or
periods: counts are `COUNT(CASE WHEN condition THEN 1 END)`, averages `AVG(CASE ...)` and groups
a `GROUP BY`. The SLA conditions are the ones of `sla`, so a ticket that is breached in its own
`sla_status` is breached in every report. "Now" is `clock.now()`, sent as a bound parameter.

Written to stay fast on a big desk (bench/analytics.py, 1,000,000 tickets, against hand-written
SQL), with the indexes of migration 0002: each query reads only the tickets its report is about
(the window, the open tickets, a range of resolved_at), teams are summed from per-agent groups,
volume counts each period on its own range of an index, and aging sums intervals.
"""

from datetime import UTC, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import BigInteger, Float, Numeric, and_, case, cast, func, literal, select
from sqlalchemy import column as column_
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import contains_eager
from sqlalchemy.sql.functions import FunctionElement

from app import clock
from app.extensions import db
from app.models.ticket import CATEGORIES, OPEN_STATUSES, PRIORITIES, STATUSES, Ticket
from app.models.types import UTCDateTime
from app.models.user import Agent, User
from app.services import permissions, sla, tickets

DEFAULT_WINDOW = timedelta(days=30)
MAX_PERIODS = 1000
PERIOD_LENGTHS = {"day": timedelta(days=1), "week": timedelta(weeks=1)}
# (bucket, upper bound of the age in days); the lower bound of each is the one before it.
AGE_BUCKETS = (("0-1d", 1), ("1-3d", 3), ("3-7d", 7), ("7-30d", 30), ("30d+", None))
OLDEST_LIMIT = 5
NO_KEY = "none"  # the `by` key of tickets without a value (no team), as JSON keys are strings

GROUP_COLUMNS = {
    "priority": Ticket.priority,
    "category": Ticket.category,
    "status": Ticket.status,
    "team": Agent.team,
    "agent": Ticket.assigned_agent_id,
    "policy": Ticket.sla_policy_id,
}
KNOWN_KEYS = {"priority": PRIORITIES, "category": CATEGORIES, "status": STATUSES}
SLA_COUNTS = (
    "tickets",
    "responded",
    "response_met",
    "response_breached",
    "resolved",
    "resolution_met",
    "resolution_breached",
    "open_breached",
)


# --- small SQL and number helpers --------------------------------------------------------------


def count_where(*conditions):
    """How many rows meet every condition (0, never NULL, when none does)."""
    return func.count(case((and_(*conditions), 1))) if conditions else func.count()


def average_where(value, *conditions):
    """The average of `value` over the rows meeting every condition (NULL when none does)."""
    return func.avg(case((and_(*conditions), value)))


def seconds_between(start, end):
    return sla.epoch(end) - sla.epoch(start)


def created_between(start: datetime, end: datetime):
    """Tickets created in the window: `start` inclusive, `end` exclusive."""
    return and_(Ticket.created_at >= start, Ticket.created_at < end)


def round_2(value) -> float | None:
    """Half-up to 2 decimals, as by hand (Python's round() is half-even on binary floats)."""
    if value is None:
        return None
    return float(Decimal(str(value)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def percent(part: int, whole: int) -> float | None:
    return round_2(Decimal(part) * 100 / Decimal(whole)) if whole else None


def _group_order(group_by: str):
    """Sort key of group keys: the model's order for enums, else ascending with None last."""
    if group_by in KNOWN_KEYS:
        return lambda key: KNOWN_KEYS[group_by].index(key)
    return lambda key: (key is None, "" if key is None else key)


def _grouped(group_by: str, columns: list, keys: tuple = (), where=None):
    """SELECT `columns` over tickets, grouped by `group_by` (labelled `key`) and `keys`.

    `columns` are labelled counts and sums, `keys` labelled expressions of the ticket, and
    `where(stmt)` adds the conditions. Teams are summed from the groups of each agent: agents are
    joined to those few rows rather than to every ticket.
    """
    if group_by == "team":
        per_agent = _grouped("agent", columns, keys, where).subquery()
        extra = [per_agent.c[key.name] for key in keys]
        return (
            select(
                Agent.team.label("key"),
                *extra,
                *(_resum(per_agent.c[column.name]).label(column.name) for column in columns),
            )
            .select_from(per_agent.outerjoin(Agent, per_agent.c.key == Agent.id))
            .group_by(Agent.team, *extra)
        )
    key = GROUP_COLUMNS[group_by]
    stmt = select(key.label("key"), *keys, *columns).select_from(Ticket)
    stmt = where(stmt) if where is not None else stmt
    return stmt.group_by(key, *(key_.element for key_ in keys))


def _resum(column):
    """The sum of partial counts (an integer on both databases) or of partial sums."""
    if isinstance(column.type, Numeric):
        return func.sum(column)
    return cast(func.sum(column), BigInteger)


# --- SLA adherence -----------------------------------------------------------------------------


def _sla_columns(now: datetime) -> list:
    """The SLA counts of the contract, over the tickets the query selects."""

    def count(name: str, *conditions):
        return count_where(*conditions).label(name)

    return [
        count("tickets"),
        count("responded", Ticket.first_response_at.is_not(None)),
        count("response_met", Ticket.first_response_at <= Ticket.response_due_at),
        count("response_breached", sla.response_breached_sql(now)),
        count("resolved", Ticket.resolved_at.is_not(None)),
        count("resolution_met", Ticket.resolved_at <= Ticket.resolution_due_at),
        count("resolution_breached", sla.resolution_breached_sql(now)),
        count("open_breached", Ticket.status.in_(OPEN_STATUSES), sla.breached_sql(now)),
    ]


def _sla_metrics(counts) -> dict:
    metrics = {name: counts[name] for name in SLA_COUNTS}
    metrics["response_adherence_pct"] = percent(
        counts["response_met"], counts["response_met"] + counts["response_breached"]
    )
    metrics["resolution_adherence_pct"] = percent(
        counts["resolution_met"], counts["resolution_met"] + counts["resolution_breached"]
    )
    return metrics


def sla_adherence(args: dict) -> dict:
    """Response and resolution adherence of the tickets created in the window, by group.

    One grouped query; `overall` is the sum of the groups' counts.
    """
    start, end, group_by = args["from_"], args["to"], args["group_by"]
    stmt = _grouped(
        group_by, _sla_columns(clock.now()), where=lambda s: s.where(created_between(start, end))
    )
    rows = db.session.execute(stmt).mappings().all()
    order = _group_order(group_by)
    rows = sorted(rows, key=lambda row: order(row["key"]))
    groups = [{"key": row["key"], **_sla_metrics(row)} for row in rows]
    totals = {name: sum(row[name] for row in rows) for name in SLA_COUNTS}
    return {
        "from_": start,
        "to": end,
        "group_by": group_by,
        "overall": _sla_metrics(totals),
        "groups": groups,
    }


# --- aging -------------------------------------------------------------------------------------


def _age_bucket(now: datetime):
    """The bucket of a ticket's age; each lower bound inclusive (exactly 1 day old is 1-3d)."""
    limits = [(name, days) for name, days in AGE_BUCKETS if days is not None]
    return case(
        *((Ticket.created_at > now - timedelta(days=days), name) for name, days in limits),
        else_=AGE_BUCKETS[-1][0],
    )


def _open_tickets(caller: User, args: dict, stmt=None):
    stmt = tickets.filter_tickets(permissions.visible_tickets(caller, stmt), args)
    return stmt.where(Ticket.status.in_(OPEN_STATUSES))


class summed_age(FunctionElement):
    """The sum of `now - created_at` over the rows, in seconds: summed_age(now, now_seconds, col).

    PostgreSQL sums intervals and takes the epoch of the total once: exact, and without numeric
    arithmetic per row (EXTRACT(EPOCH ...) is numeric). The total holds 2**31 days, some 5.8
    million ticket-years per group and bucket, beyond which PostgreSQL raises an error rather
    than a wrong sum. SQLite sums float seconds.
    """

    type = Numeric().with_variant(Float(), "sqlite")
    inherit_cache = True


@compiles(summed_age, "postgresql")
def _summed_age_postgresql(element, compiler, **kw):
    now, _, column = element.clauses
    return (
        f"EXTRACT(EPOCH FROM sum({compiler.process(now, **kw)} - {compiler.process(column, **kw)}))"
    )


@compiles(summed_age)
def _summed_age_default(element, compiler, **kw):
    _, now_seconds, column = element.clauses
    return compiler.process(func.sum(now_seconds - sla.epoch(column)), **kw)


def aging(caller: User, args: dict) -> dict:
    """Open tickets by age bucket and group, their average age, and the oldest five.

    Two queries: counts and summed ages per (bucket, group), and the oldest tickets.
    """
    now = clock.now()
    age = summed_age(literal(now, UTCDateTime()), literal(now.timestamp()), Ticket.created_at)
    stmt = _grouped(
        args["group_by"],
        [func.count().label("tickets"), age.label("age")],
        keys=(_age_bucket(now).label("bucket"),),
        where=lambda s: _open_tickets(caller, args, s),
    )
    rows = db.session.execute(stmt).mappings().all()

    buckets = {name: {"bucket": name, "count": 0, "by": {}} for name, _ in AGE_BUCKETS}
    for row in rows:
        entry = buckets[row["bucket"]]
        entry["count"] += row["tickets"]
        entry["by"][NO_KEY if row["key"] is None else str(row["key"])] = row["tickets"]
    total = sum(row["tickets"] for row in rows)
    total_age = sum(row["age"] for row in rows)

    oldest_stmt = _open_tickets(caller, args).order_by(Ticket.created_at, Ticket.id)
    oldest = db.session.scalars(oldest_stmt.limit(OLDEST_LIMIT)).unique().all()
    for ticket in oldest:
        ticket.age_seconds = int((now - ticket.created_at).total_seconds())
    permissions.mark_viewer(caller, oldest)
    sla.annotate(oldest, now)
    return {
        "as_of": now,
        "total_open": total,
        "average_age_seconds": round_2(total_age / total) if total else None,
        "buckets": list(buckets.values()),
        "oldest": oldest,
    }


# --- volume ------------------------------------------------------------------------------------


def period_start(moment: datetime, interval: str) -> datetime:
    """Midnight UTC starting the day, or the Monday of the ISO week, that holds `moment`."""
    day = datetime.combine(moment.astimezone(UTC).date(), time(), UTC)
    return day - timedelta(days=day.weekday()) if interval == "week" else day


def period_count(start: datetime, end: datetime, interval: str) -> int:
    """How many days or weeks meet the window [start, end)."""
    if end <= start:
        return 0
    return -((period_start(start, interval) - end) // PERIOD_LENGTHS[interval])


def _periods(start: datetime, end: datetime, interval: str) -> list[tuple]:
    """(start, low, high) of each period that meets [start, end); [low, high) is the part of
    the window in it."""
    first, step = period_start(start, interval), PERIOD_LENGTHS[interval]
    moments = [first + index * step for index in range(period_count(start, end, interval))]
    return [(moment, max(start, moment), min(end, moment + step)) for moment in moments]


def _count_between(column, low, high):
    return select(func.count()).where(column >= low, column < high).scalar_subquery()


def _open_at(moment: datetime):
    """How many tickets were open at `moment`: created before it and not resolved by then.

    Counted as the unresolved ones plus the ones resolved since, two disjoint counts that each
    read one range of ix_tickets_resolved_at_created_at, rather than one OR over the table.
    """
    created_before = Ticket.created_at < moment
    unresolved = select(func.count()).where(Ticket.resolved_at.is_(None), created_before)
    resolved_since = select(func.count()).where(Ticket.resolved_at >= moment, created_before)
    return unresolved.scalar_subquery() + resolved_since.scalar_subquery()


def _volume_counts(start: datetime, periods: list) -> tuple[int, list[tuple[int, int]]]:
    """The backlog open at `start`, and how many tickets were created and resolved in each
    period's [low, high).

    Each period is counted on its own range of an index (created_at; resolved_at) rather than
    every ticket of the window being grouped by an expression of its timestamp: the work is
    reading the index entries in range, with nothing computed per ticket. PostgreSQL takes the
    bounds as two arrays and answers everything in one statement, with one correlated count per
    period and column. SQLite, which has no arrays, gets one scalar subquery per period in two
    statements (MAX_PERIODS columns each, within its limit of 2000) and one for the backlog.
    """
    if db.session.get_bind().dialect.name == "postgresql":
        moments = ARRAY(UTCDateTime())
        bounds = (
            func.unnest(
                literal([low for _, low, _ in periods], moments),
                literal([high for _, _, high in periods], moments),
            )
            .table_valued(
                column_("low", UTCDateTime()),
                column_("high", UTCDateTime()),
                with_ordinality="position",
            )
            .render_derived()
        )
        low, high = bounds.c.low, bounds.c.high
        stmt = (
            select(
                _count_between(Ticket.created_at, low, high),
                _count_between(Ticket.resolved_at, low, high),
                _open_at(start),
            )
            .select_from(bounds)
            .order_by(bounds.c.position)
        )
        rows = db.session.execute(stmt).all()
        return rows[0][2], [(created, resolved) for created, resolved, _ in rows]
    created, resolved = (
        db.session.execute(
            select(*(_count_between(column, low, high) for _, low, high in periods))
        ).one()
        for column in (Ticket.created_at, Ticket.resolved_at)
    )
    return db.session.scalar(select(_open_at(start))), list(zip(created, resolved, strict=True))


def volume(args: dict) -> dict:
    """Tickets created and resolved per period, and the backlog open at the end of each.

    One query on PostgreSQL, three on SQLite (none when the window is empty); the backlog of
    each period follows from the one open when the window starts by adding what was created
    and taking what was resolved. Counts stay inside the window, so a period cut by `from` or
    `to` counts only its part in it.
    """
    start, end, interval = args["from_"], args["to"], args["interval"]
    periods = _periods(start, end, interval)
    if not periods:
        return {"interval": interval, "series": []}
    backlog, counts = _volume_counts(start, periods)
    series = []
    for (moment, _, _), (created, resolved) in zip(periods, counts, strict=True):
        backlog += created - resolved
        series.append(
            {
                "period_start": moment,
                "created": created,
                "resolved": resolved,
                "backlog": backlog,
            }
        )
    return {"interval": interval, "series": series}


# --- agent performance -------------------------------------------------------------------------


def _performance_columns(now: datetime) -> list:
    """The counts and averages of an agent's tickets (the window is the query's WHERE)."""
    return [
        Ticket.assigned_agent_id,
        *_sla_columns(now),
        average_where(
            seconds_between(Ticket.created_at, Ticket.first_response_at),
            Ticket.first_response_at.is_not(None),
        ).label("avg_first_response"),
        average_where(
            seconds_between(Ticket.created_at, Ticket.resolved_at),
            Ticket.resolved_at.is_not(None),
        ).label("avg_resolution"),
    ]


NO_TICKETS = {
    **dict.fromkeys(SLA_COUNTS, 0),
    "open_now": 0,
    "avg_first_response": None,
    "avg_resolution": None,
}


def _performance_row(agent: Agent, stats) -> dict:
    sla_metrics = _sla_metrics(stats)
    return {
        "agent_id": agent.id,
        "name": agent.name,
        "team": agent.team,
        "assigned": stats["tickets"],
        "resolved": stats["resolved"],
        "open_now": stats["open_now"],
        "avg_first_response_seconds": round_2(stats["avg_first_response"]),
        "avg_resolution_seconds": round_2(stats["avg_resolution"]),
        "response_adherence_pct": sla_metrics["response_adherence_pct"],
        "resolution_adherence_pct": sla_metrics["resolution_adherence_pct"],
        "load_pct": percent(stats["open_now"], agent.max_open_tickets),
    }


def agent_performance(caller: User, args: dict) -> dict:
    """One row per active agent (within `team`); an agent caller gets only its own row.

    Three queries: the agents, the counts and averages of their tickets created in the window,
    and `open_now`, the current open load of each, unwindowed. Each reads only its own tickets
    (the window by created_at; the open ones), not every ticket of every agent.
    """
    start, end = args["from_"], args["to"]
    stmt = (
        select(Agent)
        .join(Agent.user)
        .options(contains_eager(Agent.user))
        .where(Agent.is_active, User.is_active)
        .order_by(func.lower(User.name), Agent.id)
    )
    if args.get("team"):
        stmt = stmt.where(func.lower(Agent.team) == args["team"].lower())
    if not permissions.is_manager(caller):
        stmt = stmt.where(Agent.user_id == caller.id)
    agents = db.session.scalars(stmt).all()

    stats, open_now = {}, {}
    if agents:
        theirs = Ticket.assigned_agent_id.in_([agent.id for agent in agents])
        stats_stmt = (
            select(*_performance_columns(clock.now()))
            .where(theirs, created_between(start, end))
            .group_by(Ticket.assigned_agent_id)
        )
        stats = {row["assigned_agent_id"]: row for row in db.session.execute(stats_stmt).mappings()}
        open_stmt = (
            select(Ticket.assigned_agent_id, func.count())
            .where(theirs, Ticket.status.in_(OPEN_STATUSES))
            .group_by(Ticket.assigned_agent_id)
        )
        open_now = dict(db.session.execute(open_stmt).all())
    rows = [
        _performance_row(
            agent, {**stats.get(agent.id, NO_TICKETS), "open_now": open_now.get(agent.id, 0)}
        )
        for agent in agents
    ]
    return {"from_": start, "to": end, "agents": rows}
