"""The SLA clock: due times, the pause while pending, breaches and `sla_status`.

Every rule exists twice, as Python for one ticket and as SQL for filters and reports, and the
two are kept side by side here so that they cannot drift apart.
"""

from datetime import UTC, datetime, timedelta
from typing import NamedTuple

from flask import current_app
from sqlalchemy import BigInteger, Float, and_, case, func, literal, not_, or_
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from app.models.ticket import Ticket
from app.models.types import UTCDateTime
from app.services import business_time

DONE_STATUSES = ("resolved", "closed")
# At risk with less than a quarter of the clock's window left: left * 4 < window, in whole
# microseconds on both sides, so that Python and SQL agree even exactly on the boundary.
AT_RISK_PARTS = 4
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class ClockInstants(NamedTuple):
    """When each clock is due, and the first instant it is at risk (less than a quarter of its
    target left, in business time): stored on the ticket, so SQL compares instants."""

    response_due_at: datetime
    response_at_risk_at: datetime
    resolution_due_at: datetime
    resolution_at_risk_at: datetime


def clock_instants(
    calendar: business_time.Calendar | None,
    created_at: datetime,
    response_minutes: int,
    resolution_minutes: int,
    paused_seconds: int,
) -> ClockInstants:
    """The instants of both clocks of a ticket created at `created_at` whose resolution clock
    has stood still for `paused_seconds` of business time. A clock is at risk once more than
    three quarters of its target have passed: from the first microsecond after that point."""
    response = timedelta(minutes=response_minutes)
    resolution = timedelta(minutes=resolution_minutes)
    paused = timedelta(seconds=paused_seconds)
    tick = timedelta(microseconds=1)

    def after(duration: timedelta) -> datetime:
        return business_time.due_after(calendar, created_at, duration)

    return ClockInstants(
        response_due_at=after(response),
        response_at_risk_at=after(response * 3 / AT_RISK_PARTS + tick),
        resolution_due_at=after(resolution + paused),
        resolution_at_risk_at=after(resolution * 3 / AT_RISK_PARTS + paused + tick),
    )


def targets(priority: str) -> tuple[timedelta, timedelta]:
    response, resolution = current_app.config["SLA_TARGETS"][priority]
    return timedelta(minutes=response), timedelta(minutes=resolution)


def set_due_times(ticket: Ticket) -> None:
    """Due times from `created_at` and the priority; time already spent paused still counts."""
    response, resolution = targets(ticket.priority)
    ticket.response_due_at = ticket.created_at + response
    ticket.resolution_due_at = (
        ticket.created_at + resolution + timedelta(seconds=ticket.sla_paused_seconds or 0)
    )


def pause(ticket: Ticket, at: datetime) -> None:
    ticket.sla_paused_at = at


def resume(ticket: Ticket, at: datetime) -> None:
    """Leaving `pending`: the resolution due time moves later by the time spent paused."""
    if ticket.sla_paused_at is None:
        return
    paused = max(0, int((at - ticket.sla_paused_at).total_seconds()))
    ticket.sla_paused_seconds = (ticket.sla_paused_seconds or 0) + paused
    ticket.resolution_due_at = ticket.resolution_due_at + timedelta(seconds=paused)
    ticket.sla_paused_at = None


# --- one ticket, in Python -------------------------------------------------------------------


def response_breached(ticket: Ticket, now: datetime) -> bool:
    if ticket.first_response_at is None:
        return now > ticket.response_due_at
    return ticket.first_response_at > ticket.response_due_at


def resolution_breached(ticket: Ticket, now: datetime) -> bool:
    if ticket.resolved_at is None:
        # While paused the clock stands still at the moment the pause began.
        return (ticket.sla_paused_at or now) > ticket.resolution_due_at
    return ticket.resolved_at > ticket.resolution_due_at


def at_risk(ticket: Ticket, now: datetime) -> bool:
    if ticket.first_response_at is None:
        due, clock = ticket.response_due_at, now
    else:
        due, clock = ticket.resolution_due_at, ticket.sla_paused_at or now
    return (due - clock) * AT_RISK_PARTS < due - ticket.created_at


def sla_status(ticket: Ticket, now: datetime) -> str:
    if response_breached(ticket, now) or resolution_breached(ticket, now):
        return "breached"
    if ticket.status in DONE_STATUSES:
        return "met"
    return "at_risk" if at_risk(ticket, now) else "on_track"


# --- many tickets, in SQL ----------------------------------------------------------------------


class epoch(FunctionElement):
    """Seconds since 1970 of a timestamp column, on either database."""

    type = Float()
    inherit_cache = True


@compiles(epoch, "postgresql")
def _epoch_postgresql(element, compiler, **kw):
    return f"EXTRACT(EPOCH FROM {compiler.process(element.clauses, **kw)})"


@compiles(epoch, "sqlite")
def _epoch_sqlite(element, compiler, **kw):
    return f"((julianday({compiler.process(element.clauses, **kw)}) - 2440587.5) * 86400.0)"


class epoch_microseconds(FunctionElement):
    """Whole microseconds since 1970 of a timestamp column, exact on either database."""

    type = BigInteger()
    inherit_cache = True


@compiles(epoch_microseconds, "postgresql")
def _epoch_microseconds_postgresql(element, compiler, **kw):
    column = compiler.process(element.clauses, **kw)
    return f"CAST(ROUND(EXTRACT(EPOCH FROM {column}) * 1000000) AS BIGINT)"


@compiles(epoch_microseconds, "sqlite")
def _epoch_microseconds_sqlite(element, compiler, **kw):
    # Stored as 'YYYY-MM-DD HH:MM:SS[.ffffff]' (see UTCDateTime); julianday() is a float that
    # loses the last microseconds, so whole seconds and the fraction are read separately.
    column = compiler.process(element.clauses, **kw)
    return (
        f"(CAST(strftime('%s', {column}) AS INTEGER) * 1000000"
        f" + CAST(substr({column}, 21, 6) AS INTEGER))"
    )


def _microseconds(moment: datetime) -> int:
    return (moment - EPOCH) // timedelta(microseconds=1)


def _moment(now: datetime):
    return literal(now, UTCDateTime())


# Each branch tests its column for NULL explicitly: a bare `first_response_at > due` is NULL,
# not false, for unanswered tickets, and NOT (... OR NULL) would drop them from `breached=false`.


def response_breached_sql(now: datetime):
    return or_(
        and_(Ticket.first_response_at.is_(None), Ticket.response_due_at < _moment(now)),
        and_(
            Ticket.first_response_at.is_not(None),
            Ticket.first_response_at > Ticket.response_due_at,
        ),
    )


def resolution_breached_sql(now: datetime):
    clock = func.coalesce(Ticket.sla_paused_at, _moment(now))
    return or_(
        and_(Ticket.resolved_at.is_(None), Ticket.resolution_due_at < clock),
        and_(Ticket.resolved_at.is_not(None), Ticket.resolved_at > Ticket.resolution_due_at),
    )


def breached_sql(now: datetime):
    return or_(response_breached_sql(now), resolution_breached_sql(now))


def at_risk_sql(now: datetime):
    now_microseconds = literal(_microseconds(now), BigInteger())
    created = epoch_microseconds(Ticket.created_at)
    response_due = epoch_microseconds(Ticket.response_due_at)
    resolution_due = epoch_microseconds(Ticket.resolution_due_at)
    resolution_clock = func.coalesce(epoch_microseconds(Ticket.sla_paused_at), now_microseconds)
    return or_(
        and_(
            Ticket.first_response_at.is_(None),
            (response_due - now_microseconds) * AT_RISK_PARTS < response_due - created,
        ),
        and_(
            Ticket.first_response_at.is_not(None),
            (resolution_due - resolution_clock) * AT_RISK_PARTS < resolution_due - created,
        ),
    )


def sla_status_condition(status: str, now: datetime):
    """A WHERE condition selecting the tickets whose `sla_status` is `status`."""
    breached = breached_sql(now)
    done = Ticket.status.in_(DONE_STATUSES)
    if status == "breached":
        return breached
    if status == "met":
        return and_(not_(breached), done)
    risky = at_risk_sql(now)
    if status == "at_risk":
        return and_(not_(breached), not_(done), risky)
    return and_(not_(breached), not_(done), not_(risky))


def sla_status_sql(now: datetime):
    """The `sla_status` of each ticket as a SQL expression (for GROUP BY in reports)."""
    return case(
        (breached_sql(now), "breached"),
        (Ticket.status.in_(DONE_STATUSES), "met"),
        (at_risk_sql(now), "at_risk"),
        else_="on_track",
    )
