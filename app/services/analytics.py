"""The reports: SLA adherence, aging, volume and agent performance, as SQL aggregates.

Each report runs a small, fixed number of queries whatever the number of tickets, groups or
periods: counts are `COUNT(CASE WHEN condition THEN 1 END)`, averages `AVG(CASE ...)` and groups
a `GROUP BY`. The SLA conditions are the ones of `sla`, so a ticket that is breached in its own
`sla_status` is breached in every report. "Now" is `clock.now()`, sent as a bound parameter.
"""

from datetime import UTC, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import String, and_, case, func, literal, or_, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import contains_eager
from sqlalchemy.sql.functions import FunctionElement

from app.extensions import db
from app.models.ticket import CATEGORIES, OPEN_STATUSES, PRIORITIES, STATUSES, Ticket
from app.models.user import Agent, User
from app.services import clock, permissions, sla, tickets

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


def _grouped(group_by: str, *columns):
    """SELECT `columns` over tickets, grouped by `group_by` (labelled `key`)."""
    key = GROUP_COLUMNS[group_by]
    stmt = select(key.label("key"), *columns).select_from(Ticket)
    if group_by == "team":
        stmt = stmt.outerjoin(Agent, Ticket.assigned_agent_id == Agent.id)
    return stmt.group_by(key)


# --- SLA adherence -----------------------------------------------------------------------------


def _sla_columns(now: datetime, *within) -> list:
    """The SLA counts of the contract, each over the tickets that also meet `within`."""

    def count(name: str, *conditions):
        return count_where(*within, *conditions).label(name)

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
    stmt = _grouped(group_by, *_sla_columns(clock.now())).where(created_between(start, end))
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


def aging(caller: User, args: dict) -> dict:
    """Open tickets by age bucket and group, their average age, and the oldest five.

    Two queries: counts and summed ages per (bucket, group), and the oldest tickets.
    """
    now = clock.now()
    bucket = _age_bucket(now)
    age = literal(now.timestamp()) - sla.epoch(Ticket.created_at)
    columns = (bucket.label("bucket"), func.count().label("tickets"), func.sum(age).label("age"))
    stmt = _grouped(args["group_by"], *columns).group_by(bucket)
    rows = db.session.execute(_open_tickets(caller, args, stmt)).mappings().all()

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
    return {
        "as_of": now,
        "total_open": total,
        "average_age_seconds": round_2(total_age / total) if total else None,
        "buckets": list(buckets.values()),
        "oldest": oldest,
    }


# --- volume ------------------------------------------------------------------------------------


class utc_day(FunctionElement):
    """The UTC date of a timestamp, as `YYYY-MM-DD` text."""

    type = String()
    inherit_cache = True


class utc_week(FunctionElement):
    """The UTC date of the Monday that starts a timestamp's ISO week, as `YYYY-MM-DD` text."""

    type = String()
    inherit_cache = True


# The one place where the databases need different SQL. SQLite stores naive UTC text, and its
# 'weekday 1' moves forward to the next Monday (or stays on one), hence the 6 days back first.
PERIOD_SQL = {
    ("postgresql", "day"): "to_char(({}) AT TIME ZONE 'UTC', 'YYYY-MM-DD')",
    ("postgresql", "week"): "to_char(date_trunc('week', ({}) AT TIME ZONE 'UTC'), 'YYYY-MM-DD')",
    ("sqlite", "day"): "date({})",
    ("sqlite", "week"): "date({}, '-6 days', 'weekday 1')",
}
PERIOD_FUNCTIONS = {"day": utc_day, "week": utc_week}


@compiles(utc_day)
@compiles(utc_week)
def _compile_period(element, compiler, **kw):
    interval = "week" if isinstance(element, utc_week) else "day"
    template = PERIOD_SQL[(compiler.dialect.name, interval)]
    return template.format(compiler.process(element.clauses, **kw))


def period_start(moment: datetime, interval: str) -> datetime:
    """Midnight UTC starting the day, or the Monday of the ISO week, that holds `moment`."""
    day = datetime.combine(moment.astimezone(UTC).date(), time(), UTC)
    return day - timedelta(days=day.weekday()) if interval == "week" else day


def period_count(start: datetime, end: datetime, interval: str) -> int:
    """How many days or weeks meet the window [start, end)."""
    if end <= start:
        return 0
    return -((period_start(start, interval) - end) // PERIOD_LENGTHS[interval])


def _counts_by_period(column, start: datetime, end: datetime, interval: str) -> dict[str, int]:
    period = PERIOD_FUNCTIONS[interval](column)
    stmt = select(period, func.count()).where(column >= start, column < end).group_by(period)
    return dict(db.session.execute(stmt).all())


def volume(args: dict) -> dict:
    """Tickets created and resolved per period, and the backlog open at the end of each.

    Three queries (created and resolved per period, the backlog when the window opens); the
    backlog of each period then follows by adding what was created and taking what was resolved.
    Counts stay inside the window, so a period cut by `from` or `to` counts only its part in it.
    """
    start, end, interval = args["from_"], args["to"], args["interval"]
    created = _counts_by_period(Ticket.created_at, start, end, interval)
    resolved = _counts_by_period(Ticket.resolved_at, start, end, interval)
    backlog = db.session.scalar(
        select(func.count())
        .select_from(Ticket)
        .where(
            Ticket.created_at < start,
            or_(Ticket.resolved_at.is_(None), Ticket.resolved_at >= start),
        )
    )
    first, step = period_start(start, interval), PERIOD_LENGTHS[interval]
    series = []
    for index in range(period_count(start, end, interval)):
        moment = first + index * step
        key = moment.date().isoformat()
        backlog += created.get(key, 0) - resolved.get(key, 0)
        series.append(
            {
                "period_start": moment,
                "created": created.get(key, 0),
                "resolved": resolved.get(key, 0),
                "backlog": backlog,
            }
        )
    return {"interval": interval, "series": series}


# --- agent performance -------------------------------------------------------------------------


def _performance_columns(start: datetime, end: datetime, now: datetime) -> list:
    window = created_between(start, end)
    return [
        Ticket.assigned_agent_id,
        *_sla_columns(now, window),
        count_where(Ticket.status.in_(OPEN_STATUSES)).label("open_now"),
        average_where(
            seconds_between(Ticket.created_at, Ticket.first_response_at),
            window,
            Ticket.first_response_at.is_not(None),
        ).label("avg_first_response"),
        average_where(
            seconds_between(Ticket.created_at, Ticket.resolved_at),
            window,
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

    Two queries: the agents, and their tickets' counts and averages grouped by agent. The
    window applies to ticket `created_at`; `open_now` is the current open load, unwindowed.
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

    stats = {}
    if agents:
        stats_stmt = (
            select(*_performance_columns(start, end, clock.now()))
            .where(Ticket.assigned_agent_id.in_([agent.id for agent in agents]))
            .group_by(Ticket.assigned_agent_id)
        )
        stats = {row["assigned_agent_id"]: row for row in db.session.execute(stats_stmt).mappings()}
    rows = [_performance_row(agent, stats.get(agent.id, NO_TICKETS)) for agent in agents]
    return {"from_": start, "to": end, "agents": rows}
